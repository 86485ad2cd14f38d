"""Plagiarism obfuscation levels L1..L6 as seeded libCST transformations.

The six levels are the classic hierarchy of Faidhi and Robinson ("An empirical approach for
detecting program similarity and plagiarism within a university programming environment",
Computers & Education 11(1), 1987), as used by later labelled benchmarks (e.g. IR-Plag):

  L1  comments and whitespace: comments dropped, reworded or added; docstrings dropped; blank
      lines and indentation width changed; spaces around operators removed
  L2  identifiers: locals, parameters, functions, classes and `self.` attributes renamed
      consistently (imported names, builtins, dunders and method names are kept: renaming a
      method such as `forward` would change what the program does)
  L3  declaration and statement order: imports, top-level definitions (in an order that keeps
      definition-time dependencies) and methods shuffled; adjacent independent assignments
      swapped
  L4  function restructuring: a run of statements of a function is extracted into a new
      module-level helper that receives the live-in names and returns the live-out ones
  L5  program statements: `for` <-> `while`, list/dict comprehensions -> loops, nested call
      arguments extracted into temporaries, dead code inserted
  L6  logic and expressions: comparisons mirrored, if/else branches swapped under the negated
      condition, `*`/`+` operands commuted, `x ** 2` -> `x * x`, `x += y` -> `x = x + y`,
      `x / 2` -> `x * 0.5`

Levels are cumulative, as a plagiarist who restructures code also renames it:
`obfuscate(src, k, seed)` is level k's transformation applied to `obfuscate(src, k - 1, seed)`.
Every random choice comes from a `random.Random` seeded with the seed and the level, so the same
(source, level, seed) always yields the same text.

The transformations keep the program valid Python and aim to keep its meaning; where meaning
depends on facts a syntactic pass cannot see (hidden side effects of calls, the types behind
`+`), they take the plagiarist's risk and say so in the function's docstring. Nothing here imports
or executes the code it transforms.
"""

from __future__ import annotations

import builtins
import keyword
import random
from collections.abc import Iterable, Sequence

import libcst as cst

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
LEVEL_NAMES: dict[int, str] = {
    1: "comments/whitespace",
    2: "identifiers",
    3: "declaration/statement order",
    4: "function restructuring",
    5: "program statements",
    6: "logic/expressions",
}

_EMPTY_MODULE = cst.Module(body=[])
_BUILTIN_NAMES = frozenset(dir(builtins))
_NEVER_RENAMED = frozenset({"self", "cls", "_", "super", "__class__"})

# Vocabulary for fresh identifiers: words a learner would plausibly choose, so that renamed code
# does not stand out by style (tools that key on odd names would otherwise get a free hint).
_WORDS = (
    "data", "value", "item", "temp", "result", "buf", "feat", "hidden", "state", "out",
    "inp", "layer", "block", "weight", "scale", "idx", "count", "size", "width", "mask",
    "score", "token", "vec", "mat", "node", "entry", "param", "cfg", "net", "stage",
    "head", "proj", "emb", "norm", "attn", "ratio", "step", "chunk", "part", "acc",
)
_GENERIC_COMMENTS = (
    "# compute the output",
    "# main logic",
    "# TODO: check this",
    "# helper step",
    "# update values",
    "# see notes",
    "# NOTE: shapes matter here",
    "# forward pass",
)
_HELPER_VERBS = ("prepare", "compute", "build", "setup", "process", "apply", "init", "handle")


def obfuscate(source: str, level: int, seed: int) -> str:
    """Return `source` plagiarised at `level` (1..6, cumulative), deterministically for `seed`.

    Raises `ValueError` for a level outside 1..6 and `libcst.ParserSyntaxError` for source that
    libCST cannot parse (callers skip such originals).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    module = cst.parse_module(source)
    for current in range(1, level + 1):
        rng = random.Random(f"{seed}/L{current}")
        module = _LEVEL_PASSES[current](module, rng)
    return module.code


def obfuscate_all(source: str, seed: int) -> dict[int, str]:
    """Every level of one source at once (each level builds on the previous: one pass each)."""
    module = cst.parse_module(source)
    out: dict[int, str] = {}
    for current in LEVELS:
        rng = random.Random(f"{seed}/L{current}")
        module = _LEVEL_PASSES[current](module, rng)
        out[current] = module.code
    return out


# ------------------------------------------------------------------------------------------------
# helpers shared by several levels


def _code(node: cst.CSTNode) -> str:
    return _EMPTY_MODULE.code_for_node(node)


class _IdentifierCollector(cst.CSTVisitor):
    """Every identifier spelled in a module (names and attributes), to keep fresh names fresh."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _identifiers(module: cst.Module) -> set[str]:
    collector = _IdentifierCollector()
    module.visit(collector)
    return collector.names


