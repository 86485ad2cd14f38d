"""The terminal view of a report (rich), rendered from the report dict only."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

_RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "none": "green"}


def render_terminal(report: dict, console: Console, top: int = 20) -> None:
    stats = report.get("stats", {})
    console.print(f"[bold]noshortcut[/] {report['tool']['version']}: {stats.get('learners', 0)} "
                  f"learners, {stats.get('files', 0)} code files, "
                  f"{stats.get('candidate_pairs', 0)} candidate pairs, "
                  f"{len(report['pairs'])} reported file pairs, {report.get('elapsed_s', 0)} s")
    if report["learner_pairs"]:
        table = Table(title="Learner pairs (highest similarity first)")
        for col in ("left", "right", "similarity", "left cov", "right cov", "longest lines", "files"):
            table.add_column(col, justify="right" if col not in ("left", "right") else "left")
        for p in report["learner_pairs"][:top]:
            table.add_row(p["left"], p["right"], f"{p['similarity']:.2f}",
                          f"{p['left_coverage']:.2f}", f"{p['right_coverage']:.2f}",
                          str(p["longest_lines"]), str(p["files"]))
        console.print(table)
    if report["pairs"]:
        table = Table(title="File pairs")
        for col in ("left", "right", "similarity", "longest lines"):
            table.add_column(col, justify="right" if col in ("similarity", "longest lines") else "left")
        for p in report["pairs"][:top]:
            table.add_row(f"{p['left']}/{p['left_file']}", f"{p['right']}/{p['right_file']}",
                          f"{p['similarity']:.2f}", str(p["longest_lines"]))
        console.print(table)
    flagged = [v for v in report.get("verdicts", []) if v["risk"] != "none"]
    if flagged:
        table = Table(title="Learners to look at")
        table.add_column("learner")
        table.add_column("risk")
        table.add_column("why")
        for v in flagged[:top]:
            style = _RISK_STYLE.get(v["risk"], "")
            table.add_row(v["learner"], f"[{style}]{v['risk']}[/]", "\n".join(v["reasons"][:4]))
        console.print(table)
    for f in report.get("findings", [])[:top]:
        console.print(f"{f['learner']}/{f['path']}:{f['line']}:{f['col']} {f['code']} {f['message']}")
    if report["warnings"]:
        console.print(f"[dim]{len(report['warnings'])} warning(s) (skipped or degraded files); "
                      f"see report.json[/]")
