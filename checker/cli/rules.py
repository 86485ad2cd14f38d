"""`checker rules` (the rule catalogue) and `checker lint` (one learner folder against a task file)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from checker import defaults
from checker.cli.errors import CheckerCommand, CheckerInputError, os_error_message
from checker.report.safetext import visible_controls


@click.command("rules", cls=CheckerCommand)
@click.argument("codes", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for tools.")
def rules_command(codes: tuple[str, ...], fmt: str) -> None:
    """List the rule codes a task file can switch on, with their documentation.

    With CODES, show only those rules, with an example each.

    \b
    Examples:
      checker rules
      checker rules NS201 NS301
      checker rules --format json > rules.json
    """
    from checker.task.catalogue import RULES

    unknown = [c for c in codes if c.upper() not in RULES]
    if unknown:
        raise CheckerInputError(f"unknown rule code(s): {', '.join(unknown)}; known: {', '.join(RULES)}")
    selected = [RULES[c.upper()] for c in codes] if codes else list(RULES.values())
    if fmt == "json":
        click.echo(json.dumps([d.to_dict() for d in selected], ensure_ascii=False, indent=2))
        return
    for doc in selected:
        key = f"  [rules].{doc.key}" if doc.key else "  (always on)"
        click.echo(f"{doc.code}  {doc.severity:<7}  {doc.title}{key}")
        if codes:
            click.echo(click.wrap_text(doc.doc, initial_indent="    ", subsequent_indent="    "))
            click.echo("    Example:")
            for line in doc.example.splitlines():
                click.echo(f"      {line}")
            click.echo()


@click.command("lint", cls=CheckerCommand)
@click.argument("submission_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--task", "task_path", required=True, type=click.Path(path_type=Path),
              help="The task file (task.toml) whose [rules] to check.")
@click.option("--sarif", "sarif_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the findings as SARIF 2.1.0 to this file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one `path:line:col CODE message` line per finding; json: a findings document.")
@click.option("--learner", default=None, help="Learner id to record (default: the folder name).")
def lint_command(submission_dir: Path, task_path: Path, sarif_path: Path | None, fmt: str,
                 learner: str | None) -> None:
    """Check one learner folder against a task file's rules, like a linter.

    Exits 1 when any finding has error severity, 0 otherwise, 2 when the task file is unusable.

    \b
    Examples:
      checker lint work3/learner-23 --task examples/tasks/2025-task3-numpy.toml
      checker lint my_submission/ --task task.toml --sarif findings.sarif --format json
    """
    from checker.ingest.round import load_folder
    from checker.rules.check import check_ingested
    from checker.rules.sarif import to_sarif
    from checker.task.taskfile import TaskFileError, load_task

    try:
        task = load_task(task_path)
    except TaskFileError as exc:
        raise CheckerInputError(str(exc)) from None
    # the folder is read as `checker scan` reads a learner's (checker.ingest), notes included
    sub = load_folder(submission_dir, learner or submission_dir.resolve().name)
    findings = check_ingested(task, sub)
    warnings = sub.warnings + [w for doc in sub.notes_documents or () for w in doc.warnings]
    code_files = len(sub.code)
    if sarif_path is not None:
        try:
            sarif_path.write_text(json.dumps(to_sarif(findings, task.name), ensure_ascii=False, indent=2),
                                  encoding="utf-8")
        except OSError as exc:
            raise CheckerInputError(os_error_message(exc, "cannot write SARIF", sarif_path)) from None
    if fmt == "json":
        click.echo(json.dumps({
            "schema_version": defaults.REPORT_SCHEMA_VERSION,
            "task": task.name,
            "task_file": str(task_path),
            "submission": str(submission_dir),
            "findings": [f.to_dict() for f in findings],
            "warnings": [w.to_dict() for w in warnings],
        }, ensure_ascii=False, indent=2))
    else:
        for w in warnings:
            if w.kind != "decoded":  # a file read in another encoding is read, not skipped
                click.echo(visible_controls(f"{w.path}: skipped: {w.reason}"), err=True)
        for f in findings:  # learner-controlled paths and text: controls shown as escapes
            cell = f"  [cell {f.cell}]" if f.cell else ""
            click.echo(visible_controls(f"{f}{cell}", multiline=True))
        counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
        click.echo(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info "
                   f"in {code_files} code file(s) [task {task.name}]", err=True)
    if any(f.severity == "error" for f in findings):
        raise SystemExit(1)