class _FreshNames:
    """Plausible, unused identifiers drawn from `_WORDS`, never a keyword or builtin."""

    def __init__(self, rng: random.Random, taken: Iterable[str], camel: bool = False) -> None:
        self.rng = rng
        self.taken = set(taken) | _BUILTIN_NAMES | set(keyword.kwlist)
        self.camel = camel

    def _spell(self, words: Sequence[str], capital: bool) -> str:
        if capital:
            return "".join(w.capitalize() for w in words)
        if self.camel:
            return words[0] + "".join(w.capitalize() for w in words[1:])
        return "_".join(words)

    def make(self, capital: bool = False, prefix: str = "") -> str:
        for attempt in range(1000):
            n_words = 1 if attempt < 20 and self.rng.random() < 0.4 else 2
            words = [self.rng.choice(_WORDS) for _ in range(n_words)]
            name = prefix + self._spell(words, capital)
            if attempt >= 40:
                name += str(self.rng.randrange(2, 100))
            if name not in self.taken:
                self.taken.add(name)
                return name
        raise RuntimeError("no fresh identifier found")  # unreachable with the vocabulary above


class _NameUsage(cst.CSTVisitor):
    """Names a piece of code reads and binds, syntactically (no scope metadata: fast, good enough).

    `binds` holds names bound in the current function scope (assignment, for/with/except
    targets, imports, nested def/class names, walrus); comprehension variables and the insides of
    nested functions and lambdas are local to them and not counted as binds. `reads` holds every
    other name seen, plus dotted `self.x` keys for attribute reads, so that statement swaps
    respect attribute dependencies. `writes` is `binds` plus dotted attribute and subscript roots
    that are assigned. `blocked` is set when the code holds something that cannot move into
    another function (return, yield, await, global, nonlocal, zero-argument super()).
    """

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.binds: set[str] = set()
        self.writes: set[str] = set()
        self.blocked = False
        self._nested = 0

    # -- targets
    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            if not self._nested:
                self.binds.add(target.value)
                self.writes.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value)
        elif isinstance(target, cst.Attribute):
            dotted = _dotted(target)
            if dotted:
                self.writes.add(dotted)
            target.value.visit(self)
        elif isinstance(target, cst.Subscript):
            root = _root_name(target)
            if root:
                self.writes.add(root)
            target.visit(self)
        else:
            target.visit(self)

    def visit_Assign(self, node: cst.Assign) -> bool:
        node.value.visit(self)
        for target in node.targets:
            self._target(target.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if node.value is not None:
            node.value.visit(self)
        node.annotation.visit(self)
        self._target(node.target)
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        node.value.visit(self)
        node.target.visit(self)  # read
        self._target(node.target)
        return False

    def visit_For(self, node: cst.For) -> bool:
        node.iter.visit(self)
        self._target(node.target)
        node.body.visit(self)
        if node.orelse is not None:
            node.orelse.visit(self)
        if node.asynchronous is not None:
            self.blocked = True
        return False

    def visit_WithItem(self, node: cst.WithItem) -> bool:
        node.item.visit(self)
        if node.asname is not None:
            self._target(node.asname.name)
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> bool:
        if node.type is not None:
            node.type.visit(self)
        if node.name is not None:
            self._target(node.name.name)
        node.body.visit(self)
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        node.value.visit(self)
        self._target(node.target)
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            bound = alias.asname.name if alias.asname else alias.name
            if isinstance(bound, cst.Name):
                self._target(bound)
            else:
                root = _root_name(bound)
                if root and not self._nested:
                    self.binds.add(root)
                    self.writes.add(root)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if isinstance(node.names, cst.ImportStar):
            self.blocked = True
            return False
        for alias in node.names:
            bound = alias.asname.name if alias.asname else alias.name
            if isinstance(bound, cst.Name):
                self._target(bound)
        return False

    def visit_Del(self, node: cst.Del) -> bool:
        self._target(node.target)
        return False

    # -- scopes of their own
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._target(node.name)
        self._nested += 1
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._nested -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._target(node.name)
        self._nested += 1
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._nested -= 1

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._nested += 1
        return True

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._nested -= 1

    def visit_CompFor(self, node: cst.CompFor) -> bool:
        node.iter.visit(self)
        self._nested += 1  # the comprehension variable is local to the comprehension
        node.target.visit(self)
        for condition in node.ifs:
            condition.visit(self)
        if node.inner_for_in is not None:
            node.inner_for_in.visit(self)
        self._nested -= 1
        return False

    # -- reads and blockers
    def visit_Name(self, node: cst.Name) -> None:
        self.reads.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        dotted = _dotted(node)
        if dotted:
            self.reads.add(dotted)
        node.value.visit(self)
        return False  # the attribute name itself is not a variable

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False  # keyword names are not variables

    def visit_Call(self, node: cst.Call) -> None:
        if (
            isinstance(node.func, cst.Name)
            and node.func.value == "super"
            and not node.args
            and not self._nested
        ):
            self.blocked = True

    def _block_if_own_scope(self) -> None:
        if not self._nested:
            self.blocked = True

    def visit_Return(self, node: cst.Return) -> None:
        self._block_if_own_scope()

    def visit_Yield(self, node: cst.Yield) -> None:
        self._block_if_own_scope()

    def visit_Await(self, node: cst.Await) -> None:
        self._block_if_own_scope()

    def visit_Global(self, node: cst.Global) -> None:
        self.blocked = True

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.blocked = True

    def visit_Break(self, node: cst.Break) -> None:
        self.blocked = True  # conservative: a loop around it might be outside the segment

    def visit_Continue(self, node: cst.Continue) -> None:
        self.blocked = True


def _usage(nodes: Iterable[cst.CSTNode]) -> _NameUsage:
    usage = _NameUsage()
    for node in nodes:
        node.visit(usage)
    return usage


def _dotted(node: cst.Attribute) -> str | None:
    if isinstance(node.value, cst.Name):
        return f"{node.value.value}.{node.attr.value}"
    return None


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _docstring_offset(body: Sequence[cst.BaseStatement]) -> int:
    return 1 if body and _is_docstring(body[0]) else 0


def _parenthesize(expr: cst.BaseExpression) -> cst.BaseExpression:
    atoms = (
        cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float,
        cst.SimpleString, cst.List, cst.Tuple, cst.Dict,
    )
    if isinstance(expr, atoms) or expr.lpar:
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


class _ScopeTracking(cst.CSTTransformer):
    """A transformer that knows whether the node it is at sits directly inside a function body."""

    def __init__(self) -> None:
        super().__init__()
        self._scopes: list[str] = ["module"]

    @property
    def in_function(self) -> bool:
        return self._scopes[-1] == "function"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._scopes.append("function")
        return True

    def leave_FunctionDef(self, original_node, updated_node):
        self._scopes.pop()
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._scopes.append("class")
        return True

    def leave_ClassDef(self, original_node, updated_node):
        self._scopes.pop()
        return updated_node


# ------------------------------------------------------------------------------------------------
# L1: comments and whitespace


class _CommentsWhitespace(cst.CSTTransformer):
    _SYMBOLIC_OPERATORS = (
        cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo,
        cst.Power, cst.MatrixMultiply, cst.LessThan, cst.GreaterThan, cst.LessThanEqual,
        cst.GreaterThanEqual, cst.Equal, cst.NotEqual,
    )

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def _comment(self) -> cst.Comment:
        return cst.Comment(self.rng.choice(_GENERIC_COMMENTS))

    def leave_EmptyLine(self, original_node, updated_node):
        if updated_node.comment is None:
            return updated_node
        roll = self.rng.random()
        if roll < 0.5:
            return cst.RemoveFromParent()
        if roll < 0.8:
            return updated_node.with_changes(comment=self._comment())
        return updated_node

    def leave_TrailingWhitespace(self, original_node, updated_node):
        if updated_node.comment is None:
            return updated_node
        if self.rng.random() < 0.7:
            return updated_node.with_changes(whitespace=cst.SimpleWhitespace(""), comment=None)
        return updated_node.with_changes(comment=self._comment())

    def _restyle_leading_lines(self, node):
        lines = list(node.leading_lines)
        if lines and all(line.comment is None for line in lines) and self.rng.random() < 0.4:
            lines = []  # drop blank lines
        elif self.rng.random() < 0.12:
            lines.append(cst.EmptyLine())
        if self.rng.random() < 0.08:
            lines.append(cst.EmptyLine(comment=self._comment()))
        return node.with_changes(leading_lines=lines)

    def _strip_docstring(self, body_owner):
        block = body_owner.body
        if not isinstance(block, cst.IndentedBlock):
            return body_owner
        body = list(block.body)
        if body and _is_docstring(body[0]) and self.rng.random() < 0.7:
            rest = body[1:] or [cst.SimpleStatementLine([cst.Pass()])]
            return body_owner.with_changes(body=block.with_changes(body=rest))
        return body_owner

    def leave_SimpleStatementLine(self, original_node, updated_node):
        return self._restyle_leading_lines(updated_node)

    def leave_FunctionDef(self, original_node, updated_node):
        return self._restyle_leading_lines(self._strip_docstring(updated_node))

    def leave_ClassDef(self, original_node, updated_node):
        return self._restyle_leading_lines(self._strip_docstring(updated_node))

    def leave_If(self, original_node, updated_node):
        return self._restyle_leading_lines(updated_node)

    def leave_For(self, original_node, updated_node):
        return self._restyle_leading_lines(updated_node)

    def leave_BinaryOperation(self, original_node, updated_node):
        return updated_node.with_changes(operator=self._tighten(updated_node.operator))

    def leave_ComparisonTarget(self, original_node, updated_node):
        return updated_node.with_changes(operator=self._tighten(updated_node.operator))

    def _tighten(self, operator):
        if isinstance(operator, self._SYMBOLIC_OPERATORS) and self.rng.random() < 0.3:
            space = cst.SimpleWhitespace("")
            return operator.with_changes(whitespace_before=space, whitespace_after=space)
        return operator

    def leave_Module(self, original_node, updated_node):
        indent = self.rng.choice(("  ", "    ", "\t", "   "))
        module = updated_node.with_changes(default_indent=indent)
        body = list(module.body)
        if body and _is_docstring(body[0]) and self.rng.random() < 0.7:
            body = body[1:]
        return module.with_changes(body=body)


def _level1(module: cst.Module, rng: random.Random) -> cst.Module:
    return module.visit(_CommentsWhitespace(rng))


# ------------------------------------------------------------------------------------------------
# L2: identifiers


class _Definitions(cst.CSTVisitor):
    """Names the file itself defines (renamable) and names it must keep."""

    def __init__(self) -> None:
        self.defined: set[str] = set()
        self.classes: set[str] = set()
        self.functions: set[str] = set()
        self.params: set[str] = set()
        self.imported: set[str] = set()
        self.class_body_names: set[str] = set()
        self.self_attributes: set[str] = set()
        self._scopes: list[str] = ["module"]

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self._scopes[-1] == "class":
            self.class_body_names.add(node.name.value)
        self.defined.add(node.name.value)
        self.classes.add(node.name.value)
        self._scopes.append("class")

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self._scopes[-1] != "class":  # methods keep their names (overrides, framework hooks)
            self.defined.add(node.name.value)
            self.functions.add(node.name.value)
        else:
            self.class_body_names.add(node.name.value)
        self._scopes.append("function")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def visit_Param(self, node: cst.Param) -> None:
        self.defined.add(node.name.value)
        self.params.add(node.name.value)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            bound = alias.asname.name if alias.asname else alias.name
            root = bound.value if isinstance(bound, cst.Name) else _root_name(bound)
            if root:
                self.imported.add(root)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            bound = alias.asname.name if alias.asname else alias.name
            if isinstance(bound, cst.Name):
                self.imported.add(bound.value)

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            if self._scopes[-1] == "class":
                self.class_body_names.add(target.value)
            self.defined.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value)
        elif isinstance(target, cst.Attribute):
            if isinstance(target.value, cst.Name) and target.value.value in ("self", "cls"):
                self.self_attributes.add(target.attr.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._target(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._target(node.asname.name)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._target(node.name.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)


def _renamable(name: str) -> bool:
    return not (
        name in _NEVER_RENAMED
        or name in _BUILTIN_NAMES
        or keyword.iskeyword(name)
        or (name.startswith("__") and name.endswith("__"))
    )


class _Renamer(cst.CSTTransformer):
    def __init__(
        self,
        names: dict[str, str],
        attributes: dict[str, str],
        params: set[str],
        external_roots: set[str],
    ) -> None:
        super().__init__()
        self.names = names
        self.attributes = attributes
        self.params = params
        self.external_roots = external_roots

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Name(self, original_node, updated_node):
        new = self.names.get(updated_node.value)
        return updated_node.with_changes(value=new) if new else updated_node

    def leave_Attribute(self, original_node, updated_node):
        # leave_Name renamed `.attr` too; attributes follow their own map, on self/cls only
        attr = original_node.attr
        if (
            isinstance(original_node.value, cst.Name)
            and original_node.value.value in ("self", "cls")
            and attr.value in self.attributes
        ):
            attr = attr.with_changes(value=self.attributes[attr.value])
        return updated_node.with_changes(attr=attr)

    def leave_Call(self, original_node, updated_node):
        # Keyword arguments follow a renamed parameter unless the callee is clearly someone
        # else's (imported module/function, builtin, super()).
        root = _root_name(original_node.func)
        external = root is None or root in self.external_roots or (
            isinstance(original_node.func, cst.Attribute)
            and isinstance(original_node.func.value, cst.Call)
        )
        new_args = []
        for original_arg, arg in zip(original_node.args, updated_node.args):
            keyword_name = original_arg.keyword
            if keyword_name is not None:
                if not external and keyword_name.value in self.params:
                    keyword_name = keyword_name.with_changes(
                        value=self.names.get(keyword_name.value, keyword_name.value)
                    )
                arg = arg.with_changes(keyword=keyword_name)
            new_args.append(arg)
        return updated_node.with_changes(args=new_args)


def _level2(module: cst.Module, rng: random.Random) -> cst.Module:
    definitions = _Definitions()
    module.visit(definitions)
    keep = definitions.imported | definitions.class_body_names
    renamable = sorted(n for n in definitions.defined - keep if _renamable(n))
    fresh = _FreshNames(rng, _identifiers(module), camel=rng.random() < 0.3)
    names = {}
    for name in renamable:
        if rng.random() < 0.9:  # a plagiarist rarely renames every single name
            names[name] = fresh.make(capital=name in definitions.classes and name[:1].isupper())
    attributes = {
        attr: fresh.make()
        for attr in sorted(definitions.self_attributes)
        if _renamable(attr) and attr not in definitions.class_body_names and rng.random() < 0.9
    }
    external = definitions.imported | _BUILTIN_NAMES
    renamer = _Renamer(names, attributes, definitions.params, external)
    return module.visit(renamer)


# ------------------------------------------------------------------------------------------------
# L3: declaration and statement order


def _definition_time_reads(node: cst.BaseStatement) -> set[str]:
    """Names a def/class statement evaluates when it runs (not when its functions are called)."""
    pieces: list[cst.CSTNode] = []

    def of_function(fn: cst.FunctionDef) -> None:
        pieces.extend(d.decorator for d in fn.decorators)
        for param in (*fn.params.params, *fn.params.kwonly_params, *fn.params.posonly_params):
            if param.default is not None:
                pieces.append(param.default)
            if param.annotation is not None:
                pieces.append(param.annotation)
        if fn.returns is not None:
            pieces.append(fn.returns)

    if isinstance(node, cst.FunctionDef):
        of_function(node)
    elif isinstance(node, cst.ClassDef):
        pieces.extend(d.decorator for d in node.decorators)
        pieces.extend(a.value for a in (*node.bases, *node.keywords))
        if isinstance(node.body, cst.IndentedBlock):
            for statement in node.body.body:
                if isinstance(statement, cst.FunctionDef):
                    of_function(statement)
                else:
                    pieces.append(statement)
    return _usage(pieces).reads


def _random_topological(items: list, deps: dict[int, set[int]], rng: random.Random) -> list:
    placed: list[int] = []
    remaining = set(range(len(items)))
    while remaining:
        ready = sorted(i for i in remaining if deps[i] <= set(placed))
        choice = rng.choice(ready)  # a cycle cannot occur: deps only point at earlier items
        placed.append(choice)
        remaining.remove(choice)
    return [items[i] for i in placed]


def _shuffle_definitions(body: list, rng: random.Random) -> list:
    """Shuffle each maximal run of def/class statements, keeping definition-time dependencies."""
    out: list = []
    run: list = []

    def flush() -> None:
        if len(run) > 1:
            names = [s.name.value for s in run]
            deps = {
                i: {j for j in range(i) if names[j] in _definition_time_reads(run[i])}
                for i in range(len(run))
            }
            out.extend(_random_topological(list(run), deps, rng))
        else:
            out.extend(run)
        run.clear()

    for statement in body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            run.append(statement)
        else:
            flush()
            out.append(statement)
    flush()
    return out


def _method_groups(body: Sequence[cst.BaseStatement]) -> list[list[cst.BaseStatement]]:
    """Methods, with `@x.setter`/`@x.deleter` (which need `x` defined first) glued to x."""
    groups: list[list[cst.BaseStatement]] = []
    for statement in body:
        glued = isinstance(statement, cst.FunctionDef) and any(
            isinstance(d.decorator, cst.Attribute)
            and d.decorator.attr.value in ("setter", "deleter", "getter")
            for d in statement.decorators
        )
        if glued and groups:
            groups[-1].append(statement)
        else:
            groups.append([statement])
    return groups


def _shuffle_methods(block: cst.IndentedBlock, rng: random.Random) -> cst.IndentedBlock:
    groups = _method_groups(block.body)
    slots = [i for i, g in enumerate(groups) if isinstance(g[0], cst.FunctionDef)]
    methods = [groups[i] for i in slots]
    rng.shuffle(methods)
    for slot, group in zip(slots, methods):
        groups[slot] = group
    return block.with_changes(body=[s for g in groups for s in g])


def _swappable(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], (cst.Assign, cst.AnnAssign, cst.AugAssign))
    )


