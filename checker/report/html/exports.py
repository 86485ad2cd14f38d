"""The CSV exports of a report (pairs, findings, learners) and their data: download links.

Every writer goes through `checker.report.safetext.csv_row`: a text cell starting with = + - @ tab
or CR gets a leading `'` so that a spreadsheet shows it instead of running it.
"""

from __future__ import annotations

import csv
import io
import urllib.parse

from checker.report.html.context import DownloadLink
from checker.report.model import Report, as_report
from checker.report.safetext import csv_row
from checker.report.writers import pairs_csv

FINDINGS_CSV_COLUMNS = ["learner", "path", "line", "col", "cell", "code", "severity", "title", "message"]
LEARNERS_CSV_COLUMNS = [
    "learner",
    "risk",
    "score",
    "code_files",
    "notes_files",
    "rule_errors",
    "notes_own_words_share",
    "retrain_status",
    "reasons",
]


def findings_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FINDINGS_CSV_COLUMNS)
    for f in report.findings:
        writer.writerow(csv_row(getattr(f, c) for c in FINDINGS_CSV_COLUMNS))
    return buf.getvalue()


def learners_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(LEARNERS_CSV_COLUMNS)
    learners = {lr.id: lr for lr in report.learners}
    notes = {entry.learner: entry for entry in report.notes.learners} if report.notes else {}
    errors: dict[str, int] = {}
    for f in report.findings:
        if f.severity == "error":
            errors[f.learner] = errors.get(f.learner, 0) + 1
    for v in report.verdicts:
        lid = v.learner
        lr = learners.get(lid)
        nl = notes.get(lid)
        rt = report.retrain.get(lid)
        writer.writerow(
            csv_row(
                [
                    lid,
                    v.risk,
                    v.score,
                    len(lr.code_files) if lr else 0,
                    len(lr.notes_files) if lr else 0,
                    errors.get(lid, 0),
                    nl.own_share if nl else "",
                    rt.status if rt else "",
                    " | ".join(v.reasons),
                ]
            )
        )
    return buf.getvalue()


def csv_exports(report: Report | dict) -> dict[str, str]:
    """File name -> CSV text: pairs (the scan's pairs.csv columns), findings, learners. Every
    writer goes through `checker.report.safetext.csv_row`: a text cell starting with = + - @ tab or CR
    gets a leading `'` so that a spreadsheet shows it instead of running it."""
    report = as_report(report)
    return {
        "pairs.csv": pairs_csv(report),
        "findings.csv": findings_csv(report),
        "learners.csv": learners_csv(report),
    }


def downloads(report: Report, max_bytes: int) -> list[DownloadLink]:
    """The CSV exports as data: links, so even a lone index.html offers them."""
    out = []
    for name, text in csv_exports(report).items():
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            out.append(
                DownloadLink(
                    name, "", f"{size:,} bytes: too large to embed; run `checker report REPORT_JSON --csv`"
                )
            )
        else:
            out.append(
                DownloadLink(
                    name,
                    "data:text/csv;charset=utf-8," + urllib.parse.quote(text),
                    f"{text.count(chr(10)) - 1} rows",
                )
            )
    return out
