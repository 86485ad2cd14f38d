"""The terminal view of a report (rich), rendered from the typed report only.

Learner ids, file paths and reasons are learner-controlled: they reach the console as `Text`
(never parsed as rich markup or emoji codes: an id `[bold red]x` prints as typed) with their bidi
and C0/C1 controls written as escapes (`\\u202e`, `\\x1b`: they cannot reorder the line or drive
the terminal).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from checker.report.model import Report, as_report
from checker.report.safetext import visible_controls

_RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "none": "green"}


def _text(value, style: str = "", multiline: bool = False) -> Text:
    """Learner-controlled `value` as plain text: no markup, no emoji, controls escaped (tab and
    newline too unless `multiline`)."""
    return Text(visible_controls(str(value), multiline=multiline), style=style)


def render_terminal(report: Report | dict, console: Console, top: int = 20) -> None:
    report = as_report(report)
    stats = report.stats
    version = report.tool.version if report.tool else ""
    console.print(
        f"[bold]noshortcut[/] {version}: {stats.learners if stats else 0} "
        f"learners, {stats.files if stats else 0} code files, "
        f"{stats.candidate_pairs if stats else 0} candidate pairs, "
        f"{len(report.pairs)} reported file pairs, "
        f"{report.elapsed_s if report.elapsed_s is not None else 0} s"
    )
    if report.learner_pairs:
        table = Table(title="Learner pairs (highest similarity first)")
        for col in ("left", "right", "similarity", "left cov", "right cov", "longest lines", "files"):
            table.add_column(col, justify="right" if col not in ("left", "right") else "left")
        for lp in report.learner_pairs[:top]:
            table.add_row(
                _text(lp.left),
                _text(lp.right),
                f"{lp.similarity:.2f}",
                f"{lp.left_coverage:.2f}",
                f"{lp.right_coverage:.2f}",
                str(lp.longest_lines),
                str(lp.files),
            )
        console.print(table)
    if report.pairs:
        table = Table(title="File pairs")
        for col in ("left", "right", "similarity", "longest lines"):
            table.add_column(col, justify="right" if col in ("similarity", "longest lines") else "left")
        for p in report.pairs[:top]:
            table.add_row(
                _text(f"{p.left}/{p.left_file}"),
                _text(f"{p.right}/{p.right_file}"),
                f"{p.similarity:.2f}",
                str(p.longest_lines),
            )
        console.print(table)
    flagged = [v for v in report.verdicts if v.risk != "none"]
    if flagged:
        table = Table(title="Learners to look at")
        table.add_column("learner")
        table.add_column("risk")
        table.add_column("why")
        for v in flagged[:top]:
            style = _RISK_STYLE.get(v.risk, "")
            table.add_row(
                _text(v.learner), _text(v.risk, style), _text("\n".join(v.reasons[:4]), multiline=True)
            )
        console.print(table)
    for f in report.findings[:top]:
        console.print(
            Text.assemble(
                _text(f"{f.learner}/{f.path}"),
                f":{f.line}:{f.col} {f.code} ",
                _text(f.message, multiline=True),
            )
        )
    if report.warnings:
        console.print(
            f"[dim]{len(report.warnings)} warning(s) (skipped or degraded files); see report.json[/]"
        )


def questions_sheet(report: Report | dict, learner: str) -> str:
    """`learner`'s review questions (`Verdict.questions`) as plain text to print: the same sheet
    as the HTML one (`checker.report.html.sheets`), in the report's `lang`. Every line has its
    bidi and control characters written as escapes (a file name or a quoted line cannot drive
    the terminal). `learner` must be one of the report's learners."""
    from checker.report.html.context import LearnerRef
    from checker.report.html.sheets import question_sheets

    report = as_report(report)
    risk = next((v.risk for v in report.verdicts if v.learner == learner), "none")
    [sheet] = question_sheets(
        report, {learner: LearnerRef(learner, "", risk)}, lambda _: "", lambda _: "", [learner]
    )
    out = [sheet.labels["heading"].format(title=sheet.title, learner=learner, risk=sheet.risk), ""]
    if not sheet.items:
        out.append(sheet.empty)
    for item in sheet.items:
        out.append(f"{item.number}. [{item.kind}] {item.text}")
        evidence = " · ".join("".join(piece for _, piece in x) for x in (item.where, item.source) if x)
        if evidence:
            out.append(f"   {sheet.labels['evidence']}{evidence}")
        width = max((len(str(line.number)) for line in item.quote), default=0)
        out += [f"   {str(line.number).rjust(width)} | {line.text}" for line in item.quote]
        out.append(f"   {sheet.labels['notes']}" + "_" * 60)
        out.append("")
    return "\n".join(visible_controls(line) for line in out).rstrip() + "\n"
