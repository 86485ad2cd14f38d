"""The `checker` command: a thin layer over the library.

Each command: options -> a frozen config -> one library call -> output. Errors are one line on
stderr (`checker.cli.errors`): exit 2 for bad input or usage (`CheckerInputError`, and the
library's known errors), 3 for an internal error (`main`). Exit codes of `scan`: 0 the scan ran
(and, with `--fail-on`, nobody reached that risk), 1 with `--fail-on LEVEL` some learner is at that
risk or above, 2 bad input or usage, 3 internal error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from checker import __version__, defaults
from checker.cli.options import index_option, index_was_given
from checker.cli.errors import (
    DEBUG_ENV,
    EXIT_INTERNAL,
    CheckerGroup,
    CheckerInputError,
    input_errors,
    one_line,
    os_error_message,
)


@click.group(cls=CheckerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="checker")
def cli() -> None:
    """noshortcut: find copied code and notes in a round of ML training submissions.

    \b
    Example:
      checker scan round/ --base handout/ -o report/
    """


@cli.command()
@click.argument("round_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--example", is_flag=True,
              help="Scan the bundled example round (with its handout) instead of ROUND_DIR.")
@click.option("--base", "base_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Handout/starter code given to every learner: subtracted before matching.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write report.json and pairs.csv to this folder.")
@click.option("--min-similarity", type=click.FloatRange(0, 1),
              default=defaults.MIN_REPORT_SIMILARITY, show_default=True,
              help="Pairs below this similarity are left out of the output.")
@click.option("--frequent-share", type=click.FloatRange(0, 1), default=defaults.FREQUENT_SHARE,
              show_default=True,
              help="Code present in more than this share of learners is ignored as common.")
@click.option("--frequent-max", "frequent_max", type=click.IntRange(1), metavar="N",
              default=defaults.FREQUENT_MAX_LEARNERS, show_default=True,
              help="Code present in more than N learners is ignored as common, whatever the "
                   "round's size.")
@click.option("-k", "--kgram", type=click.IntRange(3, 100), default=defaults.CODE_K,
              show_default=True, help="Tokens per k-gram.")
@click.option("-w", "--window", type=click.IntRange(1, 100), default=defaults.CODE_WINDOW,
              show_default=True, help="Winnowing window.")
@click.option("--jobs", type=click.IntRange(0, 256), default=0, show_default=True,
              help="Worker processes for fingerprinting, alignment and rules (0: one per core).")
@click.option("--top", type=int, default=20, show_default=True, help="Rows in the terminal tables.")
@click.option("--task", "task_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="task.toml: check its [rules] for every learner (and [retrain] with --retrain).")
@click.option("--retrain", is_flag=True,
              help="Re-run every learner's training in the sandbox (needs --task with [retrain]).")
@click.option("--short", "retrain_short", is_flag=True,
              help="With --retrain: the task's quick mode (fewer epochs, a data subset).")
@click.option("--notes/--no-notes", default=True, show_default=True,
              help="Check learners' notes (md, txt, pdf, docx, html, notebook markdown).")
@click.option("--common/--no-common", default=True, show_default=True,
              help="Ignore code everyone writes between learners (the training loop, dataset "
                   "loading, plotting: k-grams found in many public projects, shipped with the "
                   "checker; `checker corpus export-common` rebuilds the list).")
@index_option("Corpus index to match against (code and notes). The default folder is used "
              "only when an index was built there; a folder you name must hold one.")
@click.option("--round-name", "round_name", metavar="NAME", default=None,
              help="Remember this round in the index under NAME (e.g. 2025-task3), replacing a "
                   "round of that name, so that later scans compare with it.")
@click.option("--history/--no-history", default=True, show_default=True,
              help="Compare with the rounds remembered in the index (a learner's own earlier "
                   "work is shown, never counted as copying).")
@click.option("--aliases", "aliases_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of learner,alias rows: ids of one person across rounds (own earlier work).")
@click.option("--lsh", "lsh_url", metavar="URL", default=None,
              help="Match against the corpus's shared LSH tables on Redis "
                   "(redis://HOST[:PORT][/DB][?prefix=NAME], pushed by `checker lsh-sync`) instead "
                   "of building the LSH from the index in memory.")
@click.option("--ray", "ray_address", metavar="ADDRESS", default=None,
              help="Fingerprint on Ray: 'local', 'auto', HOST:PORT or ray://HOST:PORT.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Keep file fingerprints and the review questions' code facts between runs, so "
                   "that a re-scan parses only the files "
                   "that changed, and the files a scan with -o writes: a scan whose files, options, "
                   "index and checker are all unchanged writes them again, and says so (not with "
                   f"--retrain or --round-name) (${defaults.FINGERPRINT_CACHE_ENV} when set, else "
                   "the index folder's cache/, else ~/.cache/noshortcut).")
@click.option("--html/--no-html", default=True, show_default=True,
              help="With -o: also write the HTML report (index.html, learner, pair and question pages).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the review questions in report.json's `text` and the HTML "
                   "sheets (both are stored) [default: the round's notes' language, else en].")
@click.option("--fail-on", type=click.Choice(["never", "medium", "high"]), default="never",
              show_default=True, help="Exit 1 when a learner's risk is at this level or above.")
@click.option("-q", "--quiet", is_flag=True, help="No tables and no progress bar.")
def scan(round_dir: Path | None, example: bool, base_dir: Path | None, out_dir: Path | None,
         min_similarity: float, frequent_share: float, frequent_max: int, kgram: int, window: int,
         jobs: int, top: int, task_path: Path | None, retrain: bool, retrain_short: bool,
         notes: bool, common: bool,
         index: Path, round_name: str | None, history: bool, aliases_path: Path | None,
         lsh_url: str | None, ray_address: str | None, cache: bool, html: bool,
         lang: str | None, fail_on: str, quiet: bool) -> None:
    """Check a round: every learner against every other learner.

    ROUND_DIR holds one folder (or zip) per learner, or a manifest.csv (learner,path).
    Exit codes: 0 done, 1 a learner at the --fail-on risk or above, 2 bad input, 3 internal error.

    \b
    Examples:
      checker scan round/ --base handout/ -o report/
      checker scan --example -o report/
      checker scan round/ --task task.toml --retrain --short -o report/
      checker scan round/ --lang zh -o report/
      checker scan round/ --index fingerprints/ --lsh redis://mentors.lan/0 --ray local -o report/
      checker scan task3/ --index fingerprints/ --round-name 2025-task3 --aliases aliases.csv -o report/
    """
    # light imports only until the stored report of an unchanged scan is known (pipeline.replay)
    from checker.code.params import FingerprintParams
    from checker.pipeline.config import ScanConfig, default_cache_dir

    if example:
        round_dir = round_dir or defaults.EXAMPLE_ROUND
        base_dir = base_dir or defaults.EXAMPLE_HANDOUT
        task_path = task_path or defaults.EXAMPLE_TASK
    if round_dir is None:
        raise CheckerInputError("give ROUND_DIR (one folder or zip per learner), or --example")
    if not round_dir.is_dir():
        raise CheckerInputError(
            f"{round_dir}: not a folder (expected one sub-folder or zip per learner)")
    if out_dir is not None:
        _check_out_dir(out_dir, round_dir, base_dir)
    lsh_engine = _shared_lsh(lsh_url) if lsh_url else defaults.CORPUS_LSH_ENGINE
    if round_name is not None:
        from checker.corpus.rounds import check_round_name

        with input_errors():
            round_name = check_round_name(round_name)
    index_dir = index if index_was_given(click.get_current_context()) else _index_if_built(index)
    if round_name is not None:
        index_dir = index  # remembering a round makes the index folder (the default one, too)
    if aliases_path is not None and index_dir is None:
        raise CheckerInputError(f"--aliases {aliases_path}: joins learner ids across the rounds "
                                f"remembered in an index, and {index} holds none; give --index")
    config = ScanConfig(
        round_dir=round_dir, base_dir=base_dir,
        params=FingerprintParams(k=kgram, window=window),
        frequent_share=frequent_share, frequent_max_learners=frequent_max,
        min_similarity=min_similarity, jobs=jobs,
        min_fragment_tokens=max(defaults.MIN_FRAGMENT_TOKENS, kgram),
        task_path=task_path, retrain=retrain, retrain_short=retrain_short,
        notes=notes, common=common,
        index_dir=index_dir, round_name=round_name, history=history, aliases_path=aliases_path,
        fingerprint_map=_ray_fingerprint_map(ray_address, jobs),
        corpus_lsh_engine=lsh_engine, lang=lang,
        cache_dir=default_cache_dir(index_dir) if cache else None,
        notice=lambda message: click.echo(message, err=True),
    )
    if retrain and not task_path:
        raise CheckerInputError("--retrain needs --task TASK.toml with a [retrain] table")
    store, key = None, ""
    if out_dir is not None:
        from checker.pipeline.replay import ReportStore, scan_key, why_not_reused

        if why_not_reused(config, out_dir) is None:
            store, key = ReportStore(config.cache_dir, config.notice), scan_key(config, html)
            with input_errors("cannot write the report", out_dir):
                reused = store.restore(key, out_dir)
            if reused is not None:
                click.echo(f"{round_dir}: nothing it depends on changed since the scan of "
                           f"{reused.created} (files, options, index, checker); its report is "
                           "written again (--no-cache scans anew)", err=True)
                _finish_scan(reused.written, out_dir, quiet, top, fail_on)
                return
    from checker.pipeline.scan import scan_report as run_scan

    try:
        with input_errors():
            report = _run_with_progress(run_scan, config, quiet)
    except OSError as exc:  # FileNotFoundError from ingest: a listed file or zip is not there
        raise CheckerInputError(os_error_message(exc)) from None
    except ValueError as exc:  # ingest: a manifest or a round it cannot read
        raise CheckerInputError(str(exc)) from None
    written: list[Path] = []
    if out_dir:
        from checker.pipeline.scan import paused_gc
        from checker.report.writers import write_report

        with paused_gc(), input_errors("cannot write the report", out_dir):
            written = write_report(report, out_dir)
            if html:
                from checker.report.html import render_html

                written += render_html(report, out_dir)
        if store is not None:
            _keep_for_reuse(store, key, config, html, out_dir, written)
    _finish_scan(written, report, quiet, top, fail_on)


def _keep_for_reuse(store, key: str, config, html: bool, out_dir: Path, written: list[Path]) -> None:
    """Keep the files just written for the next scan of the same inputs, unless an input changed
    while this scan ran (its report may then hold some of each)."""
    from checker.pipeline.replay import scan_key

    if scan_key(config, html) == key:
        store.keep(key, out_dir, written, html)
    else:
        click.echo(f"{config.round_dir}: an input changed while it was scanned; this report is "
                   "not kept for re-use", err=True)


def _finish_scan(written: list[Path], report, quiet: bool, top: int, fail_on: str) -> None:
    """Name the files written (report.json, pairs.csv, index.html), print the tables and exit by
    `--fail-on`. `report`: the Report, or the output folder holding its report.json (a re-used
    one, read only when the tables or `--fail-on` need it)."""
    from rich.console import Console

    console = Console(stderr=False)
    if not quiet:
        for path in written[:3]:
            console.print(f"wrote {path}", markup=False)
    if quiet and fail_on == "never":
        return
    if isinstance(report, Path):
        from checker.report.writers import load_report

        with input_errors():
            report = load_report(report)
    if not quiet:
        from checker.report.terminal import render_terminal

        render_terminal(report, console, top)
    if fail_on != "never":
        from checker.report.verdicts import RISK_ORDER

        if any(RISK_ORDER[v.risk] >= RISK_ORDER[fail_on] for v in report.verdicts):
            sys.exit(1)


def _check_out_dir(out_dir: Path, round_dir: Path, base_dir: Path | None) -> None:
    """Refuse an output folder that is the round or the handout folder, or inside one: the
    report's learners/ and pairs/ folders would be read as learners (or handout) by the next scan."""
    out = out_dir.resolve()
    for option, folder, as_what in (("ROUND_DIR", round_dir, "learners"),
                                    ("--base", base_dir, "handout code")):
        if folder is None:
            continue
        inside = folder.resolve()
        if out == inside or inside in out.parents:
            where = "is" if out == inside else "is inside"
            raise CheckerInputError(
                f"-o {out_dir}: {where} the {option} folder {folder} (the next scan would read the "
                f"report's folders as {as_what}); write it elsewhere, e.g. "
                f"-o {inside.parent / 'report'}")