def _independent(first: cst.BaseStatement, second: cst.BaseStatement) -> bool:
    a, b = _usage([first]), _usage([second])
    if a.blocked or b.blocked:
        return False
    return not (a.writes & (b.reads | b.writes)) and not (b.writes & a.reads)


def _swap_statements(body: list, rng: random.Random, probability: float = 0.6) -> list:
    """Swap adjacent assignments whose def-use sets are disjoint (a syntactic check: a call's
    hidden side effects, e.g. two draws from one RNG, are not analysed)."""
    i = _docstring_offset(body)
    body = list(body)
    while i + 1 < len(body):
        first, second = body[i], body[i + 1]
        if (
            _swappable(first)
            and _swappable(second)
            and _independent(first, second)
            and rng.random() < probability
        ):
            body[i], body[i + 1] = second, first
            i += 2
        else:
            i += 1
    return body


class _Reorder(cst.CSTTransformer):
    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def leave_IndentedBlock(self, original_node, updated_node):
        return updated_node.with_changes(body=_swap_statements(list(updated_node.body), self.rng))

    def leave_ClassDef(self, original_node, updated_node):
        if isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node.with_changes(body=_shuffle_methods(updated_node.body, self.rng))
        return updated_node

    def leave_Module(self, original_node, updated_node):
        body = list(updated_node.body)
        start = _docstring_offset(body)
        # shuffle the leading import block (a __future__ import must stay first)
        end = start
        while end < len(body) and _is_plain_import(body[end]):
            end += 1
        imports = body[start:end]
        self.rng.shuffle(imports)
        body[start:end] = imports
        body = _shuffle_definitions(body, self.rng)
        return updated_node.with_changes(body=body)


