"""Type hints required (NS601): "exercises use type hints" (使用 Type Hint 类型注释).

Every parameter except `self`/`cls` needs an annotation, and the return value too (except for
`__init__`, and not at all with `returns = false`). `*args`/`**kwargs` are not required. A file
where no function has any hint gets one finding, and so does a file with three or more functions
lacking hints (listing them): forty identical lines would bury the other findings.
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.rules.context import Finding, RuleContext
from checker.rules.names import FunctionFact

# From this many functions lacking hints in one file, one finding lists them all: a mentor reads
# one line per file instead of a screenful.
AGGREGATE_FROM = 3


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    rule = ctx.rules.require_type_hints
    if rule is None:
        return
    for file in ctx.code:
        if not rule.scope.covers_file(file.path):
            continue
        functions = [f for f in file.facts.functions if rule.scope.covers_function(f.qualname)]
        lacking = [f for f in functions if f.missing_params or (rule.returns and f.missing_return)]
        if not lacking:
            continue
        if len(functions) >= 2 and not any(f.annotated for f in functions):
            first = functions[0]
            yield ctx.finding("NS601", f"none of the {len(functions)} functions in this file has type hints "
                              f"(first: {first.qualname})", file, first.node)
            continue
        described = [_missing(f, rule.returns) for f in lacking]
        if len(lacking) >= AGGREGATE_FROM:
            listed = [f"{f.qualname} ({text})" for f, text in zip(lacking, described)]
            shown = "; ".join(listed[:6]) + ("; …" if len(listed) > 6 else "")
            yield ctx.finding("NS601", f"{len(lacking)} of {len(functions)} functions lack type hints: {shown}",
                              file, lacking[0].node)
            continue
        for f, text in zip(lacking, described):
            yield ctx.finding("NS601", f"{f.qualname}() lacks type hints for: {text}", file, f.node)


def _missing(f: FunctionFact, returns: bool) -> str:
    missing = list(f.missing_params)
    if returns and f.missing_return:
        missing.append("return")
    return ", ".join(missing)