def _shared_lsh(url: str):
    """`--lsh URL`: the corpus LSH served by the shared tables on Redis (checker.scale.redis),
    handed to the scan as its LSH factory."""
    from checker.scale.redis import RedisLSHEngine, ScaleConfigError, parse_redis_url

    try:
        return RedisLSHEngine(parse_redis_url(url))
    except ScaleConfigError as exc:
        raise CheckerInputError(str(exc)) from None


def _ray_fingerprint_map(ray_address: str | None, jobs: int):
    """`--ray ADDRESS`: fingerprinting on Ray (checker.scale.ray), handed to the scan; None: this
    machine's process pool."""
    if not ray_address:
        return None
    from checker.scale.ray import RayFingerprintMap

    return RayFingerprintMap(ray_address, jobs)


def _index_if_built(path: Path) -> Path | None:
    """The default index folder when an index was built there; None: learners only."""
    has_code = any(path.glob("*.sqlite")) if path.is_dir() else False
    has_notes = (path / defaults.NOTES_INDEX_SUBDIR / "notes.sqlite").exists()
    has_rounds = (path / defaults.ROUNDS_INDEX_SUBDIR).is_dir()
    return path if has_code or has_notes or has_rounds else None


def _run_with_progress(fn, config, quiet: bool):
    if quiet:
        return fn(config)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return fn(config, progress)


