"""Fast read-only walks and node positions of a libCST tree, shared by the rules
(`checker.rules.names`) and the review questions (`checker.report.questions`).

libCST's own `visit` rebuilds every node it passes and `MetadataWrapper` walks the tree once more
for positions; on the 1,000-file speed round those two were most of the rules' and the questions'
time. Both helpers here read libCST internals (a node's `_visit_and_replace_children` to learn
its child order, `PositionProvider._gen_impl`/`_computed`, `PositionProvidingCodegenState` and a
statement's `_codegen`): tests/test_rules_core.py checks them against the public API on real
files, and pyproject.toml bounds libcst to the versions that passed.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Mapping
from typing import cast

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

# --- walking a tree ------------------------------------------------------------------------------


class _FieldOrder(cst.CSTVisitor):
    """Records the attributes libCST visits a node's children through, in order, then stops."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.names.append(attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        pass


# attributes that hold only layout (whitespace, comments, brackets, separators): never a node a
# visitor of ours looks at, so not walked
_LAYOUT = (
    "whitespace",
    "lpar",
    "rpar",
    "leading_lines",
    "lines_after_decorators",
    "trailing_whitespace",
    "header",
    "footer",
    "comma",
    "semicolon",
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(node: cst.CSTNode) -> tuple[str, ...]:
    """The attributes holding `node`'s children, in the order libCST's own visit takes them (the
    order the code reads), layout left out; found once per node type."""
    kind = type(node)
    names = _FIELDS.get(kind)
    if names is None:
        order = _FieldOrder()
        node._visit_and_replace_children(order)
        names = _FIELDS[kind] = tuple(n for n in dict.fromkeys(order.names) if not n.startswith(_LAYOUT))
    return names


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a read-only visitor, 7x faster: the same `visit_X` and `leave_X`
    calls on the same nodes in the same order (tests/test_rules_core.py), but libCST's visit
    rebuilds every node it passes (a read-only visitor included) and dispatches every attribute;
    this one only reads. Layout nodes are not visited (`_LAYOUT`)."""
    cls = type(visitor)
    dispatch: dict[type, tuple] = {}

    def visit(node: cst.CSTNode) -> None:
        kind = type(node)
        entry = dispatch.get(kind)
        if entry is None:
            entry = dispatch[kind] = (
                getattr(cls, "visit_" + kind.__name__, None),
                getattr(cls, "leave_" + kind.__name__, None),
                _fields(node),
            )
        enter, leave, fields = entry
        if enter is None or enter(visitor, node) is not False:
            for name in fields:
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    visit(value)
                elif isinstance(value, (tuple, list)):
                    for item in value:
                        if isinstance(item, cst.CSTNode):
                            visit(item)
        if leave is not None:
            leave(visitor, node)

    visit(node)


class NodePositions:
    """Where libCST's `PositionProvider` starts a module's nodes, generated one top-level statement
    at a time, as findings ask for them.

    libCST finds positions by generating the module's code again, all of it; a file with one
    finding in its imports paid for its 3,000 lines of model code. Here only the top-level
    statement holding the node is generated, at line 1, and moved to where it starts: that is
    the first line of the statement in the stdlib `ast` (C, cheap) less the blank and comment
    lines libCST puts before it, and the generated text must read exactly so at that place in the
    file (else, or when `ast` does not read the file, the whole module is generated as before).
    A top-level class or function asked for itself (a model class: NS501/NS503) starts on its
    keyword's line in `ast`, column 0, when that line does begin with the keyword: nothing is
    generated. Equal to `MetadataWrapper(module).resolve(PositionProvider)`'s starts
    (tests/test_rules_core.py)."""

    def __init__(self, module: cst.Module, text: str):
        self.module = module
        self.text = text
        self.ranges: dict[cst.CSTNode, CodeRange] = {}
        self._top: dict[int, int] | None = None  # id(node) -> its top-level statement
        self._firsts: list[int] | None = None  # per top-level statement: its first line in `ast`
        self._keywords: list[int] = []  # per top-level statement: the line `ast` gives it
        self._generated: set[int] = set()
        self._offsets: list[int] | None = None  # where each line of `text` starts
        self._whole = False

    def start(self, node: cst.CSTNode) -> CodePosition | None:
        found = self.ranges.get(node)
        if found is not None or self._whole:
            return found.start if found is not None else None
        if self._top is None:
            lines = _first_lines(self.text, self.module)
            if lines is not None:
                self._firsts, self._keywords = lines
            self._top = {} if lines is None else _top_level_of(self.module)
        at = self._top.get(id(node))
        if at is not None and self.module.body[at] is node and (keyword := self._keyword_line(at)):
            return CodePosition(keyword, 0)
        if at is None or at in self._generated or not self._statement(at):
            self.ranges = dict(node_positions(self.module))
            self._whole = True
        found = self.ranges.get(node)
        return found.start if found is not None else None

    def _keyword_line(self, at: int) -> int:
        """The line of a top-level class's or function's keyword, when `ast` and the text agree
        on it (libCST starts the node there, after its decorators); else 0."""
        statement = self.module.body[at]
        if not isinstance(statement, (cst.ClassDef, cst.FunctionDef)) or self._firsts is None:
            return 0
        line = self._keywords[at]
        if self._offsets is None:
            self._offsets = _line_offsets(self.text)
        if not 0 < line <= len(self._offsets):
            return 0
        keyword = (
            "class" if isinstance(statement, cst.ClassDef) else ("async" if statement.asynchronous else "def")
        )
        here = self.text[self._offsets[line - 1] : self._offsets[line - 1] + len(keyword) + 1]
        return line if here[: len(keyword)] == keyword and not here[len(keyword) :].isidentifier() else 0

    def _statement(self, at: int) -> bool:
        """Positions of top-level statement `at`; False when it cannot be placed for sure."""
        self._generated.add(at)
        statement, module = self.module.body[at], self.module
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline, provider=provider
        )
        statement._codegen(state)
        code = "".join(state.tokens)
        lines = _NEWLINE.split(code)
        before = 0  # libCST's leading lines (blank or comments) before the statement's first token
        while before < len(lines) and (not lines[before].strip() or lines[before].lstrip().startswith("#")):
            before += 1
        assert self._firsts is not None
        start = self._firsts[at] - before
        if self._offsets is None:
            self._offsets = _line_offsets(self.text)
        offsets = self._offsets
        if start < 1 or start > len(offsets):
            return False
        if not self.text.startswith(code, offsets[start - 1]):
            # the last statement of a file without a final line break: libCST generates it and
            # takes the break off the module's code afterwards, the positions stay as they were
            newline = module.default_newline
            last = at == len(module.body) - 1 and not module.has_trailing_newline and not module.footer
            if not (
                last and code.endswith(newline) and self.text[offsets[start - 1] :] == code[: -len(newline)]
            ):
                return False
        shift = start - 1
        computed = cast(Mapping[cst.CSTNode, CodeRange], provider._computed)  # eager, never lazy here
        for node, r in computed.items():
            self.ranges[node] = CodeRange(
                CodePosition(r.start.line + shift, r.start.column),
                CodePosition(r.end.line + shift, r.end.column),
            )
        return True


_NEWLINE = re.compile(r"\r\n?|\n")  # libCST's own line breaks (metadata.position_provider)


def _line_offsets(text: str) -> list[int]:
    return [0, *(m.end() for m in _NEWLINE.finditer(text))]


def _first_lines(text: str, module: cst.Module) -> tuple[list[int], list[int]] | None:
    """The first line of each top-level statement of `module` (a decorator's, if any) and the
    line `ast` gives the statement itself (a `def`'s, not its decorator's), read by the stdlib
    `ast`; None when `ast` does not read `text` as the same statements."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: not ours to report
            body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    firsts, own, at = [], [], 0
    for statement in module.body:
        if at >= len(body):
            return None
        node = body[at]
        firsts.append(min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]))
        own.append(node.lineno)
        # `a = 1; b = 2` is one libCST line of two small statements, two `ast` statements
        at += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return (firsts, own) if at == len(body) else None


def _top_level_of(module: cst.Module) -> dict[int, int]:
    """id(node) -> the index of the top-level statement it is in, for every node but layout."""
    top: dict[int, int] = {}

    def mark(node: cst.CSTNode, at: int) -> None:
        top[id(node)] = at
        for name in _fields(node):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                mark(value, at)
            elif isinstance(value, (tuple, list)):
                for item in value:
                    if isinstance(item, cst.CSTNode):
                        mark(item, at)

    for at, statement in enumerate(module.body):
        mark(statement, at)
    return top


def node_positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """`PositionProvider`'s range of every node of `module`: what
    `MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)` gives
    (tests/test_rules_core.py), at half its cost. The provider generates the module's code again
    and records where each node lands; the wrapper then also walks the whole tree once more for
    the batchable providers, of which there are none here (measured on 150 learners of the
    generated round: 19 s of positions under the profiler before, 7.4 s after)."""
    provider = PositionProvider()
    provider._gen_impl(module)  # the provider's own entry point, as the wrapper calls it
    return cast(Mapping[cst.CSTNode, CodeRange], provider._computed)  # eager ranges, never lazy
