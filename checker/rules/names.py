"""Parse learner code with libCST and resolve names to qualified names, without running anything.

Qualified names come from an import-alias gathering visitor rather than libCST's
`QualifiedNameProvider`: on the 319 real learner files the provider's scope analysis tripled the
cost of a run (parse + positions 8 s, with the provider 25 s; see bench/rules_real.py), and
learner code almost never rebinds an import alias. The gatherer is flow-insensitive, like most
linters: every import anywhere in the file binds its alias for the whole file.

Resolution also follows re-exports between the learner's own files (`utils.py` does
`import torchvision.models as tvm`, `train.py` does `from utils import tvm`): `SubmissionIndex`
maps learner module names to their import bindings.

Positions (`PositionProvider`) are computed lazily, only for files that produce a finding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from checker.model import SourceFile
from checker.code.cst_walk import NodePositions, walk
from checker.code.parse_guard import TooDeepToParse, parse_module
from checker.code.tokens import ParsedText

# --- parsing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParseOk:
    module: cst.Module
    magics_blanked: int = 0  # notebook magic / shell lines replaced by blank lines


@dataclass(frozen=True)
class ParseFailed:
    reason: str
    line: int = 0
    col: int = 0


_MAGIC_LINE = re.compile(r"^[ \t]*[%!]")


def blank_magics(text: str) -> tuple[str, int]:
    """Blank IPython magic and shell lines (`%matplotlib inline`, `!pip install x`), keeping line numbers."""
    lines = text.split("\n")
    count = 0
    for i, line in enumerate(lines):
        if _MAGIC_LINE.match(line):
            lines[i] = ""
            count += 1
    return "\n".join(lines), count


def parse_code(text: str) -> ParseOk | ParseFailed:
    """Parse a file; on failure retry with notebook magics blanked. Never raises."""
    try:
        return ParseOk(parse_module(text))
    except cst.ParserSyntaxError as first:
        failure = first
    except TooDeepToParse as exc:  # libCST would crash the process on it (checker.code.parse_guard)
        return ParseFailed(f"{exc}, too deep to parse safely")
    except (RecursionError, ValueError) as exc:  # pathological nesting, NUL bytes
        return ParseFailed(f"{type(exc).__name__}: {exc}")
    blanked, count = blank_magics(text)
    if count:
        try:
            return ParseOk(parse_module(blanked), magics_blanked=count)
        except (cst.ParserSyntaxError, RecursionError, ValueError):
            pass
    message = str(failure).strip().splitlines()
    reason = " ".join(line.strip() for line in message[:2] if line.strip()) or "syntax error"
    reason = re.sub(r":?\s*expected one of .*", ": unexpected token", reason)
    reason = reason if len(reason) <= 160 else reason[:159] + "…"
    return ParseFailed(reason, getattr(failure, "raw_line", 0), getattr(failure, "raw_column", 0) + 1)


# --- names -------------------------------------------------------------------------------------


def dotted_name(node: cst.CSTNode) -> str | None:
    """`a.b.c` for a pure Name/Attribute chain, None when a call or subscript is in the chain."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _module_name(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    return dotted_name(node) or ""


