"""Refuse, before libCST sees it, code nested deeply enough to crash libCST's parser.

libCST's native (Rust) parser recurses on the C stack once per level of nesting and has no depth
check of its own: past a thousand levels the stack overflows and the whole process dies with
SIGSEGV (exit 139, or a BrokenProcessPool in the parent of a worker). Python's RecursionError
never fires, so no `except` can catch it; the only protection is not to hand such code to libCST.
`parse_module` here is the one way the checker calls libCST's parser.

Measured with libCST 1.9.0 on CPython 3.11, one subprocess per probe: the smallest size that
crashed, with the default 8 MiB stack (the main thread's, where all parsing runs) and 1 MiB:

| shape (one statement)                                     | 8 MiB       | 1 MiB   |
| --------------------------------------------------------- | ----------- | ------- |
| nested brackets `((((1))))`, `[[[]]]`                     | 1,312 1,250 | 153     |
| nested dicts, calls `f(f(1))`, genexps, f-strings          |             | 142-172 |
| `1+1+1...`, `a and a and ...`                             | 7,156       | 856     |
| `a.b.c.d...`                                              | 6,062       |         |
| `- - - 1`, `elif` clauses of one `if`                     | 8,250 8,468 |         |

A bracket level costs ~6.5 KiB of stack, a link of a chain ~1.3 KiB. Indentation is bounded by
libCST itself (100 levels is a ParserSyntaxError, not a crash). Parse time grows faster than
linearly too: 100 nested generator expressions take 0.2 s, 1,000 take 19 s.

The limits, far below those numbers and far above real code:
- `MAX_NESTING = 100` open brackets (f-string fields included) plus indentation levels: at most
  ~0.7 MiB of stack, a tenth of the default, and under 0.2 s. CPython itself refuses 200 nested
  brackets.
- `MAX_CHAIN = 1000` levels of one expression (operators, keywords like `not`/`if`/`lambda`,
  dots, calls, subscripts) plus indentation and `elif`s: with the brackets at most ~2 MiB, a
  quarter of the default stack, and under 1.3 s (checked at the limit for every shape above and
  for mixes of them). First counted as all the operators since the last comma of every open
  bracket, an upper bound; only a file where that count passes the limit is measured exactly,
  as the depth of CPython's syntax tree (`a*b + c*d` is 2 deep, not 3).
On 24,844 files (this machine's Python 3.11 library and site-packages: torch, sympy, numpy...)
no file is refused: the deepest nesting is 32 (docutils), the deepest expression 568 (a sympy
table of generated polynomials, whose operator count is 4,570).

The scan is one pass over the `tokenize` module's tokens (comments and strings are single tokens,
so brackets inside them do not count), the same tokens the normaliser uses, so a file is
tokenized once. Where the tokenizer gives up before the end, a long expression met before is
refused (CPython's parser cannot measure it), else a string- and comment-aware regex counts the
brackets.
"""

from __future__ import annotations

import ast
import io
import re
import token
import tokenize
import warnings

import libcst as cst

MAX_NESTING = 100
MAX_CHAIN = 1000


class TooDeepToParse(ValueError):
    """Code libCST must not parse (`parse_module`); the message says why."""


def parse_module(text: str, tokens: list[tokenize.TokenInfo] | None = None):
    """`libcst.parse_module(text)`, or TooDeepToParse for code nested deep enough to crash it.

    Every libCST parse of learner or corpus code goes through here. TooDeepToParse is a
    ValueError, which the callers already catch for code libCST rejects (NUL bytes). `tokens`:
    `text`'s tokens when the caller has them already (the normaliser does), so the guard does
    not tokenize a second time."""
    reason = nesting_too_deep(text, tokens)
    if reason:
        raise TooDeepToParse(reason)
    return cst.parse_module(text)


