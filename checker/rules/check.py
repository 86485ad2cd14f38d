"""Task rules as static checks: run a task file's rules over one learner's files.

`check_submission(task, files, root=...)` parses each code file once with libCST, gathers its
imports, references, calls, loops and definitions (`checker.rules.names`), and hands them to the
rule families, one module each:

| module | codes | task-file keys |
| --- | --- | --- |
| imports | NS101-NS103 | forbid_imports, forbid_calls |
| pretrained | NS201-NS203 | forbid_pretrained, forbid_model_zoo |
| loops | NS301-NS302 | forbid_loops |
| layers | NS401 | require_layers |
| budget | NS501-NS504 | max_params |
| hints | NS601 | require_type_hints |
| files | NS701-NS702 | require_files, forbid_files |
| attribution | NS801-NS802 | require_attribution |

A file libCST cannot parse yields NS000 and is skipped by the other rules; nothing here raises
for a learner's file, and learner code is never imported or executed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from checker.code.tokens import ParsedText
from checker.model import SourceFile
from checker.rules import attribution, budget, hints, imports, layers, loops, pretrained
from checker.rules import files as files_family  # not `files`: check_submission takes `files`
from checker.task.catalogue import RULES, SEVERITIES, RuleDoc
from checker.rules.context import SUBMISSION_PATH, Finding, RuleContext
from checker.rules.names import CodeFile, ParseFailed, SubmissionIndex, analyse_file
from checker.task.taskfile import Task

__all__ = ["Finding", "RuleDoc", "RULES", "SEVERITIES", "check_ingested", "check_submission",
           "RuleContext", "SUBMISSION_PATH"]

# The families in the order their findings were always produced (imports first).
RULE_FAMILIES = (imports, pretrained, loops, layers, budget, hints, files_family, attribution)


def _dedupe(findings: Iterable[Finding | None]) -> list[Finding]:
    """One finding per (code, path, line, message): a call is also a reference, and both may match."""
    seen: set[tuple] = set()
    out: list[Finding] = []
    for f in findings:
        if f is None:
            continue
        key = (f.code, f.path, f.line, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.learner, f.path != SUBMISSION_PATH, f.path, f.line, f.col, f.code))


def check_submission(task: Task, files: Sequence[SourceFile], root: str | Path | None = None,
                     learner: str | None = None,
                     shared: Mapping[str, ParsedText] | None = None) -> list[Finding]:
    """Run every rule of `task` over one learner's files; findings sorted by path and line.

    `files`: the learner's decoded files (kind "code" for .py and notebook code cells, "notes"
    for prose: the rules read no file themselves, see `check_ingested`). `root`: the learner
    folder on disk, for required files and checkpoints (`checker.ingest.walk`, links never
    followed); None when the files come from elsewhere (then file rules see only `files`).
    `shared`: path -> that code file's text parsed already by the caller (its tokens and module).
    """
    root_path = Path(root) if root is not None else None
    if learner is None:
        learner = files[0].owner if files else (root_path.name if root_path else "")
    parsed: list[CodeFile] = []
    findings: list[Finding | None] = []
    # a context without parsed files, only to make NS000 findings with the task's severities
    ctx_probe = RuleContext(task, learner, root_path, [], [], files, SubmissionIndex([]))
    for source in files:
        if source.kind != "code":
            continue
        result = analyse_file(source, (shared or {}).get(source.path))
        if isinstance(result, ParseFailed):
            findings.append(ctx_probe.finding(
                "NS000", f"cannot parse, so no rule could check this file: {result.reason}",
                source, line=result.line, col=result.col))
        else:
            parsed.append(result)
            for cell in result.failed_cells:
                findings.append(ctx_probe.finding(
                    "NS000", f"a code cell cannot be parsed and was left out (prose in a code cell?): {cell.reason}",
                    source, line=cell.line, col=cell.col))
    ctx = RuleContext(task, learner, root_path, parsed, [f for f in files if f.kind == "notes"],
                      files, SubmissionIndex(parsed))
    for family in RULE_FAMILIES:
        try:
            findings.extend(family.check(ctx))
        except Exception as exc:  # noqa: BLE001 - one family's defect must not stop the round
            # a bug of ours, not the learner's: say so, keep the other families' findings
            name = family.__name__.removeprefix("checker.")
            findings.append(ctx_probe.finding(
                "NS000", f"the {name} checks failed on this submission and were skipped "
                f"(internal error {type(exc).__name__}: {str(exc)[:160]}); please report it"))
    return sort_findings(_dedupe(findings))


def check_ingested(task: Task, sub, shared: Mapping[str, ParsedText] | None = None) -> list[Finding]:
    """Run every rule of `task` over one learner as ingest read it (`checker.ingest.round`
    `Submission`): its code files, its notes when a rule reads them (NS802, read once by
    `checker.ingest.notes`) and its folder on disk. `shared`: as `check_submission`'s."""
    from checker.rules.reader import submission_files

    files = submission_files(sub, notes=task.rules.require_attribution is not None)
    return check_submission(task, files, root=sub.root, learner=sub.learner, shared=shared)
