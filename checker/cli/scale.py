"""`checker lsh-sync URL`: push the corpus index's signatures into shared LSH tables on Redis.

Thin command: options -> `RedisLocation` -> one library call (`checker.scale.redis.sync_corpus_index`)
-> one line. Mentors then match against the shared tables with `--lsh URL` (docs/scale.md).
"""

from __future__ import annotations

from pathlib import Path

import click

from checker import defaults
from checker.cli.options import index_option
from checker.cli.errors import CheckerCommand, CheckerInputError


@click.command("lsh-sync", cls=CheckerCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url")
@index_option("Corpus index folder whose signatures are pushed.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), show_default=True,
              default=defaults.CORPUS_LSH_THRESHOLD, help="Jaccard threshold of the LSH tables.")
@click.option("--force", is_flag=True, help="Push even when the tables already hold this index state.")
def lsh_sync(url: str, index: Path, threshold: float, force: bool) -> None:
    """Push the corpus index's MinHash signatures into LSH tables on Redis (datasketch's Redis
    storage), so that several mentors share one LSH. URL is redis://HOST[:PORT][/DB][?prefix=NAME].

    The new tables replace the old ones at once; pushing an unchanged index does nothing.

    \b
    Examples:
      checker lsh-sync redis://localhost:6379/0 --index fingerprints/
      checker lsh-sync "redis://cache.lan/1?prefix=west2" --threshold 0.1
    """
    from checker.corpus.index import CorpusIndex
    from checker.corpus.storage import CorpusIndexError
    from checker.scale.redis import (
        ScaleConfigError,
        SharedIndexBusy,
        SyncUnchanged,
        parse_redis_url,
        sync_corpus_index,
    )

    try:
        location = parse_redis_url(url)
    except ScaleConfigError as exc:
        raise CheckerInputError(f"URL {exc}") from None
    try:
        import redis
    except ImportError:
        raise CheckerInputError(
            "the redis client is not installed: pip install 'noshortcut[scale]'") from None
    try:
        with CorpusIndex.open(index) as opened:
            outcome = sync_corpus_index(opened, location, threshold, force=force)
    except CorpusIndexError as exc:
        raise CheckerInputError(str(exc)) from None
    except redis.exceptions.RedisError as exc:
        raise CheckerInputError(f"{location}: {exc}") from None
    except SharedIndexBusy as exc:
        raise CheckerInputError(str(exc)) from None
    if isinstance(outcome, SyncUnchanged):
        click.echo(f"unchanged  {outcome.location}: {outcome.keys:,} keys ({outcome.reason})")
    else:
        click.echo(f"pushed     {outcome.location}: {outcome.keys:,} keys from {index} "
                   f"in {outcome.seconds:.1f} s")