def _is_plain_import(statement: cst.BaseStatement) -> bool:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    small = statement.body[0]
    if isinstance(small, cst.ImportFrom):
        module = small.module
        return not (isinstance(module, cst.Name) and module.value == "__future__")
    return isinstance(small, cst.Import)


def _level3(module: cst.Module, rng: random.Random) -> cst.Module:
    return module.visit(_Reorder(rng))


# ------------------------------------------------------------------------------------------------
# L4: function restructuring (extract a run of statements into a helper)


def _param_names(fn: cst.FunctionDef) -> list[str]:
    p = fn.params
    names = [x.name.value for x in (*p.posonly_params, *p.params, *p.kwonly_params)]
    for star in (p.star_arg, p.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return names


def _extract_segment(
    fn: cst.FunctionDef, rng: random.Random, fresh: _FreshNames
) -> tuple[cst.FunctionDef, cst.FunctionDef] | None:
    """Move a random run of >= 2 statements of `fn` into a new module-level function.

    The helper takes the names the run reads that the function bound before it (parameters
    included) and returns, as a tuple, the names it binds that later statements read. Runs that
    return, yield, await, break/continue, use zero-argument super() or global/nonlocal are not
    moved. Returns (new fn, helper) or None when no run qualifies.
    """
    if not isinstance(fn.body, cst.IndentedBlock):
        return None
    body = list(fn.body.body)
    start_min = _docstring_offset(body)
    candidates = []
    for start in range(start_min, len(body)):
        for end in range(start + 2, len(body) + 1):
            if end - start == len(body) - start_min and len(body) - start_min > 2:
                continue  # keep at least one statement in the original when possible
            candidates.append((start, end))
    rng.shuffle(candidates)
    params = _param_names(fn)
    for start, end in candidates[:40]:
        segment = body[start:end]
        used = _usage(segment)
        if used.blocked:
            continue
        before = set(params) | _usage(body[:start]).binds
        after_reads = _usage(body[end:]).reads
        live_out = sorted(n for n in used.binds if n in after_reads)
        live_in = sorted(
            (n for n in before if n in used.reads or (n in used.binds and n in after_reads)),
            key=lambda n: (n not in ("self", "cls"), n),  # self first, as a person would write
        )
        if len(live_out) > 4 or len(live_in) > 8:
            continue
        helper_name = fresh.make(prefix="_" + rng.choice(_HELPER_VERBS) + "_")
        args = ", ".join(live_in)
        call = f"{helper_name}({args})"
        if live_out:
            targets = ", ".join(live_out)
            replacement = cst.parse_statement(f"{targets} = {call}\n")
            returned = ", ".join(live_out)
            tail = [cst.parse_statement(f"return {returned}\n")]
        else:
            replacement = cst.parse_statement(f"{call}\n")
            tail = []
        helper = cst.parse_statement(f"def {helper_name}({args}):\n    pass\n")
        assert isinstance(helper, cst.FunctionDef)
        helper_body = [s.with_changes(leading_lines=[]) if i == 0 else s
                       for i, s in enumerate(segment)] + tail
        helper = helper.with_changes(
            body=helper.body.with_changes(body=helper_body),
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )
        first_lines = getattr(segment[0], "leading_lines", ())
        replacement = replacement.with_changes(leading_lines=first_lines)
        new_body = body[:start] + [replacement] + body[end:]
        return fn.with_changes(body=fn.body.with_changes(body=new_body)), helper
    return None


class _Restructure(cst.CSTTransformer):
    """Extract segments from top-level functions and methods of top-level classes."""

    def __init__(self, rng: random.Random, fresh: _FreshNames, probability: float) -> None:
        super().__init__()
        self.rng = rng
        self.fresh = fresh
        self.probability = probability
        self._depth = 0
        self.helpers: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1  # nested functions are left alone (closures)

    def leave_FunctionDef(self, original_node, updated_node):
        self._depth -= 1
        if self._depth == 0 and self.rng.random() < self.probability:
            extracted = _extract_segment(updated_node, self.rng, self.fresh)
            if extracted is not None:
                updated_node, helper = extracted
                self.helpers.append(helper)
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._depth == 0  # methods of nested classes are left alone


def _level4(module: cst.Module, rng: random.Random) -> cst.Module:
    fresh = _FreshNames(rng, _identifiers(module))
    body = list(module.body)
    new_body: list = []
    extracted_any = False
    for statement in body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            restructure = _Restructure(rng, fresh, probability=0.8)
            statement = statement.visit(restructure)
            # helpers go right before the definition that uses them
            new_body.extend(restructure.helpers)
            extracted_any = extracted_any or bool(restructure.helpers)
        new_body.append(statement)
    if not extracted_any:
        # make sure the level does what it says when any function allows it
        for index, statement in enumerate(new_body):
            restructure = _Restructure(rng, fresh, probability=1.0)
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                changed = statement.visit(restructure)
                if restructure.helpers:
                    new_body[index:index + 1] = [*restructure.helpers, changed]
                    break
    return module.with_changes(body=new_body)


# ------------------------------------------------------------------------------------------------
# L5: program statements


def _has_direct(node: cst.CSTNode, kinds: tuple[type, ...]) -> bool:
    """Whether `node` contains one of `kinds` outside nested loops, functions and classes."""

    class Finder(cst.CSTVisitor):
        found = False

        def on_visit(self, n: cst.CSTNode) -> bool:
            if isinstance(n, kinds):
                self.found = True
            if n is not node and isinstance(
                n, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Lambda)
            ):
                return False
            return not self.found

    finder = Finder()
    node.visit(finder)
    return finder.found