def module_of_path(path: str) -> str:
    """Dotted module name of a learner file path (`pkg/utils.py` -> `pkg.utils`); "" for non-.py."""
    if not path.endswith(".py"):
        return ""
    parts = path.replace("\\", "/").strip("/")[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def literal_value(node: cst.BaseExpression) -> tuple[bool, object]:
    """(True, value) for a literal the checker can read without running code, else (False, None)."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return True, {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, (cst.Integer, cst.Float)):
        return True, node.evaluated_value
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return (value is not None), value
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        ok, value = literal_value(node.expression)
        if ok and isinstance(value, (int, float)):
            return True, -value
    return False, None


# --- facts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportFact:
    """One imported name: `import a.b as c` -> target "a.b"; `from a import b` -> "a.b"."""

    target: str
    alias: str  # the local name bound ("" for a star import)
    node: cst.CSTNode
    dynamic: bool = False  # __import__ / importlib.import_module with a literal name
    binds: str = ""  # what `alias` refers to when not `target`: `import a.b.c` binds `a` to "a"

    @property
    def bound_to(self) -> str:
        return self.binds or self.target


@dataclass(frozen=True)
class RefFact:
    """An outermost Name/Attribute chain used as a value (not a binding, keyword or import)."""

    written: str  # as in the source: "M.resnet18"
    node: cst.CSTNode
    function: str  # enclosing function qualified name, "" at module/class level


@dataclass(frozen=True)
class CallFact:
    written: str  # callee as written, "" when not a name chain (`f()()`)
    node: cst.Call
    function: str
    method: str = ""  # last attribute of the callee even when its receiver is an expression


@dataclass(frozen=True)
class LoopFact:
    kind: str  # "for" | "while" | "async for" | "list comprehension" | ...
    node: cst.CSTNode
    function: str


@dataclass(frozen=True)
class FunctionFact:
    qualname: str
    node: cst.FunctionDef
    is_method: bool
    missing_params: tuple[str, ...]
    missing_return: bool
    annotated: bool  # any annotation at all on this function


@dataclass(frozen=True)
class ClassFact:
    name: str
    node: cst.ClassDef
    bases: tuple[str, ...]  # as written


@dataclass
class FileFacts:
    imports: list[ImportFact] = field(default_factory=list)
    refs: list[RefFact] = field(default_factory=list)
    calls: list[CallFact] = field(default_factory=list)
    loops: list[LoopFact] = field(default_factory=list)
    functions: list[FunctionFact] = field(default_factory=list)
    classes: list[ClassFact] = field(default_factory=list)
    star_modules: list[str] = field(default_factory=list)
    # function qualname -> names bound inside it (parameters, assignment/loop/with targets): such a
    # name shadows an import of the same name for the whole function, as in Python
    locals: dict[str, set[str]] = field(default_factory=dict)

    def bindings(self) -> dict[str, str]:
        """Local name -> qualified target, from every import in the file (last one wins)."""
        out: dict[str, str] = {}
        for imp in self.imports:
            if imp.alias:
                out[imp.alias] = imp.bound_to
        return out


_COMPREHENSIONS = {
    cst.ListComp: "list comprehension",
    cst.SetComp: "set comprehension",
    cst.DictComp: "dict comprehension",
    cst.GeneratorExp: "generator expression",
}


class GatherFactsVisitor(cst.CSTVisitor):
    """Read-only single pass collecting imports, references, calls, loops, functions and classes.

    `package` is the dotted package of the file, for relative imports.
    """

    def __init__(self, package: str = ""):
        super().__init__()
        self.package = package
        self.facts = FileFacts()
        self._scope: list[tuple[str, str]] = []  # (kind "class"|"function", name)
        self._not_refs: set[int] = set()  # ids of Name nodes that bind or label, not use

    # scope bookkeeping
    def _function(self) -> str:
        if not any(kind == "function" for kind, _ in self._scope):
            return ""
        return ".".join(name for _, name in self._scope)

    def _bind_local(self, name: str) -> None:
        function = self._function()
        if function:
            self.facts.locals.setdefault(function, set()).add(name)

    def _skip(self, node: cst.CSTNode | None) -> None:
        if isinstance(node, cst.Name):
            self._not_refs.add(id(node))
            self._bind_local(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for el in node.elements:
                self._skip(el.value)
        elif isinstance(node, cst.StarredElement):
            self._skip(node.value)

    # imports
    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            target = _module_name(alias.name)
            if alias.asname is not None:
                local = _module_name(alias.asname.name)
                self.facts.imports.append(ImportFact(target, local, node))
            else:
                # `import a.b.c` binds `a` to the package `a`; `a.b.c.x` then resolves to itself
                head = target.split(".")[0]
                self.facts.imports.append(ImportFact(target, head, node, binds=head))
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        base = _module_name(node.module)
        if node.relative:
            pkg = self.package.split(".") if self.package else []
            up = len(node.relative) - 1
            pkg = pkg[: len(pkg) - up] if up else pkg
            base = ".".join([*pkg, base] if base else pkg)
        if isinstance(node.names, cst.ImportStar):
            self.facts.star_modules.append(base)
            self.facts.imports.append(ImportFact(base, "", node))
            return False
        for alias in node.names:
            name = _module_name(alias.name)
            local = _module_name(alias.asname.name) if alias.asname is not None else name
            self.facts.imports.append(ImportFact(f"{base}.{name}" if base else name, local, node))
        return False

    # definitions
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._not_refs.add(id(node.name))
        bases = tuple(dotted_name(b.value) or "" for b in node.bases)
        self.facts.classes.append(ClassFact(node.name.value, node, bases))
        self._scope.append(("class", node.name.value))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scope.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._not_refs.add(id(node.name))
        is_method = bool(self._scope) and self._scope[-1][0] == "class"
        qualname = ".".join([*(n for _, n in self._scope), node.name.value])
        params = node.params
        positional = [*params.posonly_params, *params.params]
        missing: list[str] = []
        annotated = node.returns is not None
        for i, p in enumerate([*positional, *params.kwonly_params]):
            if i == 0 and is_method and positional and p.name.value in ("self", "cls", "mcs", "metacls"):
                continue
            if p.annotation is None:
                missing.append(p.name.value)
            else:
                annotated = True
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param) and star.annotation is not None:
                annotated = True
        missing_return = node.returns is None and node.name.value != "__init__"
        self.facts.functions.append(
            FunctionFact(qualname, node, is_method, tuple(missing), missing_return, annotated)
        )
        self._scope.append(("function", node.name.value))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scope.pop()

    # bindings and labels that are not uses
    def visit_Param(self, node: cst.Param) -> None:
        self._not_refs.add(id(node.name))
        self._bind_local(node.name.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_refs.add(id(node.keyword))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._skip(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._skip(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._skip(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._skip(node.name)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self._not_refs.add(id(item.name))

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self._not_refs.add(id(item.name))

    # loops
    def visit_For(self, node: cst.For) -> None:
        self._skip(node.target)
        kind = "async for" if node.asynchronous is not None else "for"
        self.facts.loops.append(LoopFact(kind, node, self._function()))

    def visit_While(self, node: cst.While) -> None:
        self.facts.loops.append(LoopFact("while", node, self._function()))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._skip(node.target)

    def _comprehension(self, node: cst.CSTNode) -> None:
        self.facts.loops.append(LoopFact(_COMPREHENSIONS[type(node)], node, self._function()))

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comprehension(node)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._comprehension(node)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._comprehension(node)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comprehension(node)

    # uses
    def visit_Call(self, node: cst.Call) -> None:
        written = dotted_name(node.func) or ""
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else written
        self.facts.calls.append(CallFact(written, node, self._function(), method))
        self._dynamic_import(node, written)

    def _dynamic_import(self, node: cst.Call, written: str) -> None:
        """`__import__("timm")`, `importlib.import_module("timm")`, `x = importlib.import_module(...)`."""
        if written not in ("__import__", "importlib.import_module", "import_module", "importlib.__import__"):
            return
        if not node.args:
            return
        ok, value = literal_value(node.args[0].value)
        if ok and isinstance(value, str) and value:
            self.facts.imports.append(ImportFact(value, "", node, dynamic=True))

    def visit_Assign(self, node: cst.Assign) -> None:
        # `tm = importlib.import_module("timm")` binds tm like `import timm as tm`
        if isinstance(node.value, cst.Call) and len(node.targets) == 1:
            target = node.targets[0].target
            written = dotted_name(node.value.func) or ""
            if isinstance(target, cst.Name) and written in ("__import__", "importlib.import_module", "import_module"):
                if node.value.args:
                    ok, value = literal_value(node.value.args[0].value)
                    if ok and isinstance(value, str) and value:
                        bound = value if written != "__import__" else value.split(".")[0]
                        self.facts.imports.append(ImportFact(bound, target.value, node, dynamic=True))

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        written = dotted_name(node)
        if written is None:
            return True  # `f().x`: descend into the call
        self.facts.refs.append(RefFact(written, node, self._function()))
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._not_refs or node.value in ("True", "False", "None"):
            return
        self.facts.refs.append(RefFact(node.value, node, self._function()))


# --- per-file context and submission-wide resolution -----------------------------------------------


@dataclass
class CodeFile:
    """A parsed code file with its facts; positions are resolved on first use."""

    source: SourceFile
    module: cst.Module
    facts: FileFacts
    failed_cells: list[ParseFailed] = field(default_factory=list)  # notebook cells left out
    tokens: list | None = None  # the stdlib tokens of `source.text`, when the caller had them
    _positions: object = None

    @property
    def path(self) -> str:
        return self.source.path

    def position(self, node: cst.CSTNode) -> tuple[int, int]:
        """(line, column), 1-based both, like linters print them."""
        if self._positions is None:
            self._positions = NodePositions(self.module, self.source.text)
        start = self._positions.start(node)  # type: ignore[attr-defined]
        if start is None:
            return 0, 0
        return start.line, start.column + 1


def _parse_notebook_cells(source: SourceFile) -> tuple[ParseOk | ParseFailed, list[ParseFailed]]:
    """Parse a notebook whose joined cells fail: blank each cell that fails on its own.

    Learners write prose in code cells and leave half-finished cells behind; one bad cell must
    not hide the rest of the notebook from the rules. Line numbers are kept.
    """
    lines = source.text.split("\n")
    starts = [max(1, n) for n in source.cell_lines] + [len(lines) + 1]
    failed: list[ParseFailed] = []
    for start, end in zip(starts, starts[1:]):
        cell = "\n".join(lines[start - 1 : end - 1])
        result = parse_code(cell)
        if isinstance(result, ParseFailed):
            failed.append(ParseFailed(result.reason, start - 1 + max(result.line, 1), result.col))
            for i in range(start - 1, end - 1):
                lines[i] = ""
        elif result.magics_blanked:
            for i in range(start - 1, end - 1):
                if _MAGIC_LINE.match(lines[i]):
                    lines[i] = ""
    return parse_code("\n".join(lines)), failed


def analyse_file(source: SourceFile, shared: ParsedText | None = None) -> CodeFile | ParseFailed:
    """Parse and gather facts; a notebook keeps its parsable cells (`CodeFile.failed_cells`).
    `shared`: `source.text` parsed already by the caller (`scan --task` parses each file once for
    its fingerprint and the rules: checker.code.tokens.parse_text); used when libCST read it."""
    ok = shared is not None and shared.module is not None
    parsed = ParseOk(shared.module) if ok else parse_code(source.text)  # type: ignore[union-attr]
    failed_cells: list[ParseFailed] = []
    if isinstance(parsed, ParseFailed) and len(source.cell_lines) > 1:
        parsed, failed_cells = _parse_notebook_cells(source)
    if isinstance(parsed, ParseFailed):
        return parsed
    module_name = module_of_path(source.path)
    package = module_name.rsplit(".", 1)[0] if "." in module_name else ""
    if source.path.endswith("__init__.py"):
        package = module_name
    visitor = GatherFactsVisitor(package=package)
    try:
        walk(parsed.module, visitor)
    except RecursionError:
        return ParseFailed("nesting too deep to analyse")
    return CodeFile(source, parsed.module, visitor.facts, failed_cells=failed_cells,
                    tokens=shared.raw if ok else None)  # type: ignore[union-attr]


class SubmissionIndex:
    """Resolves written names to qualified names across one learner's files.

    `resolve(file, "M.resnet18")` -> ("torchvision.models.resnet18",) when the file did
    `from torchvision import models as M`. A name imported from a learner module is followed to
    what that module imported (re-exports), at most `max_hops` times. Unbound bare names resolve
    to themselves; names in a file with star imports also get one candidate per star module.
    """

    def __init__(self, files: Sequence[CodeFile], max_hops: int = 5):
        self.max_hops = max_hops
        self._bindings = {f.path: f.facts.bindings() for f in files}
        self._stars = {f.path: list(f.facts.star_modules) for f in files}
        self._locals = {f.path: f.facts.locals for f in files}
        # learner module name -> paths (several scripts may share a name in different folders)
        self._modules: dict[str, list[str]] = {}
        for f in files:
            name = module_of_path(f.path)
            if name:
                self._modules.setdefault(name, []).append(f.path)

    def _learner_module(self, dotted: str, from_path: str) -> str | None:
        """The path of the learner file a dotted module name refers to, seen from `from_path`.

        Scripts are run from their own folder, so `utils` may mean `task3/utils.py`: a module
        matches when its dotted path ends with the name; the closest folder wins.
        """
        best: tuple[int, str] | None = None
        here = from_path.replace("\\", "/").split("/")[:-1]
        for name, paths in self._modules.items():
            if name == dotted or name.endswith("." + dotted):
                for p in paths:
                    folder = p.split("/")[:-1]
                    common = 0
                    for a, b in zip(here, folder):
                        if a != b:
                            break
                        common += 1
                    score = (common, p)
                    if best is None or score[0] > best[0]:
                        best = score
        return best[1] if best else None

    def follow_reexports(self, qualified: str, from_path: str) -> str:
        seen: set[str] = set()
        for _ in range(self.max_hops):
            if qualified in seen:
                break
            seen.add(qualified)
            parts = qualified.split(".")
            for k in range(len(parts) - 1, 0, -1):
                module_path = self._learner_module(".".join(parts[:k]), from_path)
                if module_path is None:
                    continue
                binding = self._bindings.get(module_path, {}).get(parts[k])
                if binding is None:
                    return qualified
                qualified = ".".join([binding, *parts[k + 1 :]])
                from_path = module_path
                break
            else:
                return qualified
        return qualified

    def _shadowed(self, path: str, head: str, function: str) -> bool:
        """Whether `head` is a local name of `function` (or of a function enclosing it)."""
        if not function:
            return False
        scopes = self._locals.get(path, {})
        parts = function.split(".")
        return any(head in scopes.get(".".join(parts[:i]), ()) for i in range(len(parts), 0, -1))

    def resolve(self, path: str, written: str, function: str = "") -> tuple[str, ...]:
        """Qualified candidates of `written` as used inside `function` ("" = module level)."""
        if not written:
            return ()
        head, _, rest = written.partition(".")
        bindings = self._bindings.get(path, {})
        if head in bindings and not self._shadowed(path, head, function):
            qualified = bindings[head] + ("." + rest if rest else "")
            return (self.follow_reexports(qualified, path),)
        out = [written]
        for star in self._stars.get(path, ()):
            out.append(self.follow_reexports(f"{star}.{written}", path))
        return tuple(out)

    def is_import_bound(self, path: str, written: str, function: str = "") -> bool:
        head = written.partition(".")[0]
        return head in self._bindings.get(path, {}) and not self._shadowed(path, head, function)

    def binding_target(self, path: str, written: str, function: str = "") -> str | None:
        """What the head of `written` was imported as, followed through re-exports."""
        head = written.partition(".")[0]
        if self._shadowed(path, head, function):
            return None
        target = self._bindings.get(path, {}).get(head)
        return None if target is None else self.follow_reexports(target, path)

