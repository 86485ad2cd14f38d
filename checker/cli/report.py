"""`checker report`: re-render the HTML (and CSV) of a report.json without recomputing anything."""

from __future__ import annotations

from pathlib import Path

import click

from checker.cli.errors import CheckerCommand, CheckerInputError, os_error_message


@click.command("report", cls=CheckerCommand)
@click.argument("report_json", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for index.html and the learner and pair pages "
                   "[default: the folder holding REPORT_JSON].")
@click.option("--single-file", is_flag=True,
              help="Put every view in one self-contained index.html (to mail or archive).")
@click.option("--anonymise", "--anonymize", "anonymise", is_flag=True,
              help="Show learners as codes (L01, L02, ...) in pages and CSV files. report.json "
                   "and a scan's pairs.csv still name them: render into another folder to share.")
@click.option("--csv", "with_csv", is_flag=True,
              help="Also write pairs.csv, findings.csv and learners.csv to the folder.")
def report(report_json: Path, out_dir: Path | None, single_file: bool, anonymise: bool,
           with_csv: bool) -> None:
    """Render the HTML report of REPORT_JSON (a report.json, or the folder holding one).

    The pages work offline from any folder or USB stick: index.html (the round at a glance),
    learners/*.html and pairs/*.html (side-by-side evidence). Nothing is recomputed.
    Exit codes: 0 done, 2 missing, unreadable or other-version report.

    \b
    Examples:
      checker report report/report.json -o report/
      checker report report/ --single-file --anonymise --csv -o meeting/
    """
    from checker.report.html import render_csv, render_html
    from checker.report.writers import ReportError, load_report

    try:
        data = load_report(report_json)
    except ReportError as exc:
        raise CheckerInputError(str(exc)) from None
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
               + (f" and {len(pages) - 1} learner and pair pages" if len(pages) > 1 else "")
               + (f", {len(written) - len(pages)} CSV files" if with_csv else ""))
