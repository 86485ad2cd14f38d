"""Required and forbidden files (NS701, NS702): a notes folder, training-curve plots, no venv.

Globs match paths relative to the learner folder (see `checker.task.taskfile.path_matches`). With the
learner folder on disk every file counts, images and checkpoints included; without it only the
decoded files handed to `check_submission` can be seen.
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.ingest.walk import walk
from checker.model import SourceFile
from checker.rules.context import Finding, RuleContext
from checker.task.taskfile import path_matches

MAX_LISTED_FILES = 100_000  # a learner folder with more entries is a venv or a dataset dump
_NOT_LISTED = frozenset({".git"})


def submission_paths(ctx: RuleContext) -> list[str]:
    """Every file of the learner, '/'-separated and relative to the learner folder.

    The folder is walked like ingest walks it (`checker.ingest.walk`: links never followed), but
    into tool folders too, `.git` aside: a `venv/` handed in is what `forbid_files` is for."""
    paths = {f.path for f in ctx.files}
    if ctx.root is not None and ctx.root.is_dir():
        files, _ = walk(ctx.root, skip=_NOT_LISTED, explain=False, limit=MAX_LISTED_FILES)
        paths.update(path.relative_to(ctx.root).as_posix() for path in files)
    return sorted(paths)


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    if not ctx.rules.require_files and not ctx.rules.forbid_files:
        return
    paths = submission_paths(ctx)
    for wanted in ctx.rules.require_files:
        if not any(path_matches(p, g) for p in paths for g in wanted.any_of):
            yield ctx.finding("NS701", f"required file missing: {wanted.label()} "
                              f"(no file matches {' or '.join(wanted.any_of)})")
    for banned in ctx.rules.forbid_files:
        hits = [p for p in paths if any(path_matches(p, g) for g in banned.any_of)]
        if hits:
            more = f" and {len(hits) - 1} more" if len(hits) > 1 else ""
            yield ctx.finding("NS702", f"{hits[0]}{more} should not be handed in: {banned.label()}",
                              _pseudo_file(ctx, hits[0]))


def _pseudo_file(ctx: RuleContext, path: str) -> SourceFile:
    """The SourceFile for `path` when it was decoded, else a bare stand-in carrying the path."""
    for f in ctx.files:
        if f.path == path:
            return f
    return SourceFile(owner=ctx.learner, path=path, text="", kind="other")