class _Statements(_ScopeTracking):
    def __init__(self, rng: random.Random, fresh: _FreshNames) -> None:
        super().__init__()
        self.rng = rng
        self.fresh = fresh

    # for -> while
    def leave_For(self, original_node, updated_node):
        if (
            not self.in_function
            or updated_node.orelse is not None
            or updated_node.asynchronous is not None
            or self.rng.random() >= 0.7
        ):
            return updated_node
        range_args = _simple_range(updated_node)
        if range_args is not None and not _has_direct(updated_node.body, (cst.Continue,)):
            start, stop, step = range_args
            name = _code(updated_node.target)
            init = cst.parse_statement(f"{name} = {start}\n")
            loop = cst.parse_statement(f"while {name} < {stop}:\n    {name} += {step}\n")
            assert isinstance(loop, cst.While)
            body = updated_node.body.with_changes(
                body=[*updated_node.body.body, *loop.body.body]
            )
            init = init.with_changes(leading_lines=updated_node.leading_lines)
            return cst.FlattenSentinel([init, loop.with_changes(body=body)])
        iterator = self.fresh.make(prefix="_")
        target = _code(updated_node.target)
        init = cst.parse_statement(f"{iterator} = iter({_code(updated_node.iter)})\n")
        loop = cst.parse_statement(
            f"while True:\n    try:\n        {target} = next({iterator})\n"
            f"    except StopIteration:\n        break\n"
        )
        assert isinstance(loop, cst.While)
        body = updated_node.body.with_changes(body=[*loop.body.body, *updated_node.body.body])
        init = init.with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel([init, loop.with_changes(body=body)])

    # comprehension -> loop; nested call argument -> temporary
    def leave_SimpleStatementLine(self, original_node, updated_node):
        if not self.in_function or len(updated_node.body) != 1:
            return updated_node
        small = updated_node.body[0]
        if isinstance(small, cst.Assign) and self.rng.random() < 0.7:
            unrolled = _unroll_comprehension(small)
            if unrolled is not None:
                first, *rest = unrolled
                first = first.with_changes(leading_lines=updated_node.leading_lines)
                return cst.FlattenSentinel([first, *rest])
        if isinstance(small, (cst.Return, cst.Assign)) and self.rng.random() < 0.5:
            hoisted = self._hoist_argument(small)
            if hoisted is not None:
                temp_statement, new_small = hoisted
                temp_statement = temp_statement.with_changes(
                    leading_lines=updated_node.leading_lines
                )
                rest = updated_node.with_changes(body=[new_small], leading_lines=[])
                return cst.FlattenSentinel([temp_statement, rest])
        return updated_node

    def _hoist_argument(self, small):
        call = small.value
        if not isinstance(call, cst.Call) or not call.args:
            return None
        for index, arg in enumerate(call.args):
            if arg.keyword is None and arg.star == "" and isinstance(
                arg.value, (cst.Call, cst.BinaryOperation, cst.Subscript)
            ):
                temp = self.fresh.make()
                # built as nodes, not parsed from text: the argument may span lines
                statement = cst.SimpleStatementLine(
                    [cst.Assign([cst.AssignTarget(cst.Name(temp))], _parenthesize(arg.value))]
                )
                args = list(call.args)
                args[index] = arg.with_changes(value=cst.Name(temp))
                return statement, small.with_changes(value=call.with_changes(args=args))
        return None

    # dead code
    def leave_IndentedBlock(self, original_node, updated_node):
        if not self.in_function or self.rng.random() >= 0.5:
            return updated_node
        body = list(updated_node.body)
        lo = _docstring_offset(body)
        position = self.rng.randint(lo, max(lo, len(body) - 1))
        body[position:position] = self._dead_code()
        return updated_node.with_changes(body=body)

    def _dead_code(self) -> list[cst.BaseStatement]:
        name = self.fresh.make()
        templates = (
            f"{name} = None\n",
            f"{name} = []\n",
            f"{name} = 0\n{name} += 1\n",
            f"{name} = False\nif {name}:\n    print({name})\n",
            f"for {name} in range(0):\n    pass\n",
        )
        return list(cst.parse_module(self.rng.choice(templates)).body)