def _register_commands() -> None:
    """Command families live in checker/commands/, one module each."""
    from checker.cli.retrain import retrain_command
    from checker.cli.corpus import corpus as corpus_group
    from checker.cli.notes import notes_command, notes_index_group
    from checker.cli.report import report as report_command
    from checker.cli.rounds import rounds as rounds_group
    from checker.cli.rules import lint_command, rules_command
    from checker.cli.scale import lsh_sync

    for command in (retrain_command, rules_command, lint_command, notes_command,
                    notes_index_group, report_command, corpus_group, rounds_group, lsh_sync):
        cli.add_command(command)


_register_commands()


def main() -> None:
    """The console entry point: runs the command, then leaves without tearing the interpreter
    down. Python's shutdown walks and frees every module and object it loaded (numpy, scipy via
    datasketch, libCST, torch for notes): measured 0.5 s after a scan had finished, also on a
    two-file round. Exit handlers still run and streams are flushed first; files the commands
    write are closed by then (context managers).

    Errors are one line: click and `CheckerInputError` print theirs (exit 2); anything else is a
    bug, printed as one `internal error` line with exit 3 (the traceback with NOSHORTCUT_DEBUG=1).
    """
    try:
        cli()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    except BrokenPipeError:  # `checker rules | head`: the reader left; nothing more to say
        code = 1
    except Exception as exc:  # noqa: BLE001 - the last resort: no traceback for a user
        code = _internal_error(exc)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what sys.exit("message") would do
        code = 1
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code or 0)


def _internal_error(exc: BaseException) -> int:
    """One line on stderr for an unexpected exception (the traceback with $NOSHORTCUT_DEBUG)."""
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(exc)
    else:
        where = ""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        print(f"Error: internal error: {type(exc).__name__}: {one_line(exc)}{where}; run with "
              f"{DEBUG_ENV}=1 for the traceback", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    main()
