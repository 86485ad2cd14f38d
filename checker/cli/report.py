"""`checker report`: re-render the HTML (and CSV) of a report.json without recomputing anything."""

from __future__ import annotations

from pathlib import Path

import click

from checker.cli.errors import CheckerCommand, CheckerInputError, os_error_message


@click.command("report", cls=CheckerCommand)
@click.argument("report_json", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for index.html and the learner, pair and question pages "
                   "[default: the folder holding REPORT_JSON].")
@click.option("--single-file", is_flag=True,
              help="Put every view in one self-contained index.html (to mail or archive).")
@click.option("--anonymise", "--anonymize", "anonymise", is_flag=True,
              help="Show learners as codes (L01, L02, ...) in pages and CSV files. report.json "
                   "and a scan's pairs.csv still name them: render into another folder to share.")
@click.option("--csv", "with_csv", is_flag=True,
              help="Also write pairs.csv, findings.csv and learners.csv to the folder.")
@click.option("--questions", "questions_for", metavar="LEARNER",
              help="Print LEARNER's review questions (id, or its code L01) to the terminal "
                   "instead of writing pages.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the review questions (the printed sheet and the HTML sheets) "
                   "[default: the report's, from the round's notes].")
def report(report_json: Path, out_dir: Path | None, single_file: bool, anonymise: bool,
           with_csv: bool, questions_for: str | None, lang: str | None) -> None:
    """Render the HTML report of REPORT_JSON (a report.json, or the folder holding one).

    The pages work offline from any folder or USB stick: index.html (the round at a glance),
    learners/*.html and pairs/*.html (side-by-side evidence), questions/*.html (each learner's
    review questions, one printed page per learner; questions/all.html holds them all).
    Nothing is recomputed: the questions are stored in English and Chinese.
    Exit codes: 0 done, 2 missing, unreadable or other-version report, or an unknown LEARNER.

    \b
    Examples:
      checker report report/report.json -o report/
      checker report report/ --single-file --anonymise --csv -o meeting/
      checker report report/report.json --questions alice --lang zh
      checker report report/ --anonymise --questions L03
    """
    from checker.report.html import render_csv, render_html
    from checker.report.questions import with_questions
    from checker.report.writers import ReportError, load_report

    try:
        data = with_questions(load_report(report_json), lang)
    except ReportError as exc:
        raise CheckerInputError(str(exc)) from None
    if questions_for is not None:
        _print_questions(data, questions_for, anonymise)
        return
    if out_dir is None:
        out_dir = report_json if report_json.is_dir() else report_json.parent
    try:
        written = []
        if with_csv:
            written += render_csv(data, out_dir, anonymise=anonymise)
        written += render_html(data, out_dir, single_file=single_file, anonymise=anonymise)
    except ReportError as exc:
        raise CheckerInputError(f"{report_json}: {exc}") from None
    except OSError as exc:
        raise CheckerInputError(os_error_message(exc, "cannot write the report", out_dir)) from None
    pages = [p for p in written if p.suffix == ".html"]
    click.echo(f"wrote {out_dir / 'index.html'}"
               + (f" and {len(pages) - 1} learner, pair and question pages" if len(pages) > 1 else "")
               + (f", {len(written) - len(pages)} CSV files" if with_csv else ""))


def _print_questions(data, learner: str, anonymise: bool) -> None:
    """`--questions LEARNER`: the learner's sheet as plain text; LEARNER is an id or its code."""
    from checker.report.html import anonymise_report, learner_codes
    from checker.report.terminal import questions_sheet

    ids = data.learner_ids()
    codes = learner_codes(ids)
    by_code = {code: lid for lid, code in codes.items()}
    lid = learner if learner in codes else by_code.get(learner)
    if lid is None:
        from checker.report.safetext import visible_controls

        known = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
        raise CheckerInputError(visible_controls(
            f"no learner {learner!r} in the report (learners: {known or 'none'})"))
    if anonymise:
        data, lid = anonymise_report(data), codes[lid]
    click.echo(questions_sheet(data, lid), nl=False)