def _simple_range(node: cst.For) -> tuple[str, str, str] | None:
    """(start, stop, step) source for `for NAME in range(...)` with a positive literal step."""
    call = node.iter
    if not (
        isinstance(node.target, cst.Name)
        and isinstance(call, cst.Call)
        and isinstance(call.func, cst.Name)
        and call.func.value == "range"
        and 1 <= len(call.args) <= 3
        and all(a.keyword is None and a.star == "" for a in call.args)
    ):
        return None
    parts = [_code(_parenthesize(a.value)) for a in call.args]
    if len(parts) == 1:
        return "0", parts[0], "1"
    if len(parts) == 2:
        return parts[0], parts[1], "1"
    step = call.args[2].value
    if isinstance(step, cst.Integer) and int(step.value, 0) > 0:
        return parts[0], parts[1], parts[2]
    return None


def _unroll_comprehension(assign: cst.Assign) -> list[cst.BaseStatement] | None:
    if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
        return None
    target = assign.targets[0].target.value
    comp = assign.value
    if not isinstance(comp, (cst.ListComp, cst.DictComp)) or comp.lpar:
        return None
    loop = comp.for_in
    if loop.inner_for_in is not None or loop.asynchronous is not None:
        return None
    if isinstance(comp, cst.ListComp):
        init, add = "[]", f"{target}.append({_code(comp.elt)})"
    else:
        init, add = "{}", f"{target}[{_code(comp.key)}] = {_code(comp.value)}"
    lines = [f"{target} = {init}", f"for {_code(loop.target)} in {_code(loop.iter)}:"]
    indent = "    "
    for condition in loop.ifs:
        lines.append(f"{indent}if {_code(condition.test)}:")
        indent += "    "
    lines.append(f"{indent}{add}")
    try:
        return list(cst.parse_module("\n".join(lines) + "\n").body)
    except cst.ParserSyntaxError:
        return None  # a comprehension spread over lines outside brackets: leave it as it is


