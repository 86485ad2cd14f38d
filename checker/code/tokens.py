"""Code units: libCST parse, then a normalised token stream where every token keeps its span.

Normalisation (what makes renamed, reformatted and re-commented copies look the same):
- names the file binds (variables, parameters, functions, classes, attributes it assigns such as
  `self.D`, methods it defines) become `ID`;
- names it imports are replaced by their qualified module path, and a dotted access on them is
  folded into one token: `nn.Conv2d` (after `import torch.nn as nn`), `torch.nn.Conv2d` and
  `Conv2d` (after `from torch.nn import Conv2d`) all become `torch.nn.Conv2d`;
- names the file does not bind are library API and kept (`optimizer.step`, `range`, `len`);
- number literals become `NUM`, strings `STR`; docstrings, comments and layout disappear; a logical
  line end becomes `;` so statement boundaries survive reformatting.

Why not libCST's `PositionProvider` for spans: measured an order of magnitude slower than parsing
(DESIGN.md). libCST validates the code and resolves bindings and imports; spans come from the
stdlib tokenizer, which is exact and cheap on code that libCST accepted.

Code libCST cannot parse (Python 2, syntax errors), or must not (nesting deep enough to crash it:
checker.code.parse_guard), falls back to a regex lexer with heuristic bindings: the file is still
compared, and the fallback is recorded (`parser == "lexical"`).
"""

from __future__ import annotations

import builtins
import gc
import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

import libcst as cst

from checker.code.parse_guard import TooDeepToParse, parse_module

_BUILTINS = frozenset(dir(builtins))
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


@dataclass(frozen=True)
class Unit:
    """A function or class body: tokens [start, end) of the file's stream, lines inclusive."""

    name: str
    start: int
    end: int
    start_line: int
    end_line: int


@dataclass
class TokenStream:
    """The normalised tokens of one file and, per token, its source span (line 1-based, col 0-based)."""

    tokens: list[str]
    start_lines: list[int]
    start_cols: list[int]
    end_lines: list[int]
    end_cols: list[int]
    parser: str  # "libcst" | "lexical"
    reason: str = ""  # why the fallback was used
    units: list[Unit] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)


# --------------------------------------------------------------------------------------------
# libCST: bindings and imports (read-only gather visitor, no metadata: that is the cheap part)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


