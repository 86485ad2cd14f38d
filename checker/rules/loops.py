"""Explicit and hidden Python loops where a task asks for vectorised code (NS301, NS302).

"严禁使用任何形式的显式 for 或 while 循环。必须利用 NumPy 的广播机制完成" (task 3, 2025): NS301 reports
`for`/`while` statements, NS302 the loops that hide in comprehensions and in numpy helpers that
call a Python function per element. Both are limited to the files and functions the task names.
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.rules.context import Finding, RuleContext
from checker.task.taskfile import name_matches

# numpy functions that run a Python callable once per element or slice: loops in disguise
HIDDEN_LOOP_CALLS = ("numpy.vectorize", "numpy.frompyfunc", "numpy.apply_along_axis", "numpy.apply_over_axes")


def _where(function: str) -> str:
    return f"in {function}()" if function else "at module level"


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    rule = ctx.rules.forbid_loops
    if rule is None:
        return
    for file in ctx.code:
        if not rule.scope.covers_file(file.path):
            continue
        for loop in file.facts.loops:
            if not rule.scope.covers_function(loop.function):
                continue
            if loop.kind in ("for", "while", "async for"):
                yield ctx.finding("NS301", f"explicit {loop.kind} loop {_where(loop.function)}: "
                                  "the task asks for vectorised code without loops", file, loop.node)
            elif rule.comprehensions:
                yield ctx.finding("NS302", f"{loop.kind} {_where(loop.function)} is a Python-level loop: "
                                  "the task asks for vectorised code", file, loop.node)
        if not rule.comprehensions:
            continue
        for call in file.facts.calls:
            if not rule.scope.covers_function(call.function) or not call.written:
                continue
            if not ctx.index.is_import_bound(file.path, call.written, call.function):
                continue
            qualified = ctx.index.resolve(file.path, call.written, call.function)[0]
            if any(name_matches(qualified, p) for p in HIDDEN_LOOP_CALLS):
                yield ctx.finding("NS302", f"{qualified} {_where(call.function)} calls Python once per "
                                  "element: a loop in disguise", file, call.node)
