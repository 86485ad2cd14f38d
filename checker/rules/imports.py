"""Forbidden imports, forbidden module use and forbidden calls (NS101, NS102, NS103).

Names are compared as qualified names, so `import torch.nn as nn`, `from torchvision import
models as M`, dynamic imports and re-exports through the learner's own modules all count.
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.rules.context import Finding, RuleContext
from checker.task.taskfile import ForbiddenName, name_matches


def _why(entry: ForbiddenName) -> str:
    return f" ({entry.reason})" if entry.reason else ""


def _forbidden_imports(ctx: RuleContext) -> Iterator[Finding | None]:
    for entry in ctx.rules.forbid_imports:
        for file in ctx.code:
            if not entry.scope.covers_file(file.path):
                continue
            bound_heads: set[str] = set()
            for imp in file.facts.imports:
                followed = ctx.index.follow_reexports(imp.target, file.path)
                if not (name_matches(imp.target, entry.pattern) or name_matches(followed, entry.pattern)):
                    continue
                if imp.alias:
                    bound_heads.add(imp.alias)
                how = "dynamically imports" if imp.dynamic else "imports"
                via = f", which a learner module re-exports from {followed}" if followed != imp.target else ""
                alias = f" as {imp.alias}" if imp.alias and imp.alias != imp.target.split(".")[0] and not imp.dynamic else ""
                yield ctx.finding(
                    "NS101",
                    f"{how} {imp.target}{alias}{via}: the task forbids {entry.pattern}{_why(entry)}",
                    file, imp.node)
            # NS102: use through an allowed parent import (`import torchvision` then `torchvision.models.x`)
            flagged_lines: set[int] = set()
            for ref in file.facts.refs:
                head = ref.written.partition(".")[0]
                if head in bound_heads or "." not in ref.written:
                    continue
                target = ctx.index.binding_target(file.path, ref.written, ref.function)
                if target is None or name_matches(target, entry.pattern):
                    continue
                qualified = ctx.index.resolve(file.path, ref.written, ref.function)[0]
                if name_matches(qualified, entry.pattern):
                    line = file.position(ref.node)[0]
                    if line in flagged_lines:
                        continue  # one finding per line: `tv.models.vgg11(weights=tv.models.VGG11_Weights...)`
                    flagged_lines.add(line)
                    shown = qualified if qualified == ref.written else f"{qualified} (written {ref.written})"
                    yield ctx.finding(
                        "NS102", f"uses {shown}: the task forbids {entry.pattern}{_why(entry)}", file, ref.node)


def _forbidden_calls(ctx: RuleContext) -> Iterator[Finding | None]:
    for entry in ctx.rules.forbid_calls:
        for file in ctx.code:
            if not entry.scope.covers_file(file.path):
                continue
            for call in file.facts.calls:
                for qualified in ctx.index.resolve(file.path, call.written, call.function):
                    if name_matches(qualified, entry.pattern):
                        shown = qualified if qualified == call.written else f"{qualified} (written {call.written})"
                        yield ctx.finding(
                            "NS103", f"calls {shown}: the task forbids {entry.pattern}{_why(entry)}",
                            file, call.node)
                        break


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    yield from _forbidden_imports(ctx)
    yield from _forbidden_calls(ctx)
