"""`checker corpus add | list | remove | build`: the index of public implementations.

Thin commands: options -> sources / manifest -> one library call (`checker.corpus.build`) ->
one line per source. Exit codes: 0 done, 1 a source could not be added or removed (`build`: only
with `--strict`; a source that fails is reported and the others are built), 2 bad input (a spec
that cannot be parsed, a missing manifest, an index that cannot be opened or was built with other
parameters), 3 internal error.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from checker import defaults
from checker.cli.options import index_option
from checker.cli.errors import CheckerGroup, CheckerInputError, CheckFailed, os_error_message


_index_option = index_option("Index folder.")
_jobs_option = click.option("--jobs", type=click.IntRange(0, 256), default=0, show_default=True,
                            help="Worker processes for fingerprinting (0: one per core).")
_ray_option = click.option(
    "--ray", "ray_address", metavar="ADDRESS", default=None,
    help="Fingerprint on Ray: 'local' (a cluster on this machine, --jobs CPUs), 'auto', "
         "HOST:PORT or ray://HOST:PORT. Same index as without (docs/scale.md).")
_no_notes_option = click.option(
    "--no-notes", is_flag=True,
    help="Do not hand the sources' Markdown, text and docstrings to the notes corpus "
         "(INDEX/notes); only code is indexed.")
_quiet_option = click.option("-q", "--quiet", is_flag=True, help="Only errors.")


@click.group("corpus", cls=CheckerGroup, context_settings={"help_option_names": ["-h", "--help"]})
def corpus() -> None:
    """Build and grow the corpus of public implementations that `checker scan` matches against.

    \b
    Examples:
      checker corpus build                          # everything corpus/sources.toml lists
      checker corpus add pypi:d2l==1.0.3 git:https://github.com/karpathy/nanoGPT
      checker corpus list
      checker corpus export-common -o checker/data/common_kgrams.npz
    """


def _progress(quiet: bool):
    """A progress callback on a terminal; None otherwise (logs stay clean)."""
    if quiet or not sys.stderr.isatty():
        return None, None
    from rich.progress import Progress

    bar = Progress(transient=True)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return bar, update


def _echo_outcomes(result, quiet: bool) -> None:
    from checker.corpus.records import SourceAdded, SourceFailed, SourceRemoved, SourceUnchanged

    for o in result.outcomes:
        if isinstance(o, SourceFailed):
            click.echo(f"FAILED     {o.spec}: {o.reason}", err=True)
        elif quiet:
            continue
        elif isinstance(o, SourceAdded):
            click.echo(f"{'replaced' if o.replaced else 'added':<10} {o.spec}  version {o.version or '-'}: "
                       f"{o.code_files} code files ({o.new_contents} fingerprinted, "
                       f"{o.reused_contents} already indexed), {o.tokens:,} tokens, {o.seconds:.1f} s"
                       + (f", {len(o.warnings)} warning(s)" if o.warnings else ""))
        elif isinstance(o, SourceUnchanged):
            click.echo(f"{'unchanged':<10} {o.spec} ({o.reason})")
        elif isinstance(o, SourceRemoved):
            click.echo(f"{'removed':<10} {o.spec} ({o.documents} documents)")
    if not quiet:
        for note in result.notes:
            click.echo(f"note: {note}")


def _open_notes_corpus(directory: Path):
    """The notes sink handed to the corpus builder: the notes corpus (checker.notes.corpus) in
    INDEX/notes, opened (and imported) only when a source's prose is to be handed over."""
    from checker.notes.corpus import NotesCorpus

    return NotesCorpus.open(directory)


def _ray(ray_address: str | None, jobs: int):
    """`--ray ADDRESS`: (the Ray fingerprint map handed to the builder, one cluster kept up around
    the whole build); without it (None, nothing): this machine's process pool."""
    if not ray_address:
        return None, contextlib.nullcontext()
    from checker.scale.ray import RayFingerprintMap

    fingerprint_map = RayFingerprintMap(ray_address, jobs)
    return fingerprint_map, fingerprint_map.cluster()


