"""Parameter counts: a static estimate from layer constructors (`estimate_models`).

Static estimate. A small abstract interpreter (`checker.rules.param_interpreter`) walks each
`nn.Module` subclass's `__init__` (and the learner helpers and classes it calls), tracking
numbers, tuples and lists, and sizes every torch.nn layer whose shape arguments it can compute
(`checker.rules.param_layers`): literals, module constants, parameter defaults, arguments of a
literal instantiation (`Net(num_classes=10)`), `self.x` attributes, `for i in range(4)` loops
and comprehensions. Only modules assigned to `self` (or added with `add_module` /
`register_parameter`, or nested in a registered container) count, as in PyTorch. A layer it
cannot size is listed in `unsized` and left out, so `params` is a lower bound. Learner code is
only read, never run.

The exact count of a checkpoint file is `checker.sandbox.checkpoint_count` (the one counter,
shared with the retrain stage's sandbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from checker import defaults
from checker.rules.names import CodeFile, SubmissionIndex, dotted_name
from checker.rules.param_interpreter import Estimator, Frame
from checker.rules.param_values import LearnerDef, Mod, Unknown, UnsizedLayer


@dataclass(frozen=True)
class ModelEstimate:
    """One model's static parameter count. `params` is a lower bound when `unsized` is not empty."""

    name: str
    path: str
    params: int
    layers: int
    unsized: tuple[UnsizedLayer, ...]
    file: CodeFile = field(repr=False, compare=False)
    node: cst.CSTNode = field(repr=False, compare=False)

    @property
    def complete(self) -> bool:
        return not self.unsized


def estimate_models(files: Sequence[CodeFile], index: SubmissionIndex,
                    max_depth: int = defaults.PARAM_ESTIMATE_MAX_DEPTH) -> list[ModelEstimate]:
    """Static parameter estimate of every top-level model in a learner's code.

    A model is an `nn.Module` subclass that no other learner module class uses (nested blocks are
    counted inside their parents), or a module-level `net = nn.Sequential(...)`. When the
    submission instantiates a model with computable arguments, the largest such instantiation
    is reported; otherwise the constructor's defaults are used.
    """
    est = Estimator(files, index, max_depth)
    module_classes: list[LearnerDef] = []
    for f in files:
        for stmt in f.module.body:
            if isinstance(stmt, cst.ClassDef) and est.defs.is_module_class(f, stmt):
                module_classes.append(LearnerDef(f, stmt))
    class_names = {d.node.name.value for d in module_classes}
    nested: set[str] = set()
    for f in files:
        for ref in f.facts.refs:
            owner = ref.function.split(".")[0] if ref.function else ""
            name = ref.written.rsplit(".", 1)[-1]
            if owner in class_names and name in class_names and name != owner:
                nested.add(name)
    out: list[ModelEstimate] = []
    for d in module_classes:
        if d.node.name.value in nested:
            continue
        out.append(_best_instantiation(est, d, files))
    for f in files:
        out.extend(_module_level_models(est, f))
    return out


def _best_instantiation(est: Estimator, d: LearnerDef, files: Sequence[CodeFile]) -> ModelEstimate:
    name = d.node.name.value
    candidates: list[Mod] = []
    for f in files:
        for call in f.facts.calls:
            if not call.written or call.written.rsplit(".", 1)[-1] != name:
                continue
            found = est.defs.find_def(f, call.written)
            if found is None or found.node is not d.node:
                continue
            frame = Frame(f, dict(est.module_env(f)))
            est.steps = 0
            args, kwargs = est.call_args(call.node, frame)
            if any(isinstance(v, Unknown) for v in [*args, *kwargs.values()]):
                continue
            value = est.estimate_class(d, args, kwargs)
            if isinstance(value, Mod):
                candidates.append(value)
    if not candidates:
        est.steps = 0
        value = est.estimate_class(d, [], {})
        candidates.append(value if isinstance(value, Mod) else Mod())
    best = max(candidates, key=lambda m: (not m.unsized, m.params))
    return ModelEstimate(name, d.file.path, best.params, best.layers, tuple(best.unsized), d.file, d.node)


def _module_level_models(est: Estimator, f: CodeFile) -> list[ModelEstimate]:
    """`net = nn.Sequential(...)` at module level (common in notebooks)."""
    out: list[ModelEstimate] = []
    for stmt in f.module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not (isinstance(small, cst.Assign) and isinstance(small.value, cst.Call)):
                continue
            written = dotted_name(small.value.func) or ""
            if not written or not est.index.is_import_bound(f.path, written):
                continue
            qualified = est.index.resolve(f.path, written)[0]
            if not qualified.startswith("torch.nn.") or qualified.startswith("torch.nn.functional"):
                continue
            est.steps = 0
            value = est.eval(small.value, Frame(f, dict(est.module_env(f))))
            if isinstance(value, Mod) and (value.params or value.unsized):
                target = f.module.code_for_node(small.targets[0].target)
                out.append(ModelEstimate(target, f.path, value.params, value.layers, tuple(value.unsized), f, small))
    return out