def _level5(module: cst.Module, rng: random.Random) -> cst.Module:
    return module.visit(_Statements(rng, _FreshNames(rng, _identifiers(module))))


# ------------------------------------------------------------------------------------------------
# L6: logic and expressions

_MIRROR = {
    cst.LessThan: cst.GreaterThan,
    cst.GreaterThan: cst.LessThan,
    cst.LessThanEqual: cst.GreaterThanEqual,
    cst.GreaterThanEqual: cst.LessThanEqual,
    cst.Equal: cst.Equal,
    cst.NotEqual: cst.NotEqual,
}
_NEGATE = {
    cst.LessThan: cst.GreaterThanEqual,
    cst.GreaterThanEqual: cst.LessThan,
    cst.GreaterThan: cst.LessThanEqual,
    cst.LessThanEqual: cst.GreaterThan,
    cst.Equal: cst.NotEqual,
    cst.NotEqual: cst.Equal,
    cst.Is: cst.IsNot,
    cst.IsNot: cst.Is,
    cst.In: cst.NotIn,
    cst.NotIn: cst.In,
}
_NON_COMMUTATIVE_OPERANDS = (
    cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.List, cst.Tuple,
    cst.ListComp, cst.BinaryOperation, cst.BooleanOperation, cst.Comparison, cst.IfExp,
    cst.Lambda, cst.Dict, cst.Set,
)