def _run(fn, index: Path, quiet: bool, **kwargs):
    """One library call, its exceptions turned into messages naming the index and the reason."""
    from checker.corpus.sources import SourceError
    from checker.corpus.storage import CorpusIndexError
    from checker.code.fingerprints import ParamsMismatch

    import inspect

    bar, progress = _progress(quiet)
    if "progress" in inspect.signature(fn).parameters:
        kwargs["progress"] = progress
    try:
        if bar is None:
            return fn(**kwargs)
        with bar:
            return fn(**kwargs)
    except (SourceError, ParamsMismatch, CorpusIndexError) as exc:
        raise CheckerInputError(str(exc)) from None
    except OSError as exc:
        raise CheckerInputError(os_error_message(exc, path=index)) from None


@corpus.command("add")
@click.argument("sources", nargs=-1, required=True)
@_index_option
@click.option("--licence", default="", help="Licence to record (default: the package metadata "
                                            "or the LICENSE file).")
@click.option("--url", default="", help="URL to record (default: the repository or home page).")
@click.option("--alias", "aliases", multiple=True,
              help="Another name learners cite the source by (repeatable); used for attribution.")
@_jobs_option
@_ray_option
@_no_notes_option
@_quiet_option
def add(sources: tuple[str, ...], index: Path, licence: str, url: str, aliases: tuple[str, ...],
        jobs: int, ray_address: str | None, no_notes: bool, quiet: bool) -> None:
    """Add public code to the corpus: PyPI releases, git repositories, folders.

    SOURCE is pypi:NAME[==VERSION] (the wheel, else the sdist), git:URL[@REF] (a shallow clone)
    or dir:PATH. Python files and notebooks are indexed; re-adding unchanged content does nothing.

    \b
    Examples:
      checker corpus add pypi:d2l==1.0.3
      checker corpus add git:https://github.com/karpathy/nanoGPT --alias nanoGPT
      checker corpus add dir:./cs231n-solutions --licence MIT --index fingerprints/
    """
    from checker.corpus.build import add_sources
    from checker.corpus.writer import SourceRequest
    from checker.corpus.sources import SourceError, parse_source

    try:
        requests = [SourceRequest(parse_source(s), licence, url, aliases, "add") for s in sources]
    except SourceError as exc:
        raise CheckerInputError(str(exc)) from None
    fingerprint_map, cluster = _ray(ray_address, jobs)
    with cluster:
        result = _run(add_sources, index, quiet, index_path=index, requests=requests, jobs=jobs,
                      notes=not no_notes, notes_sink=_open_notes_corpus,
                      fingerprint_map=fingerprint_map)
    _echo_outcomes(result, quiet)
    if result.failed:
        raise CheckFailed(
            f"{len(result.failed)} of {len(result.outcomes)} source(s) not added to {index}: "
            + "; ".join(f"{f.spec}: {f.reason}" for f in result.failed))


@corpus.command("remove")
@click.argument("sources", nargs=-1, required=True)
@_index_option
@_no_notes_option
@_quiet_option
def remove(sources: tuple[str, ...], index: Path, no_notes: bool, quiet: bool) -> None:
    """Remove sources (as `checker corpus list` shows them) from the corpus.

    \b
    Example:
      checker corpus remove pypi:timm==1.0.31
    """
    from checker.corpus.build import remove_sources

    result = _run(remove_sources, index, quiet, index_path=index, specs=list(sources),
                  notes=not no_notes, notes_sink=_open_notes_corpus)
    _echo_outcomes(result, quiet)
    if result.failed:
        raise CheckFailed(
            f"not removed from {index}: " + "; ".join(f"{f.spec}: {f.reason}" for f in result.failed))


@corpus.command("list")
@_index_option
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON.")
def list_sources(index: Path, as_json: bool) -> None:
    """List the sources of the corpus with version, size, licence and URL.

    \b
    Examples:
      checker corpus list
      checker corpus list --index /srv/noshortcut/fingerprints --json
    """
    from checker.corpus.index import CorpusIndex
    from checker.corpus.storage import CorpusIndexError

    try:
        with CorpusIndex.open(index) as ix:
            sources = ix.sources()
            stats = ix.stats()
    except CorpusIndexError as exc:
        raise CheckerInputError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"index": str(index), "stats": stats,
                               "sources": [s.to_dict() for s in sources]},
                              ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from checker.report.safetext import visible_controls

    def text(value: str) -> Text:  # names, licences, URLs from package metadata: not markup
        return Text(visible_controls(value))

    table = Table(title=text(f"{index}: {stats['sources']} sources, {stats['documents']:,} files, "
                             f"{stats['tokens']:,} tokens, {stats['bytes_on_disk'] / 1e6:.1f} MB"))
    for col in ("source", "version", "files", "tokens", "licence", "url", "origin"):
        table.add_column(col, justify="right" if col in ("files", "tokens") else "left")
    for s in sources:
        table.add_row(text(s.spec), text(s.version[:12]), str(s.code_files), f"{s.tokens:,}",
                      text(s.licence), text(s.url), text(s.origin))
    Console(width=200).print(table)


