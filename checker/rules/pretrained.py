"""Pretrained weights and model zoos (NS201, NS202, NS203).

"No models exported from torchvision, and certainly no pretrained=True": NS202 reports the use of a
ready-made architecture (torchvision.models, timm, torch.hub, Hugging Face...), NS201 the use of
published weights in any of their spellings, NS203 a `torch.load` of a checkpoint the submission
never wrote itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

import libcst as cst

from checker import defaults
from checker.rules.context import Finding, RuleContext
from checker.code.cst_walk import walk
from checker.rules.names import CallFact, CodeFile, literal_value
from checker.task.taskfile import name_matches, path_matches

_WEIGHTS_ENUM = "torchvision.models.*_Weights"
_PUBLISHED = re.compile(defaults.PUBLISHED_WEIGHTS_FILE, re.IGNORECASE)
_URL = re.compile(r"^(https?|ftp)://", re.IGNORECASE)
_CHECKPOINT_SUFFIX = re.compile(r"\.(pt|pth|ckpt|bin|pkl|safetensors|tar)$", re.IGNORECASE)


def _matches_any(names: tuple[str, ...], patterns: tuple[str, ...]) -> str | None:
    for name in names:
        for pattern in patterns:
            if name_matches(name, pattern):
                return name
    return None


def _is_weights_enum(name: str) -> bool:
    return name_matches(name, _WEIGHTS_ENUM)


class _StringsVisitor(cst.CSTVisitor):
    """String literals and f-strings (as globs: `f"m_{e}.pth"` -> `m_*.pth`) inside an expression."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, str):
            self.found.append(value)

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        self.found.append("".join(p.value if isinstance(p, cst.FormattedStringText) else "*" for p in node.parts))
        return False


def _strings(node: cst.CSTNode) -> list[str]:
    visitor = _StringsVisitor()
    walk(node, visitor)
    return visitor.found


def _basename(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).name


def _saved_names(ctx: RuleContext) -> list[str]:
    """File names (or f-string globs) the submission writes with torch.save and friends."""
    out: list[str] = []
    for file in ctx.code:
        for call in file.facts.calls:
            names = ctx.index.resolve(file.path, call.written, call.function)
            if call.method in ("save", "save_pretrained", "save_weights", "save_checkpoint", "save_model") \
                    or _matches_any(names, ("torch.save", "safetensors.torch.save_file")):
                for arg in call.node.args:
                    out.extend(_basename(s) for s in _strings(arg.value) if _CHECKPOINT_SUFFIX.search(s) or "*" in s)
    return out


def _keyword_findings(ctx: RuleContext, file: CodeFile, call: CallFact, names: tuple[str, ...],
                      zoo: str | None) -> Iterator[Finding | None]:
    callee = zoo or (names[0] if names else call.written or "a call")
    for arg in call.node.args:
        if arg.keyword is None or arg.keyword.value not in defaults.PRETRAINED_KEYWORDS:
            continue
        kw = arg.keyword.value
        is_literal, value = literal_value(arg.value)
        text = file.module.code_for_node(arg.value)
        if kw.startswith("pretrained"):
            if is_literal and value:
                yield ctx.finding("NS201", f"{callee}({kw}={text}) loads pretrained weights", file, arg)
            elif not is_literal and zoo:
                yield ctx.finding("NS201", f"{callee}({kw}={text}) may load pretrained weights", file, arg)
        elif zoo and not (is_literal and value is None) and not (is_literal and value is False):
            yield ctx.finding("NS201", f"{callee}({kw}={text}) loads pretrained weights", file, arg)