# what a token does to the counts, by exact token type: any operator not named here adds one
# node to the chain; names, numbers, comments and line breaks inside brackets do nothing
_OPEN, _CLOSE, _COMMA, _END, _OP, _INDENT, _DEDENT, _NAME, _STRING, _QUIET = range(10)
_ACTIONS = [_OP] * 256
for _types, _action in (
    ((token.LPAR, token.LSQB, token.LBRACE), _OPEN),
    ((token.RPAR, token.RSQB, token.RBRACE), _CLOSE),
    ((token.COMMA,), _COMMA),
    ((token.SEMI, token.NEWLINE), _END),
    ((token.INDENT,), _INDENT),
    ((token.DEDENT,), _DEDENT),
    ((token.NAME,), _NAME),
    ((token.STRING,), _STRING),
    (
        (
            token.NUMBER,
            token.NL,
            token.COMMENT,
            token.ENDMARKER,
            token.ENCODING,
            token.ERRORTOKEN,
            *(
                getattr(token, t)
                for t in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                if hasattr(token, t)
            ),
        ),
        _QUIET,
    ),
):
    for _t in _types:
        _ACTIONS[_t] = _action
# keywords that nest an expression (`not not x`, `a if b else c if ...`, `lambda: lambda: ...`,
# comprehension `for`s, which libCST nests one inside the other)
_CHAIN_KEYWORDS = frozenset(
    ("and", "or", "not", "in", "is", "if", "else", "lambda", "await", "for", "async", "yield")
)


class _TooDeep(Exception):
    pass


class _Unreadable(Exception):
    """The tokenizer gave up; `long_chain`: an expression may pass MAX_CHAIN before that."""

    def __init__(self, long_chain: bool):
        super().__init__()
        self.long_chain = long_chain


_CHAIN_REASON = f"an expression nested more than {MAX_CHAIN} levels deep"


def nesting_too_deep(text: str, tokens: list[tokenize.TokenInfo] | None = None) -> str | None:
    """Why `text` must not be handed to libCST (e.g. "nesting deeper than 100 levels"), or None.

    One pass over `text`'s tokens (`tokens` when the caller has them, else the `tokenize`
    module's); text the tokenizer gives up on is scanned for brackets only."""
    if tokens is not None:
        stream = ((t.string, t.exact_type) for t in tokens)
    else:
        stream = _module_tokens(text[1:] if text.startswith("\ufeff") else text)
    try:
        long_chain, _ = _scan_tokens(stream)
    except _TooDeep as deep:
        return str(deep)
    except _Unreadable as unreadable:
        if unreadable.long_chain:  # and CPython's parser would refuse it: no exact depth
            return _CHAIN_REASON
        # the tokenizer gives up on it: brackets only, strings and comments skipped by a regex
        return _bracket_scan(text)
    if long_chain and _tree_depth(text) > MAX_CHAIN:
        return _CHAIN_REASON
    return None


def _tree_depth(text: str) -> int:
    """Depth of CPython's syntax tree of `text` (libCST's nesting: `a and b and c` counts 2),
    or a number over MAX_CHAIN when CPython refuses it. For the rare statement whose operator
    count passes MAX_CHAIN (a generated polynomial with thousands of terms): most of those
    operators are siblings (`a*b + c*d` is 2 deep, not 3), which the count cannot tell.
    CPython's parser is safe on any input (it raises on 200 nested brackets and on chains of a
    few thousand operators, measured up to 300,000)."""
    try:
        with warnings.catch_warnings():  # invalid escapes and the like: not ours to report
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return MAX_CHAIN + 1
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, ast.BoolOp):  # one flat node here, a chain of them in libCST
            depth += len(node.values) - 1
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _module_tokens(text: str):
    """(string, exact type) of each token, from the `tokenize` module, which on Python 3.11
    reads what CPython's own parser refuses: 200 nested brackets, 100 indentation levels,
    f-strings of 3.12 (which libCST reads). It still raises
    on an unterminated triple-quoted string or bracket at the end, or a bad dedent, but only
    there: the tokens before are scanned."""
    return ((t.string, t.exact_type) for t in tokenize.generate_tokens(io.StringIO(text).readline))


