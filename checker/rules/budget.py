"""Parameter budget (NS501-NS504): "network parameters must not exceed 20M".

Two sources, reported separately: the static estimate of each model class (a lower bound, see
`checker.rules.param_estimate`) and the exact count of each checkpoint found in the learner folder
(`checker.sandbox.checkpoint_count`, which never unpickles a learner object). NS503
gives every figure as information, so a mentor sees 19.8M as well as 25M.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from checker import defaults
from checker.ingest.walk import walk
from checker.model import SourceFile
from checker.rules.context import Finding, RuleContext
from checker.rules.param_estimate import estimate_models
from checker.sandbox.checkpoint_count import CheckpointCount, count_checkpoint


def _m(count: int) -> str:
    return f"{count:,} ({count / 1e6:.2f}M)"


def _checkpoints(root: Path) -> list[Path]:
    """Checkpoint files below `root`, walked like ingest walks it (`checker.ingest.walk`): links
    never followed (a link to a host file is not the learner's checkpoint), tool folders skipped
    (site-packages holds `.pth` path-configuration files, not checkpoints)."""
    files, _ = walk(root, explain=False)
    return [path for path in files if path.name.lower().endswith(tuple(defaults.CHECKPOINT_SUFFIXES))]


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    budget = ctx.rules.max_params
    if budget is None:
        return
    if ctx.enabled("NS501") or ctx.enabled("NS503"):
        for est in estimate_models(ctx.code, ctx.index):
            if est.params == 0 and not est.unsized:
                continue  # a parameter-free helper module (Flatten, a custom activation)
            if est.unsized:
                figure = (f"{est.name}: at least {_m(est.params)} parameters, static estimate from {est.layers} "
                          f"layer(s); {len(est.unsized)} more could not be sized (e.g. {est.unsized[0].label})")
            else:
                figure = f"{est.name}: {_m(est.params)} parameters, static estimate from {est.layers} layer(s)"
            if est.params > budget:
                yield ctx.finding("NS501", f"{figure}: over the budget of {_m(budget)}", est.file, est.node)
            else:
                yield ctx.finding("NS503", figure, est.file, est.node)
    if ctx.root is None or not ctx.root.is_dir():
        return
    for path in _checkpoints(ctx.root):
        rel = path.relative_to(ctx.root).as_posix()
        result = count_checkpoint(path, max_bytes=defaults.MAX_CHECKPOINT_BYTES, label=rel)
        stand_in = SourceFile(owner=ctx.learner, path=rel, text="", kind="other")
        if isinstance(result, CheckpointCount):
            figure = f"checkpoint holds {_m(result.params)} parameters in {result.tensors} tensors ({result.container})"
            if result.params > budget:
                yield ctx.finding("NS502", f"{figure}: over the budget of {_m(budget)}", stand_in)
            else:
                yield ctx.finding("NS503", figure, stand_in)
        else:
            yield ctx.finding("NS504", f"cannot count parameters: {result.reason}", stand_in)