def _pretrained(ctx: RuleContext) -> Iterator[Finding | None]:
    rule = ctx.rules.forbid_pretrained
    if rule is None:
        return
    zoo_patterns = tuple(defaults.MODEL_ZOO_PATTERNS)
    if ctx.rules.forbid_model_zoo is not None:
        zoo_patterns = ctx.rules.forbid_model_zoo.patterns
    allowed_from_pretrained = tuple(defaults.FROM_PRETRAINED_ALLOWED) + rule.allow
    memo: list[list[str]] = []

    def saved_names() -> list[str]:
        if not memo:
            memo.append(_saved_names(ctx))
        return memo[0]

    for file in ctx.code:
        if not rule.scope.covers_file(file.path):
            continue
        flagged_lines: set[int] = set()
        for found in _pretrained_in_file(ctx, file, zoo_patterns, allowed_from_pretrained, saved_names):
            if found is not None:
                flagged_lines.add(found.line)
            yield found
        for ref in file.facts.refs:
            if not ctx.index.is_import_bound(file.path, ref.written, ref.function):
                continue
            qualified = ctx.index.resolve(file.path, ref.written, ref.function)[0]
            if _is_weights_enum(qualified) and file.position(ref.node)[0] not in flagged_lines:
                yield ctx.finding("NS201", f"uses the pretrained weights enum {qualified}", file, ref.node)


def _pretrained_in_file(ctx: RuleContext, file: CodeFile, zoo_patterns: tuple[str, ...],
                        allowed_from_pretrained: tuple[str, ...],
                        saved_names: Callable[[], list[str]]) -> Iterator[Finding | None]:
    loads_state = any(c.method == "load_state_dict" for c in file.facts.calls)
    for call in file.facts.calls:
        names = ctx.index.resolve(file.path, call.written, call.function) if call.written else ()
        bound = bool(call.written) and ctx.index.is_import_bound(file.path, call.written, call.function)
        zoo = _matches_any(names, zoo_patterns) if (bound or len(names) > 1) else None
        yield from _keyword_findings(ctx, file, call, names, zoo)
        download = _matches_any(names, tuple(defaults.PRETRAINED_DOWNLOAD_CALLS)) if bound else None
        if download:
            yield ctx.finding("NS201", f"{download}(...) downloads published weights", file, call.node)
        if call.method == "from_pretrained":
            receiver = call.written.rpartition(".")[0] if call.written else ""
            owners = ctx.index.resolve(file.path, receiver, call.function) if receiver else ()
            if not _matches_any(owners, allowed_from_pretrained):
                shown = owners[0] if owners else "an object"
                yield ctx.finding("NS201", f"{shown}.from_pretrained(...) loads pretrained weights",
                                  file, call.node)
        if bound and _matches_any(names, ("torch.load",)) and call.node.args:
            first = call.node.args[0].value
            for text in _strings(first):
                if _URL.match(text) or _PUBLISHED.search(text):
                    yield ctx.finding("NS201", f"torch.load({text!r}) loads published weights", file, call.node)
                    break
            else:
                if not loads_state:
                    continue
                candidates = [s for s in _strings(first) if _CHECKPOINT_SUFFIX.search(s)]
                saved = saved_names()
                for text in candidates:
                    name = _basename(text)
                    if not any(path_matches(name, s) for s in saved if s):
                        yield ctx.finding(
                            "NS203",
                            f"torch.load({text!r}) loads a checkpoint this submission never saves: "
                            "check it is the learner's own training run, not downloaded weights",
                            file, call.node)
                        break


def _model_zoo(ctx: RuleContext) -> Iterator[Finding | None]:
    rule = ctx.rules.forbid_model_zoo
    if rule is None:
        return
    for file in ctx.code:
        if not rule.scope.covers_file(file.path):
            continue
        for ref in file.facts.refs:
            names = ctx.index.resolve(file.path, ref.written, ref.function)
            if not ctx.index.is_import_bound(file.path, ref.written, ref.function) and len(names) < 2:
                continue
            hit = _matches_any(names, rule.patterns)
            if hit is None or _matches_any((hit,), rule.allow) or _is_weights_enum(hit):
                continue
            shown = hit if hit == ref.written else f"{hit} (written {ref.written})"
            yield ctx.finding("NS202", f"uses {shown}, a ready-made model from a model zoo", file, ref.node)


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    yield from _pretrained(ctx)
    yield from _model_zoo(ctx)