@corpus.command("build")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              default=defaults.CORPUS_MANIFEST, show_default=True,
              help="TOML manifest of [[source]] tables (spec, licence, url, aliases).")
@click.option("--rebuild", is_flag=True,
              help="Fingerprint every source again into a new index that replaces the old one "
                   "when complete (after a change of parameters, or to repair).")
@_index_option
@_jobs_option
@_ray_option
@_no_notes_option
@click.option("--strict", is_flag=True, help="Exit 1 when any source fails.")
@_quiet_option
def build(manifest: Path, rebuild: bool, index: Path, jobs: int, ray_address: str | None,
          no_notes: bool, strict: bool, quiet: bool) -> None:
    """Build the corpus from the manifest: add what it lists, drop what it no longer lists.

    Incremental: unchanged sources are skipped, a pinned PyPI release is not downloaded twice.
    A source that cannot be fetched is reported and the others are built. Interrupting a build
    leaves the previous index usable; running it again completes it.

    \b
    Examples:
      checker corpus build
      checker corpus build --manifest corpus/sources.toml --index fingerprints/ --jobs 2
      checker corpus build --rebuild
      checker corpus build --rebuild --ray local --jobs 2
    """
    from checker.corpus.build import build_corpus

    if not manifest.is_file():
        raise CheckerInputError(f"{manifest}: no such manifest (give one with --manifest)")
    fingerprint_map, cluster = _ray(ray_address, jobs)
    with cluster:
        result = _run(build_corpus, index, quiet, index_path=index, manifest=manifest,
                      rebuild=rebuild, jobs=jobs, notes=not no_notes,
                      notes_sink=_open_notes_corpus, fingerprint_map=fingerprint_map)
    _echo_outcomes(result, quiet)
    failed = result.failed
    if not quiet or failed:
        click.echo(f"{len(result.outcomes) - len(failed)} of {len(result.outcomes)} sources ready "
                   f"in {index} ({result.seconds:.1f} s)" + (f"; {len(failed)} failed" if failed else ""),
                   err=bool(failed))
    if strict and failed:
        raise CheckFailed(f"{len(failed)} source(s) of {manifest} failed: "
                                   + ", ".join(f.spec for f in failed))


@corpus.command("export-common")
@_index_option
@click.option("--min-projects", type=click.IntRange(2), default=defaults.COMMON_KGRAMS_MIN_PROJECTS,
              show_default=True,
              help="Distinct projects a k-gram must be found in (versions of a package count once).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              default=defaults.CORPUS_MANIFEST, show_default=True,
              help="The manifest the index was built from (its digest and sources are recorded).")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=defaults.COMMON_KGRAMS_FILE, show_default=True,
              help="The .npz to write (the package's shipped list by default).")
@_quiet_option
def export_common(index: Path, min_projects: int, manifest: Path, out: Path, quiet: bool) -> None:
    """Write the k-grams many public projects share: code every scan ignores between learners.

    The list ships with the package (checker/data/common_kgrams.npz) and is used with or
    without an index; rebuild it after a change of the fingerprint parameters or of the
    normaliser (a scan then warns that the list does not fit). See corpus/README.md, "Code everyone writes".

    \b
    Examples:
      checker corpus build --index /tmp/cc-index --no-notes
      checker corpus export-common --index /tmp/cc-index -o checker/data/common_kgrams.npz
    """
    from checker.corpus.common import export_common_kgrams

    result = _run(export_common_kgrams, index, quiet, index_path=index, out=out,
                  min_projects=min_projects, manifest=manifest if manifest.is_file() else None)
    if not quiet:
        counts = ", ".join(f">= {n}: {c:,}" for n, c in result.counts.items())
        click.echo(f"k-grams by projects ({result.projects} projects): {counts}")
        if result.missing:
            click.echo(f"note: not in the index, not counted: {', '.join(result.missing)}")
        click.echo(f"wrote {result.hashes:,} k-grams of >= {result.min_projects} projects to {out} "
                   f"({result.bytes / 1e6:.2f} MB)")


__all__ = ["corpus"]