def _scan_tokens(tokens) -> tuple[bool, object]:
    """Raises _TooDeep past MAX_NESTING. Whether some expression may pass MAX_CHAIN, and the
    last token but dedents."""
    tok = statement_end = None
    depth = 0  # open brackets
    frames = [0]  # per open bracket (and the statement): chain nodes since the last comma
    chain = 0  # sum(frames)
    indent = 0
    elif_runs = [0]  # per indentation level: `elif`s of the current `if`
    elifs = 0  # sum(elif_runs)
    at_start = True  # the next token starts a statement
    long_chain = False
    actions = _ACTIONS
    chain_keywords = _CHAIN_KEYWORDS
    try:
        for tok in tokens:
            action = actions[tok[1]]
            if action == _QUIET:
                continue
            if at_start and action != _INDENT and action != _DEDENT:  # a statement begins
                at_start = False
                if tok[0] == "elif":
                    elif_runs[-1] += 1
                    elifs += 1
                elif tok[0] != "else":
                    elifs -= elif_runs[-1]
                    elif_runs[-1] = 0
            if action == _NAME:
                if tok[0] not in chain_keywords:
                    continue
                action = _OP
            elif action == _STRING:
                # before 3.12 an f-string is one token: its braces count as brackets. The
                # tokenizer cuts f-strings nested with the same quotes (3.12 syntax, which
                # libCST reads) into pieces, one brace each, so they count like this too; a
                # stray brace costs at most a false alarm, and only until the statement ends.
                if "{" not in tok[0] or "f" not in tok[0][:3].lower():
                    continue
                for brace in _BRACES.findall(tok[0]):
                    if brace == "{":
                        frames[-1] += 1
                        frames.append(0)
                        chain += 1
                        depth += 1
                        if depth + indent > MAX_NESTING:
                            raise _TooDeep(f"nesting deeper than {MAX_NESTING} levels")
                    elif brace == "}" and depth:
                        chain -= frames.pop()
                        depth -= 1
                action = _QUIET
            if action == _OP:
                frames[-1] += 1
                chain += 1
            elif action == _OPEN:
                frames[-1] += 1
                frames.append(0)
                chain += 1
                depth += 1
                if depth + indent > MAX_NESTING:
                    raise _TooDeep(f"nesting deeper than {MAX_NESTING} levels")
            elif action == _CLOSE:
                if depth:
                    chain -= frames.pop()
                    depth -= 1
                continue
            elif action == _COMMA:
                chain -= frames[-1]
                frames[-1] = 0
                continue
            elif action == _END:
                frames = [0]
                chain = depth = 0
                at_start = True
                statement_end = tok
                continue
            elif action == _INDENT:
                indent += 1
                elif_runs.append(0)
                at_start = True
            elif action == _DEDENT:
                indent -= 1
                if len(elif_runs) > 1:
                    elifs -= elif_runs.pop()
                at_start = True
                continue
            if chain + elifs + indent > MAX_CHAIN:
                long_chain = True
    except (tokenize.TokenError, SyntaxError, ValueError):
        raise _Unreadable(long_chain) from None
    # dedents come after the last statement's end, placed on its line or the next
    return long_chain, statement_end if tok is not None and tok[1] == token.DEDENT else tok


_BRACES = re.compile(r"\{\{|\}\}|[{}]")  # doubled braces are literal text


# strings (any prefix; an f-string's braces are counted, see below), comments, brackets
_BRACKETS = re.compile(
    r"""(?P<str>[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|$(?![\s\S]))
                              |'''[\s\S]*?(?:'''|$(?![\s\S]))
                              |"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))
      | \#[^\n]*
      | (?P<open>[(\[{]) | (?P<close>[)\]}])""",
    re.VERBOSE,
)


def _bracket_scan(text: str) -> str | None:
    """Bracket depth of text the tokenizer rejects (Python 2, a bracket bomb, broken strings)."""
    depth = 0
    for m in _BRACKETS.finditer(text):
        kind = m.lastgroup
        if kind == "open":
            depth += 1
            if depth > MAX_NESTING:
                return f"nesting deeper than {MAX_NESTING} levels"
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "str" and "{" in m.group() and "f" in m.group()[:3].lower():
            for brace in _BRACES.findall(m.group()):  # an f-string's fields, as above
                if brace == "{":
                    depth += 1
                    if depth > MAX_NESTING:
                        return f"nesting deeper than {MAX_NESTING} levels"
                elif brace == "}":
                    depth = max(0, depth - 1)
    return None


__all__ = ["MAX_CHAIN", "MAX_NESTING", "TooDeepToParse", "nesting_too_deep", "parse_module"]
