"""The versioned `report.json` and the files rendered from it without recomputing (pairs.csv).

report.json is the contract between the pipeline and every renderer (terminal, CSV, HTML): the
typed `checker.report.model.Report`, written with `Report.to_dict()` and read back with
`Report.from_dict()`; its fields are documented in docs/report-schema.md and
docs/report-schema.json. Writes are atomic (temp file + os.replace).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from pathlib import Path

import orjson

from checker import __version__, defaults
from checker.report.codec import ReportError
from checker.report.model import (
    FileEntry,
    FilePairEntry,
    LearnerEntry,
    LearnerPairEntry,
    Report,
    ScanSettings,
    Stats,
    ToolInfo,
    WarningEntry,
    as_report,
)
from checker.report.safetext import csv_row
from checker.report.verdicts import report_verdicts

PAIRS_CSV_COLUMNS = [
    "left",
    "right",
    "left_file",
    "right_file",
    "similarity",
    "left_coverage",
    "right_coverage",
    "longest_lines",
    "source",
    "attributed",
    "fragments",
]


__all__ = [
    "PAIRS_CSV_COLUMNS",
    "ReportError",
    "build_report",
    "load_report",
    "pairs_csv",
    "refresh_verdicts",
    "write_report",
]


def build_report(config, result, warnings, started: float) -> Report:
    """The report of a scan's code matching (`config`: a ScanConfig, `result`: its
    CodeMatchResult); the pipeline then fills findings, notes, retrain, corpus and task and
    calls `refresh_verdicts`."""
    pairs = [FilePairEntry.of(p) for p in result.file_pairs if p.similarity >= config.min_similarity]
    learner_pairs = [
        LearnerPairEntry.of(p) for p in result.learner_pairs if p.similarity >= config.min_similarity
    ]
    shown = {(p.left, p.left_file) for p in pairs} | {(p.right, p.right_file) for p in pairs}
    files = [
        FileEntry(
            owner=d.source.owner,
            path=d.source.path,
            kind=d.source.kind,
            encoding=d.source.encoding,
            parser=d.fp.stream.parser,
            tokens=d.fp.n_tokens,
            own_tokens=d.own_tokens,
            lines=d.source.text.count("\n") + 1,
            cell_lines=d.source.cell_lines,
            text=d.source.text if (d.source.owner, d.source.path) in shown else None,
        )
        for d in result.docs
    ]
    tokens_of: dict[str, int] = {}
    for d in result.docs:
        tokens_of[d.source.owner] = tokens_of.get(d.source.owner, 0) + d.fp.n_tokens
    learners = [
        LearnerEntry(
            id=s.learner,
            code_files=[f.path for f in s.code],
            notes_files=s.notes,
            other_files=s.other,
            code_tokens=tokens_of.get(s.learner, 0),
        )
        for s in result.submissions
    ]
    report = Report(
        tool=ToolInfo("noshortcut", __version__),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        elapsed_s=round(time.time() - started, 3),
        config=ScanSettings.from_dict(config.to_dict(), "config"),
        stats=Stats.from_dict(result.stats, "stats"),
        learners=learners,
        files=files,
        pairs=pairs,
        learner_pairs=learner_pairs,
        warnings=[WarningEntry.from_dict(w.to_dict(), "warnings[]") for w in warnings],
    )
    refresh_verdicts(report)
    return report


def refresh_verdicts(report: Report) -> None:
    """(Re)compute verdicts from the report's sections; call after adding a section."""
    report.verdicts = report_verdicts(report)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` (str: UTF-8, newlines as given) to `path` through a temporary file beside it
    and a rename: a reader, or a scan killed midway, sees the old file or the new one, never half
    of one. Readable by others (0644; mkstemp makes 0600): a report is shared."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pairs_csv(report: Report) -> str:
    """pairs.csv; text cells a spreadsheet would run as formulas get a `'` (`csv_row`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PAIRS_CSV_COLUMNS)
    for p in report.pairs:
        frags = ";".join(
            f"{f.left_start_line}-{f.left_end_line}:{f.right_start_line}-{f.right_end_line}"
            for f in p.fragments
        ) or _output_fragments(p)
        writer.writerow(
            csv_row(
                [
                    p.left,
                    p.right,
                    p.left_file,
                    p.right_file,
                    f"{p.similarity:.4f}",
                    f"{p.left_coverage:.4f}",
                    f"{p.right_coverage:.4f}",
                    p.longest_lines,
                    p.source,
                    int(bool(p.attributed)),
                    frags,
                ]
            )
        )
    return buf.getvalue()


def _output_fragments(p: FilePairEntry) -> str:
    """An outputs pair's runs as `c7.3-c7.14:c9.3-c9.14` (cell.line of the output, both sides)."""
    return ";".join(
        f"c{f.left_cell}.{f.left_line}-c{f.left_end_cell}.{f.left_end_line}:"
        f"c{f.right_cell}.{f.right_line}-c{f.right_end_cell}.{f.right_end_line}"
        for f in p.outputs or []
    )


def write_report(report: Report | dict, out_dir: Path) -> list[Path]:
    """report.json and pairs.csv in `out_dir`; returns the paths written. A dict is read
    through `Report.from_dict` first (checked: report.json is always a Report)."""
    report = as_report(report)
    out_dir = Path(out_dir)
    written = []
    path = out_dir / "report.json"
    # compact: a big round's report.json has 100,000+ pairs; indentation would double its size.
    # orjson writes the same JSON (UTF-8, no ASCII escapes, keys in order) 5x faster than the
    # json module: 0.12 s instead of 0.59 s for the 46 MB of a 3,000-file round.
    atomic_write(
        path, orjson.dumps(report.to_dict(), option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    )
    written.append(path)
    path = out_dir / "pairs.csv"
    atomic_write(path, pairs_csv(report))
    written.append(path)
    return written


def load_report(path: Path) -> Report:
    """The report in `path` (a report.json or the folder holding one), read through
    `Report.from_dict`; ReportError names the file and what is wrong with it."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not a readable report ({exc})") from None
    version = report.get("schema_version") if isinstance(report, dict) else None
    if version != defaults.REPORT_SCHEMA_VERSION:
        raise ReportError(
            f"{path}: schema version {version!r}, this checker reads "
            f"{defaults.REPORT_SCHEMA_VERSION}; re-run the scan with this version"
        )
    try:
        return Report.from_dict(report)
    except ReportError as exc:
        raise ReportError(f"{path}: {exc}") from None
