"""Required layers (NS401): "one of the two models must contain an LSTM or GRU".

A requirement is met when any code file refers to a layer whose last name part is one of the
alternatives (`nn.LSTM(...)`, `torch.nn.GRU`, `from keras.layers import LSTM`, a subclass
`class Encoder(nn.GRU)`) or defines a class of that name (a learner who writes an LSTM cell by
hand meets the requirement too). Comments and strings do not count.
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.rules.context import Finding, RuleContext


def _names_used(ctx: RuleContext) -> set[str]:
    used: set[str] = set()
    for file in ctx.code:
        for ref in file.facts.refs:
            used.add(ref.written.rsplit(".", 1)[-1])
            if ctx.index.is_import_bound(file.path, ref.written, ref.function):  # `from torch.nn import LSTM as L`
                used.add(ctx.index.resolve(file.path, ref.written, ref.function)[0].rsplit(".", 1)[-1])
        used.update(cls.name for cls in file.facts.classes)
    return used


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    if not ctx.rules.require_layers:
        return
    used = _names_used(ctx)
    for requirement in ctx.rules.require_layers:
        if any(name in used for name in requirement.any_of):
            continue
        wanted = " or ".join(requirement.any_of)
        why = f" ({requirement.reason})" if requirement.reason else ""
        yield ctx.finding("NS401", f"no {wanted} layer in any of the {len(ctx.code)} parsed code files: "
                          f"the task requires one{why}")