def _negate(test: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and not test.lpar:
        target = test.comparisons[0]
        inverse = _NEGATE.get(type(target.operator))
        if inverse is not None:
            return test.with_changes(comparisons=[target.with_changes(operator=inverse())])
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return test.expression
    return cst.UnaryOperation(operator=cst.Not(), expression=_parenthesize(test))


def _lead_like(old_left: cst.BaseExpression, new_left: cst.BaseExpression) -> cst.BaseExpression:
    """Parenthesise an operand moved to the front where the old one had parentheses.

    `assert(a) == b` has no space after `assert`; mirrored unparenthesised it would read
    `assertb == (a)`, which is not Python.
    """
    if old_left.lpar and not new_left.lpar:
        return new_left.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return new_left


class _Expressions(cst.CSTTransformer):
    def __init__(self, rng: random.Random, probability: float = 0.6) -> None:
        super().__init__()
        self.rng = rng
        self.p = probability

    def _roll(self) -> bool:
        return self.rng.random() < self.p

    def leave_Comparison(self, original_node, updated_node):
        if len(updated_node.comparisons) != 1 or not self._roll():
            return updated_node
        target = updated_node.comparisons[0]
        mirrored = _MIRROR.get(type(target.operator))
        if mirrored is None:
            return updated_node
        return updated_node.with_changes(
            left=_lead_like(updated_node.left, target.comparator),
            comparisons=[
                target.with_changes(comparator=updated_node.left, operator=mirrored())
            ],
        )

    def leave_If(self, original_node, updated_node):
        if not isinstance(updated_node.orelse, cst.Else) or not self._roll():
            return updated_node
        return updated_node.with_changes(
            test=_negate(updated_node.test),
            whitespace_before_test=cst.SimpleWhitespace(" "),  # `if(x):` -> `if not (x):`
            body=updated_node.orelse.body,
            orelse=updated_node.orelse.with_changes(body=updated_node.body),
        )

    def leave_BinaryOperation(self, original_node, updated_node):
        op = updated_node.operator
        left, right = updated_node.left, updated_node.right
        if (
            isinstance(op, cst.Power)
            and isinstance(right, cst.Integer)
            and right.value == "2"
            and isinstance(left, (cst.Name, cst.Attribute))
            and self._roll()
        ):
            product = cst.BinaryOperation(left=left, operator=cst.Multiply(), right=left)
            return _parenthesize(product.with_changes(lpar=updated_node.lpar,
                                                      rpar=updated_node.rpar))
        if (
            isinstance(op, cst.Divide)
            and isinstance(right, cst.Integer)
            and right.value == "2"
            and self._roll()
        ):
            return updated_node.with_changes(operator=cst.Multiply(), right=cst.Float("0.5"))
        if (
            isinstance(op, (cst.Multiply, cst.Add))
            and not (isinstance(left, _NON_COMMUTATIVE_OPERANDS) and not left.lpar)
            and not (isinstance(right, _NON_COMMUTATIVE_OPERANDS) and not right.lpar)
            and not isinstance(left, (cst.SimpleString, cst.FormattedString))
            and not isinstance(right, (cst.SimpleString, cst.FormattedString))
            and self._roll()
        ):
            return updated_node.with_changes(left=_lead_like(left, right), right=left)
        return updated_node

    def leave_AugAssign(self, original_node, updated_node):
        operators = {
            cst.AddAssign: cst.Add,
            cst.SubtractAssign: cst.Subtract,
            cst.MultiplyAssign: cst.Multiply,
            cst.DivideAssign: cst.Divide,
        }
        binary = operators.get(type(updated_node.operator))
        if (
            binary is None
            or not isinstance(updated_node.target, (cst.Name, cst.Attribute))
            or not self._roll()
        ):
            return updated_node
        value = cst.BinaryOperation(
            left=updated_node.target, operator=binary(), right=_parenthesize(updated_node.value)
        )
        return cst.Assign(targets=[cst.AssignTarget(target=updated_node.target)], value=value)


def _level6(module: cst.Module, rng: random.Random) -> cst.Module:
    return module.visit(_Expressions(rng))


_LEVEL_PASSES = {1: _level1, 2: _level2, 3: _level3, 4: _level4, 5: _level5, 6: _level6}