class GatherStatementBindings:
    """What the module binds, which attributes it defines, and its import aliases.

    Walks statement-level nodes only. A `CSTVisitor` over every node gives the same sets plus
    expression-level binders, but measured 70x slower (4.3 s vs 0.06 s on 100 torch files, more
    than the parse itself); the expression-level binders (comprehension targets, lambda
    parameters, walrus targets) are taken from the tokens instead (`_expression_binders`).
    """

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.defined_attrs: set[str] = set()
        self.imports: dict[str, str] = {}

    def target(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Name):
            self.bound.add(node.value)
        elif isinstance(node, cst.Attribute):
            self.defined_attrs.add(node.attr.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for el in node.elements:
                self.target(el.value)
        elif isinstance(node, cst.StarredElement):
            self.target(node.value)

    def params(self, params: cst.Parameters) -> None:
        for p in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.bound.add(p.name.value)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.bound.add(star.name.value)

    def body(self, stmts, in_class: bool = False) -> None:
        for st in stmts:
            self.stmt(st, in_class)

    def block(self, node, in_class: bool = False) -> None:
        # IndentedBlock.body holds statements; SimpleStatementSuite.body small statements
        self.body(node.body.body, in_class)

    def stmt(self, st, in_class: bool = False) -> None:
        if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in st.body:
                self.small(small)
        elif isinstance(st, cst.BaseSmallStatement):
            self.small(st)
        elif isinstance(st, cst.FunctionDef):
            self.bound.add(st.name.value)
            if in_class:
                self.defined_attrs.add(st.name.value)
            self.params(st.params)
            self.block(st)
        elif isinstance(st, cst.ClassDef):
            self.bound.add(st.name.value)
            self.block(st, in_class=True)
        elif isinstance(st, cst.For):
            self.target(st.target)
            self.block(st)
            if st.orelse:
                self.block(st.orelse)
        elif isinstance(st, cst.With):
            for item in st.items:
                if item.asname:
                    self.target(item.asname.name)
            self.block(st)
        elif isinstance(st, (cst.Try, cst.TryStar)):
            self.block(st)
            for handler in st.handlers:
                if handler.name:
                    self.target(handler.name.name)
                self.block(handler)
            for extra in (st.orelse, st.finalbody):
                if extra:
                    self.block(extra)
        elif isinstance(st, cst.If):
            self.block(st)
            if isinstance(st.orelse, cst.If):
                self.stmt(st.orelse, in_class)
            elif st.orelse:
                self.block(st.orelse)
        elif isinstance(st, cst.While):
            self.block(st)
            if st.orelse:
                self.block(st.orelse)
        elif isinstance(getattr(st, "body", None), (cst.IndentedBlock, cst.SimpleStatementSuite)):
            self.block(st, in_class)  # match cases and anything newer: recurse into the body
        if isinstance(st, cst.Match):
            for case in st.cases:
                self.block(case)

    def small(self, s: cst.BaseSmallStatement) -> None:
        if isinstance(s, cst.Assign):
            for t in s.targets:
                self.target(t.target)
        elif isinstance(s, (cst.AnnAssign, cst.AugAssign)):
            self.target(s.target)
        elif isinstance(s, (cst.Global, cst.Nonlocal)):
            for item in s.names:
                self.bound.add(item.name.value)
        elif isinstance(s, cst.Import):
            for alias in s.names:
                full = _dotted(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.imports[alias.asname.name.value] = full
                else:
                    top = full.split(".")[0]
                    self.imports[top] = top
        elif isinstance(s, cst.ImportFrom):
            module = _dotted(s.module) if s.module is not None else ""
            if isinstance(s.names, cst.ImportStar):
                return
            for alias in s.names:
                name = _dotted(alias.name)
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                if s.relative:
                    self.bound.add(local)  # the learner's own module: a binding, not an API
                else:
                    self.imports[local] = f"{module}.{name}" if module else name


def _expression_binders(raw: list[tokenize.TokenInfo]) -> set[str]:
    """Names bound inside expressions: comprehension targets, lambda parameters, `x :=`."""
    bound: set[str] = set()
    depth = 0
    collecting: list[tuple[str, int]] = []  # ("for"|"lambda", depth at start)
    prev = ""
    for tok in raw:
        s = tok.string
        if tok.type == tokenize.OP:
            if s in "([{":
                depth += 1
            elif s in ")]}":
                depth -= 1
                while collecting and collecting[-1][1] > depth:
                    collecting.pop()
            elif s == ":" and collecting and collecting[-1][0] == "lambda" and collecting[-1][1] == depth:
                collecting.pop()
            elif s == ":=" and prev:
                bound.add(prev)
        elif tok.type == tokenize.NAME:
            if s == "for" and depth > 0:
                collecting.append(("for", depth))
            elif s == "lambda":
                collecting.append(("lambda", depth))
            elif s == "in" and collecting and collecting[-1][0] == "for" and collecting[-1][1] == depth:
                collecting.pop()
            elif collecting and s not in _KEYWORDS:
                bound.add(s)
            prev = s
            continue
        elif tok.type == tokenize.NEWLINE:
            collecting.clear()
            depth = 0
        elif tok.type in (tokenize.NL, tokenize.COMMENT):
            continue  # layout inside brackets: `y` on one line and `:= f()` on the next is `y :=`
        prev = ""
    return bound


# --------------------------------------------------------------------------------------------
# token stream construction shared by both paths


class _StreamBuilder:
    def __init__(self, bound: set[str], defined_attrs: set[str], imports: dict[str, str]):
        self.bound = bound
        self.defined_attrs = defined_attrs
        self.imports = imports
        self.tokens: list[str] = []
        self.sl: list[int] = []
        self.sc: list[int] = []
        self.el: list[int] = []
        self.ec: list[int] = []

    def emit(self, tok: str, start: tuple[int, int], end: tuple[int, int]) -> None:
        self.tokens.append(tok)
        self.sl.append(start[0])
        self.sc.append(start[1])
        self.el.append(end[0])
        self.ec.append(end[1])

    def extend_last(self, text: str, end: tuple[int, int]) -> None:
        self.tokens[-1] += text
        self.el[-1] = end[0]
        self.ec[-1] = end[1]

    def name(
        self,
        value: str,
        start: tuple[int, int],
        end: tuple[int, int],
        after_dot: bool,
        prev_is_import_path: bool,
    ) -> bool:
        """Emit a NAME; returns True when the emitted token is a qualified import path."""
        if value in _KEYWORDS:
            self.emit(value, start, end)
            return False
        if after_dot:
            if prev_is_import_path:
                # fold `torch.nn` + `.Conv2d` into one qualified token
                self.tokens.pop()  # the '.'
                for arr in (self.sl, self.sc, self.el, self.ec):
                    arr.pop()
                self.extend_last("." + value, end)
                return True
            self.emit("ID" if value in self.defined_attrs else value, start, end)
            return False
        if value in self.imports:
            self.emit(self.imports[value], start, end)
            return True
        if value in self.bound:
            self.emit("ID", start, end)
        else:
            self.emit(value, start, end)
        return False

    def stream(self, parser: str, reason: str = "") -> TokenStream:
        return TokenStream(self.tokens, self.sl, self.sc, self.el, self.ec, parser, reason)


_STRING_PREFIX = re.compile(r"""^[rRbBuUfF]{0,2}('{3}|"{3}|'|")""")
_INTERPOLATION = re.compile(r"\{[^{}]*\}")


def string_token(literal: str, long_string_chars: int) -> str:
    """`STR`, or for a long literal `STR:` + its content with whitespace collapsed.

    A long string survives renaming and restructuring unchanged (a prompt, an XML template, a
    message), so its content is evidence; short ones ('relu', "cpu") are everywhere and stay
    abstract. f-string fields are blanked: they hold the (renamable) variable names.
    """
    m = _STRING_PREFIX.match(literal)
    body = literal[m.end() : len(literal) - len(m.group(1))] if m else literal
    body = " ".join(_INTERPOLATION.sub("{}", body).split())
    if len(body) < long_string_chars:
        return "STR"
    return "STR:" + body


def _walk_tokens(
    raw: list[tokenize.TokenInfo], builder: _StreamBuilder, long_string_chars: int = 24
) -> list[tuple[str, int, int]]:
    """Walk raw tokens into the builder; returns def/class markers ("def name", index, depth).

    Import statements are dropped: their order and form carry no evidence, and the imported
    names reappear, qualified, wherever they are used.
    """
    markers: list[tuple[str, int, int]] = []
    depth = 0
    at_stmt_start = True
    in_import = False
    after_dot = False
    prev_import_path = False
    last_raw_type = None
    n = len(raw)
    for idx, tok in enumerate(raw):
        ttype = tok.type
        if ttype not in (tokenize.NL, tokenize.COMMENT):
            prev_raw_type, last_raw_type = last_raw_type, ttype
        if in_import and ttype not in (tokenize.NEWLINE, tokenize.ENDMARKER):
            continue
        if ttype == tokenize.INDENT:
            depth += 1
            continue
        if ttype == tokenize.DEDENT:
            depth -= 1
            markers.append(("", len(builder.tokens), depth))
            continue
        if ttype in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if ttype == tokenize.NEWLINE:
            in_import = False
            if builder.tokens and builder.tokens[-1] != ";":
                builder.emit(";", tok.start, tok.end)
            at_stmt_start = True
            after_dot = prev_import_path = False
            continue
        if ttype == tokenize.STRING:
            if at_stmt_start:
                # a statement made only of strings is a docstring or a bare string: skip it
                j = idx + 1
                while j < n and raw[j].type in (tokenize.STRING, tokenize.NL, tokenize.COMMENT):
                    j += 1
                if j >= n or raw[j].type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                    continue
            if builder.tokens and builder.tokens[-1].startswith("STR") and prev_raw_type == tokenize.STRING:
                builder.extend_last("", tok.end)  # implicit concatenation is one literal
            else:
                builder.emit(string_token(tok.string, long_string_chars), tok.start, tok.end)
            at_stmt_start = after_dot = prev_import_path = False
            continue
        if ttype == tokenize.NUMBER:
            builder.emit("NUM", tok.start, tok.end)
            at_stmt_start = after_dot = prev_import_path = False
            continue
        if ttype == tokenize.NAME:
            if at_stmt_start and tok.string in ("import", "from"):
                in_import = True
                continue
            if tok.string in ("def", "class") and idx + 1 < n and raw[idx + 1].type == tokenize.NAME:
                markers.append((f"{tok.string} {raw[idx + 1].string}", len(builder.tokens), depth))
            prev_import_path = builder.name(tok.string, tok.start, tok.end, after_dot, prev_import_path)
            at_stmt_start = after_dot = False
            continue
        # OP, ERRORTOKEN, FSTRING_* (3.12+) and anything else: keep the text
        string = tok.string
        if ttype == tokenize.ERRORTOKEN and not string.strip():
            continue
        builder.emit(string, tok.start, tok.end)
        was_import_path = prev_import_path
        after_dot = string == "."
        prev_import_path = was_import_path and after_dot
        at_stmt_start = False
    return markers


def _units_from_markers(
    markers: list[tuple[str, int, int]], stream: TokenStream, min_tokens: int
) -> list[Unit]:
    """A def/class at depth d runs until the first DEDENT back to depth d."""
    units: list[Unit] = []
    open_defs: list[tuple[str, int, int]] = []  # (kind, token index, depth)
    total = len(stream.tokens)

    def close(start: int, end: int, name: str) -> None:
        end = min(end, total)
        if end - start >= min_tokens:
            units.append(Unit(name, start, end, stream.start_lines[start], stream.end_lines[end - 1]))

    for kind, index, depth in markers:
        if kind:
            open_defs.append((kind, index, depth))
            continue
        while open_defs and open_defs[-1][2] >= depth:
            k, start, _ = open_defs.pop()
            close(start, index, k)
    while open_defs:
        k, start, _ = open_defs.pop()
        close(start, total, k)
    units.sort(key=lambda u: u.start)
    return units


# --------------------------------------------------------------------------------------------
# lexical fallback: same stream construction, bindings guessed from token positions

_LEX = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>(?:[rRbBuUfF]{0,2})(?:\"\"\"[\s\S]*?(?:\"\"\"|$(?![\s\S]))|'''[\s\S]*?(?:'''|$(?![\s\S]))
                |"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))
  | (?P<number>\d[\w.]*|\.\d[\w]*)
  | (?P<name>[^\W\d]\w*)
  | (?P<newline>\n)
  | (?P<space>[ \t\r\f\\]+)
  | (?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%&|^@=<>!]=|[^\s\w])
    """,
    re.VERBOSE,
)
_LEX_TYPES = {
    "comment": tokenize.COMMENT,
    "string": tokenize.STRING,
    "number": tokenize.NUMBER,
    "name": tokenize.NAME,
    "newline": tokenize.NEWLINE,
    "op": tokenize.OP,
}


def _regex_tokens(text: str) -> list[tokenize.TokenInfo]:
    """A forgiving lexer for text the stdlib tokenizer rejects (unterminated strings, bad dedent)."""
    out: list[tokenize.TokenInfo] = []
    line, line_start, depth = 1, 0, 0
    for m in _LEX.finditer(text):
        kind = m.lastgroup
        value = m.group()
        start = (line, m.start() - line_start)
        nl = value.count("\n")
        end = (line + nl, (len(value) - value.rfind("\n") - 1) if nl else start[1] + len(value))
        if kind == "op" and value in "([{":
            depth += 1
        elif kind == "op" and value in ")]}":
            depth = max(0, depth - 1)
        if kind in _LEX_TYPES and not (kind == "newline" and depth):
            out.append(tokenize.TokenInfo(_LEX_TYPES[kind], value, start, end, ""))
        if nl:
            line += nl
            line_start = m.start() + value.rfind("\n") + 1
    return out


def _guess_bindings(raw: list[tokenize.TokenInfo]) -> tuple[set[str], set[str], dict[str, str]]:
    """Bindings from token positions, for code libCST cannot parse.

    Mirrors GatherStatementBindings as far as tokens allow: def/class names, parameters, assignment,
    for, as, global targets, attributes assigned (`self.X =`), and import aliases.
    """
    toks = [
        t
        for t in raw
        if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    ]
    bound: set[str] = set()
    attrs: set[str] = set()
    imports: dict[str, str] = {}
    n = len(toks)
    stmt_start = 0
    for i, t in enumerate(toks):
        if t.type == tokenize.NEWLINE or i == n - 1:
            stmt = toks[stmt_start : i + 1] if i == n - 1 else toks[stmt_start:i]
            stmt_start = i + 1
            _bind_statement(stmt, bound, attrs, imports)
    return bound - set(imports), attrs, imports


def _bind_statement(
    stmt: list[tokenize.TokenInfo], bound: set[str], attrs: set[str], imports: dict[str, str]
) -> None:
    words = [t.string for t in stmt]
    while words and words[0] in ("@",):  # decorators are statements of their own
        return
    if not words:
        return
    if words[0] == "import":
        for part in " ".join(words[1:]).replace(" . ", ".").split(","):
            bits = part.split()
            if bits:
                full = bits[0].replace(" ", "")
                if len(bits) >= 3 and bits[1] == "as":
                    imports[bits[2]] = full
                else:
                    imports[full.split(".")[0]] = full.split(".")[0]
        return
    if words[0] == "from" and "import" in words:
        k = words.index("import")
        module = "".join(words[1:k])
        names = [w for w in words[k + 1 :] if w not in "(),"]
        j = 0
        while j < len(names):
            name, local = names[j], names[j]
            if j + 2 < len(names) and names[j + 1] == "as":
                local = names[j + 2]
                j += 2
            if module.startswith("."):
                bound.add(local)
            else:
                imports[local] = f"{module}.{name}"
            j += 1
        return
    depth = 0
    for idx, t in enumerate(stmt):
        w = t.string
        prev = stmt[idx - 1].string if idx else ""
        nxt = stmt[idx + 1].string if idx + 1 < len(stmt) else ""
        if w in "([{":
            depth += 1
        elif w in ")]}":
            depth -= 1
        if t.type != tokenize.NAME or w in _KEYWORDS:
            continue
        if prev in ("def", "class", "as", "global", "nonlocal"):
            bound.add(w)
            if prev == "def" and stmt[idx - 1].start[1] > 0:
                attrs.add(w)  # an indented def is (most likely) a method
        elif (
            depth >= 1
            and words[0] in ("def", "async")
            and prev in ("(", ",", "*", "**")
            and nxt in (",", ")", ":", "=")
        ):
            bound.add(w)  # a parameter
        elif prev == "lambda" or (
            prev == "," and "lambda" in words[:idx] and ":" not in words[words.index("lambda") : idx]
        ):
            bound.add(w)
        elif prev == "for" or (
            prev == "," and "for" in words[:idx] and "in" not in words[words.index("for") : idx]
        ):
            bound.add(w)
        elif (
            depth == 0
            and nxt in ("=", ",", ":", "+=", "-=", "*=", "/=", "|=", "&=", "//=", "**=", "%=")
            and any(
                x in ("=", "+=", "-=", "*=", "/=", "|=", "&=", "//=", "**=", "%=") for x in words[idx + 1 :]
            )
        ):
            if prev == ".":
                attrs.add(w)
            elif nxt != ":" or words[0] not in ("if", "while", "elif", "else", "try", "with", "for"):
                bound.add(w)
        elif nxt == ":=":
            bound.add(w)


def _lexical_stream(text: str, reason: str, long_string_chars: int = 24) -> TokenStream:
    try:
        raw = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        raw = _regex_tokens(text)
    bound, attrs, imports = _guess_bindings(raw)
    builder = _StreamBuilder(bound, attrs, imports)
    markers = _walk_tokens(raw, builder, long_string_chars)
    stream = builder.stream("lexical", reason)
    stream.units = _units_from_markers(markers, stream, 40)
    return stream


def lexical_normalise(text: str, reason: str, long_string_chars: int = 24) -> TokenStream:
    """The lexical fallback's stream of `text`, recorded with `reason`; never touches libCST."""
    return _lexical_stream(text, reason, long_string_chars)


# --------------------------------------------------------------------------------------------


def raw_tokens(text: str) -> list[tokenize.TokenInfo]:
    """The stdlib tokenizer's tokens of `text`; raises like `tokenize` on bad input.

    The stdlib tokenizer, not CPython 3.11's private `_tokenize.TokenizerIter`: the C one was
    1.12x faster at normalising (1.20x together with skipping libCST's node re-validation; 600
    torch files, CPU time) but stops silently at some errors, folds CRLF, counts columns in bytes
    and is quadratic on long lines; below the 1.5x that would pay for a private API."""
    return list(tokenize.generate_tokens(io.StringIO(text).readline))


@dataclass
class ParsedText:
    """One file's stdlib tokens and libCST module, parsed once (`parse_text`): its fingerprint
    (`normalise`) and, under `scan --task`, the task's rules (checker.rules.names) read the same
    tree instead of parsing the file twice."""

    raw: list[tokenize.TokenInfo] | None  # None: the tokenizer failed (`token_error`)
    module: cst.Module | None  # None: libCST did not parse it (`failure`)
    token_error: Exception | None = None
    failure: Exception | None = None


def parse_text(text: str) -> ParsedText:
    """Tokenize and parse `text` once; never raises for bad code (the error is kept)."""
    raw: list[tokenize.TokenInfo] | None
    token_error: Exception | None = None
    try:
        raw = raw_tokens(text)  # tokenized once: the parse guard scans these tokens too
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raw, token_error = None, exc
    # libCST builds a large graph of small objects; the cyclic GC, triggered by those allocations,
    # costs 30-45% of the parse and finds nothing (the tree has no cycles): off during the parse.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return ParsedText(raw, parse_module(text, raw), token_error)
    except (cst.ParserSyntaxError, RecursionError, ValueError) as exc:  # TooDeepToParse included
        return ParsedText(raw, None, token_error, exc)
    finally:
        if gc_was_enabled:
            gc.enable()


def normalise(
    text: str, min_unit_tokens: int = 40, long_string_chars: int = 24, parsed: ParsedText | None = None
) -> TokenStream:
    """Normalised token stream of Python source `text`; never raises for bad code. `parsed`:
    `parse_text(text)` when the caller has it already."""
    parsed = parsed if parsed is not None else parse_text(text)
    raw, module, exc = parsed.raw, parsed.module, parsed.failure
    if isinstance(exc, TooDeepToParse):  # libCST would crash the process on it (parse_guard)
        return _lexical_stream(text, f"{exc}; read lexically", long_string_chars)
    if exc is not None or module is None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _lexical_stream(text, f"libCST could not parse it ({first[:160]})", long_string_chars)
    if raw is None:
        return _lexical_stream(text, f"tokenizer failed ({parsed.token_error})", long_string_chars)
    gather = GatherStatementBindings()
    try:
        gather.body(module.body)
    except RecursionError:
        return _lexical_stream(text, "nesting too deep for libCST", long_string_chars)
    bound = (gather.bound | _expression_binders(raw)) - set(gather.imports)
    builder = _StreamBuilder(bound, gather.defined_attrs, gather.imports)
    markers = _walk_tokens(raw, builder, long_string_chars)
    stream = builder.stream("libcst")
    stream.units = _units_from_markers(markers, stream, min_unit_tokens)
    return stream
