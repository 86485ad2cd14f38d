"""The abstract interpreter of the parameter estimate: runs a learner module's `__init__`.

It walks each `nn.Module` subclass's `__init__` (and the learner helpers and classes it calls),
tracking the values of `checker.rules.param_values`, and sizes every torch.nn layer whose shape
arguments it can compute (`checker.rules.param_layers`). Only modules assigned to `self` (or
added with `add_module` / `register_parameter`, or nested in a registered container) count, as
in PyTorch. Learner code is only read, never run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from checker.code.cst_walk import walk
from checker.rules.names import CodeFile, SubmissionIndex, dotted_name, literal_value
from checker.rules.param_definitions import LearnerDefinitions
from checker.rules.param_layers import (
    CONTAINERS,
    SIGNATURES,
    int_product,
    torch_layer_params,
)
from checker.rules.param_values import (
    MAX_LOOP_ITERATIONS,
    BoundMethod,
    ImportedName,
    LearnerDef,
    Mod,
    SelfMethod,
    TensorShape,
    Unknown,
    UnsizedLayer,
    binary_op,
    builtin_call,
    compare_op,
    hashable,
)

# torch functions that make a tensor of a given shape (sized by `nn.Parameter(torch.randn(...))`)
TENSOR_FACTORIES = frozenset(("randn", "rand", "zeros", "ones", "empty", "Tensor", "FloatTensor", "full", "randint"))
MAX_STEPS = 200_000  # statements per model: stops pathological code without a timer
SELF = object()  # the value of `self` inside __init__


@dataclass
class Frame:
    """The state of one function the interpreter runs: its locals and, inside a module class, `self`."""

    file: CodeFile
    env: dict[str, object]
    cls: cst.ClassDef | None = None
    self_attrs: dict[str, object] | None = None
    mod: Mod | None = None  # where `self.x = layer` registers parameters
    returned: object = None


class FunctionReturn(Exception):
    pass


def _label(file: CodeFile, node: cst.CSTNode) -> str:
    text = " ".join(file.module.code_for_node(node).split())
    return text if len(text) <= 70 else text[:69] + "…"


class Estimator:
    """Runs learner `__init__` methods over abstract values; one per submission (module constants cached)."""

    def __init__(self, files: Sequence[CodeFile], index: SubmissionIndex, max_depth: int):
        self.defs = LearnerDefinitions(files, index, max_depth)
        self.index = index
        self.max_depth = max_depth
        self.depth = 0
        self.steps = 0
        self._module_env: dict[str, dict[str, object]] = {}

    # ----- module constants
    def module_env(self, file: CodeFile) -> dict[str, object]:
        """Module-level constants (`HIDDEN = 128`, `CFG = {"dim": 64}`), evaluated in order once."""
        env = self._module_env.get(file.path)
        if env is not None:
            return env
        env = {}
        self._module_env[file.path] = env
        frame = Frame(file, env)
        for stmt in file.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                        if not self._contains_call(small.value):
                            self.assign(small, frame)
        return env

    @staticmethod
    def _contains_call(node: cst.CSTNode) -> bool:
        found = []

        class _Calls(cst.CSTVisitor):
            def visit_Call(self, n: cst.Call) -> bool:
                found.append(n)
                return False

        walk(node, _Calls())
        return bool(found)

    # ----- calls into learner code
    def estimate_class(self, d: LearnerDef, args: list[object], kwargs: dict[str, object]) -> object:
        assert isinstance(d.node, cst.ClassDef)
        if not self.defs.is_module_class(d.file, d.node):
            return Unknown(f"{d.node.name.value} is not an nn.Module")
        if self.depth >= self.max_depth:
            return Mod(unsized=[UnsizedLayer(d.node.name.value, "nested too deep to follow")])
        mod = Mod()
        frame = Frame(d.file, {}, cls=d.node, self_attrs={}, mod=mod)
        self.depth += 1
        try:
            self.run_init(d, frame, args, kwargs)
        finally:
            self.depth -= 1
        return mod

    def run_init(self, d: LearnerDef, frame: Frame, args: list[object], kwargs: dict[str, object]) -> None:
        init = self.defs.method(d, "__init__")
        if init is None:
            return
        assert isinstance(init.node, cst.FunctionDef)
        self.call_function(init, args, kwargs, self_frame=frame)

    def bind(self, fn: cst.FunctionDef, file: CodeFile, args: list[object], kwargs: dict[str, object],
             skip_self: bool) -> dict[str, object]:
        params = [*fn.params.posonly_params, *fn.params.params]
        if skip_self and params:
            params = params[1:]
        env: dict[str, object] = {}
        defaults_frame = Frame(file, self.module_env(file))
        for i, p in enumerate(params):
            name = p.name.value
            if i < len(args):
                env[name] = args[i]
            elif name in kwargs:
                env[name] = kwargs[name]
            elif p.default is not None:
                env[name] = self.eval(p.default, defaults_frame)
            else:
                env[name] = Unknown(f"argument {name} not given")
        for p in fn.params.kwonly_params:
            name = p.name.value
            if name in kwargs:
                env[name] = kwargs[name]
            elif p.default is not None:
                env[name] = self.eval(p.default, defaults_frame)
            else:
                env[name] = Unknown(f"argument {name} not given")
        if isinstance(fn.params.star_arg, cst.Param):
            env[fn.params.star_arg.name.value] = tuple(args[len(params):])
        if fn.params.star_kwarg is not None:
            env[fn.params.star_kwarg.name.value] = {k: v for k, v in kwargs.items() if k not in env}
        return env

    def call_function(self, d: LearnerDef, args: list[object], kwargs: dict[str, object],
                      self_frame: Frame | None = None) -> object:
        assert isinstance(d.node, cst.FunctionDef)
        if self.depth > self.max_depth:
            return Unknown("nested too deep")
        env = self.bind(d.node, d.file, args, kwargs, skip_self=self_frame is not None)
        frame = Frame(d.file, env)
        if self_frame is not None:
            frame.cls, frame.self_attrs, frame.mod = self_frame.cls, self_frame.self_attrs, self_frame.mod
            self_name = [*d.node.params.posonly_params, *d.node.params.params]
            if self_name:
                env[self_name[0].name.value] = SELF
        self.depth += 1
        try:
            self.block(d.node.body, frame)
        except FunctionReturn:
            pass
        finally:
            self.depth -= 1
        return frame.returned

    # ----- statements
    def block(self, body: cst.BaseSuite, frame: Frame) -> None:
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        for stmt in statements:
            self.statement(stmt, frame)

    def statement(self, stmt: cst.CSTNode, frame: Frame) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise FunctionReturn
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    if small.value is not None:
                        self.assign(small, frame)
                elif isinstance(small, cst.AugAssign):
                    self.aug_assign(small, frame)
                elif isinstance(small, cst.Expr):
                    self.eval(small.value, frame)
                elif isinstance(small, cst.Return):
                    frame.returned = self.eval(small.value, frame) if small.value is not None else None
                    raise FunctionReturn
        elif isinstance(stmt, cst.If):
            test = self.eval(stmt.test, frame)
            if isinstance(test, (bool, int, str, tuple, list, type(None))):
                if test:
                    self.block(stmt.body, frame)
                elif isinstance(stmt.orelse, cst.If):
                    self.statement(stmt.orelse, frame)
                elif isinstance(stmt.orelse, cst.Else):
                    self.block(stmt.orelse.body, frame)
            elif frame.mod is not None:
                frame.mod.unsized.append(UnsizedLayer(_label(frame.file, stmt.test), "condition not decidable"))
        elif isinstance(stmt, cst.For):
            iterable = self.eval(stmt.iter, frame)
            if not isinstance(iterable, (list, tuple, dict, str)):
                if frame.mod is not None:
                    frame.mod.unsized.append(UnsizedLayer(_label(frame.file, stmt.iter), "loop count not decidable"))
                return
            for item in list(iterable)[:MAX_LOOP_ITERATIONS]:
                self.bind_target(stmt.target, item, frame)
                self.block(stmt.body, frame)
        elif isinstance(stmt, (cst.With, cst.Try)):
            self.block(stmt.body, frame)

    def bind_target(self, target: cst.BaseExpression, value: object, frame: Frame) -> None:
        if isinstance(target, cst.Name):
            frame.env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            values = value if isinstance(value, (tuple, list)) and len(value) == len(target.elements) else None
            for i, el in enumerate(target.elements):
                self.bind_target(el.value, values[i] if values is not None else Unknown("unpacking"), frame)
        elif isinstance(target, cst.Attribute) and self.is_self(target.value, frame) \
                and frame.self_attrs is not None:
            # (a helper function handed the module, `init_weights(self)`, runs without a class
            # frame: what it sets on `self` is not followed)
            frame.self_attrs[target.attr.value] = value
            self.register(value, frame)

    def assign(self, node: cst.Assign | cst.AnnAssign, frame: Frame) -> None:
        value = self.eval(node.value, frame)
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        for target in targets:
            self.bind_target(target, value, frame)

    def aug_assign(self, node: cst.AugAssign, frame: Frame) -> None:
        current = self.eval(node.target, frame)
        value = self.eval(node.value, frame)
        result = binary_op(type(node.operator).__name__.replace("Assign", ""), current, value)
        self.bind_target(node.target, result, frame)

    def register(self, value: object, frame: Frame) -> None:
        if frame.mod is None:
            return
        if isinstance(value, Mod) and id(value) not in frame.mod.members:
            frame.mod.members[id(value)] = value
            frame.mod.add(value)

    def is_self(self, node: cst.BaseExpression, frame: Frame) -> bool:
        return isinstance(node, cst.Name) and frame.env.get(node.value) is SELF

    # ----- expressions
    def eval(self, node: cst.BaseExpression, frame: Frame) -> object:
        ok, value = literal_value(node)
        if ok:
            return value
        if isinstance(node, cst.Name):
            if node.value in frame.env:
                return frame.env[node.value]
            module_env = self.module_env(frame.file)
            if node.value in module_env:
                return module_env[node.value]
            return self.name_value(node.value, frame)
        if isinstance(node, cst.Attribute):
            if self.is_self(node.value, frame):
                if frame.self_attrs is None:  # `self` handed to a helper function: not followed
                    return Unknown(f"self.{node.attr.value} outside the class")
                if node.attr.value in frame.self_attrs:
                    return frame.self_attrs[node.attr.value]
                return SelfMethod(node.attr.value)
            written = dotted_name(node)
            if written and self.index.is_import_bound(frame.file.path, written):
                return self.name_value(written, frame)
            receiver = self.eval(node.value, frame)
            if isinstance(receiver, (list, dict, Mod)):
                return BoundMethod(receiver, node.attr.value)
            return Unknown(f"attribute {node.attr.value}")
        if isinstance(node, (cst.Tuple, cst.List)):
            items: list[object] = []
            for el in node.elements:
                value = self.eval(el.value, frame)
                if isinstance(el, cst.StarredElement) and isinstance(value, (list, tuple)):
                    items.extend(value)
                else:
                    items.append(value)
            return tuple(items) if isinstance(node, cst.Tuple) else items
        if isinstance(node, cst.Dict):
            out: dict[object, object] = {}
            for el in node.elements:
                if isinstance(el, cst.DictElement):
                    out[hashable(self.eval(el.key, frame))] = self.eval(el.value, frame)
            return out
        if isinstance(node, cst.BinaryOperation):
            return binary_op(type(node.operator).__name__, self.eval(node.left, frame), self.eval(node.right, frame))
        if isinstance(node, cst.UnaryOperation):
            value = self.eval(node.expression, frame)
            if isinstance(node.operator, cst.Not) and not isinstance(value, (Unknown, Mod)):
                return not value
            if isinstance(node.operator, cst.Minus) and isinstance(value, (int, float)):
                return -value
            return Unknown("unary")
        if isinstance(node, cst.BooleanOperation):
            left, right = self.eval(node.left, frame), self.eval(node.right, frame)
            if isinstance(left, (bool, int, type(None))) and isinstance(right, (bool, int, type(None))):
                return (left and right) if isinstance(node.operator, cst.And) else (left or right)
            return Unknown("boolean")
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            left, right = self.eval(node.left, frame), self.eval(node.comparisons[0].comparator, frame)
            return compare_op(type(node.comparisons[0].operator).__name__, left, right)
        if isinstance(node, cst.IfExp):
            test = self.eval(node.test, frame)
            if isinstance(test, (bool, int, str, type(None))):
                return self.eval(node.body if test else node.orelse, frame)
            return Unknown("conditional expression")
        if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            container = self.eval(node.value, frame)
            index = self.eval(node.slice[0].slice.value, frame)
            try:
                if isinstance(container, (list, tuple)) and isinstance(index, int):
                    return container[index]
                if isinstance(container, dict):
                    return container.get(hashable(index), Unknown("key"))
            except (IndexError, TypeError):
                pass
            return Unknown("subscript")
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            return self.comprehension(node, frame)
        if isinstance(node, cst.Call):
            return self.call(node, frame)
        return Unknown(type(node).__name__)

    def name_value(self, written: str, frame: Frame) -> object:
        d = self.defs.find_def(frame.file, written)
        if d is not None:
            return d
        if self.index.is_import_bound(frame.file.path, written):
            return ImportedName(self.index.resolve(frame.file.path, written)[0])
        if written in ("range", "len", "int", "float", "max", "min", "sum", "abs", "list", "tuple", "round"):
            return ImportedName("builtins." + written)
        return Unknown(f"name {written}")

    def comprehension(self, node: cst.ListComp | cst.GeneratorExp, frame: Frame) -> object:
        comp = node.for_in
        if comp.inner_for_in is not None:
            return Unknown("nested comprehension")
        iterable = self.eval(comp.iter, frame)
        if not isinstance(iterable, (list, tuple, dict, str)):
            return Unknown("comprehension over an undecidable iterable")
        inner = Frame(frame.file, dict(frame.env), frame.cls, frame.self_attrs, None)
        out: list[object] = []
        for item in list(iterable)[:MAX_LOOP_ITERATIONS]:
            self.bind_target(comp.target, item, inner)
            keep = True
            for cond in comp.ifs:
                test = self.eval(cond.test, inner)
                if not isinstance(test, (bool, int, type(None), str)):
                    return Unknown("comprehension filter")
                keep = keep and bool(test)
            if keep:
                out.append(self.eval(node.elt, inner))
        return out

    def call_args(self, node: cst.Call, frame: Frame) -> tuple[list[object], dict[str, object]]:
        args: list[object] = []
        kwargs: dict[str, object] = {}
        for arg in node.args:
            value = self.eval(arg.value, frame)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            elif arg.star == "*" and isinstance(value, (list, tuple)):
                args.extend(value)
            elif arg.star == "**" and isinstance(value, dict):
                kwargs.update({str(k): v for k, v in value.items()})
            elif arg.star:
                args.append(Unknown("starred argument"))
            else:
                args.append(value)
        return args, kwargs

    def call(self, node: cst.Call, frame: Frame) -> object:
        # `super().__init__(...)`: run the learner base class's __init__ on the same self
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "__init__":
            if isinstance(node.func.value, cst.Call) and dotted_name(node.func.value.func) == "super":
                self.super_init(node, frame)
            return None
        callee = self.eval(node.func, frame)
        args, kwargs = self.call_args(node, frame)
        if isinstance(callee, LearnerDef):
            if isinstance(callee.node, cst.ClassDef):
                return self.estimate_class(callee, args, kwargs)
            return self.call_function(callee, args, kwargs)
        if isinstance(callee, SelfMethod):
            return self.self_method(callee.name, args, kwargs, frame)
        if isinstance(callee, BoundMethod):
            return self.bound_method(callee, args, frame)
        if isinstance(callee, ImportedName):
            return self.torch_call(callee.qualified, node, args, kwargs, frame)
        return Unknown("call")

    def super_init(self, node: cst.Call, frame: Frame) -> None:
        if frame.cls is None:
            return
        args, kwargs = self.call_args(node, frame)
        for base in frame.cls.bases:
            written = dotted_name(base.value)
            found = self.defs.find_def(frame.file, written) if written else None
            if found is not None and isinstance(found.node, cst.ClassDef):
                init = self.defs.method(found, "__init__")
                if init is not None:
                    self.call_function(init, args, kwargs, self_frame=frame)
                return

    def self_method(self, name: str, args: list[object], kwargs: dict[str, object], frame: Frame) -> object:
        if name in ("add_module", "register_module") and len(args) >= 2:
            self.register(args[1], frame)
            return None
        if name == "register_parameter" and len(args) >= 2:
            self.register(args[1], frame)
            return None
        if frame.cls is None:
            return Unknown("method")
        found = self.defs.method(LearnerDef(frame.file, frame.cls), name)
        if found is None:
            return Unknown(f"method {name}")
        return self.call_function(found, args, kwargs, self_frame=frame)

    def bound_method(self, bound: BoundMethod, args: list[object], frame: Frame) -> object:
        receiver, name = bound.receiver, bound.name
        if isinstance(receiver, list) and name == "append" and len(args) == 1:
            receiver.append(args[0])
        elif isinstance(receiver, list) and name == "extend" and len(args) == 1 and isinstance(args[0], (list, tuple)):
            receiver.extend(args[0])
        elif isinstance(receiver, Mod) and name in ("append", "add_module", "extend", "insert"):
            # a registered container (ModuleList/Sequential): the new module joins it, and so the model
            for value in args:
                items = value if isinstance(value, (list, tuple)) else [value]
                for item in items:
                    if isinstance(item, Mod):
                        receiver.add(item)
                        if frame.mod is not None and id(receiver) in frame.mod.members:
                            frame.mod.add(item)
        elif isinstance(receiver, dict) and name == "get" and args:
            return receiver.get(hashable(args[0]), args[1] if len(args) > 1 else None)
        return None

    def torch_call(self, qualified: str, node: cst.Call, args: list[object], kwargs: dict[str, object],
                   frame: Frame) -> object:
        if qualified.startswith("builtins."):
            return builtin_call(qualified[9:], args)
        name = qualified.rsplit(".", 1)[-1]
        if qualified.startswith("torch.nn.init."):
            return args[0] if args else Unknown("init")  # in-place initialisers return their tensor
        if qualified.startswith("torch.nn.") and name[:1].isupper():
            if name in CONTAINERS:
                return self.container(args)
            if name == "Parameter":
                tensor = args[0] if args else kwargs.get("data")
                if isinstance(tensor, TensorShape):
                    return Mod(params=tensor.numel, layers=1)
                return Mod(unsized=[UnsizedLayer(_label(frame.file, node), "tensor shape not decidable")])
            if name in ("TransformerEncoder", "TransformerDecoder"):
                return self.stacked(node, args, kwargs, frame)
            count = torch_layer_params(name, args, kwargs)
            if count is None:
                reason = "shape not decidable" if name in SIGNATURES else f"no formula for nn.{name}"
                return Mod(unsized=[UnsizedLayer(_label(frame.file, node), reason)])
            return Mod(params=count, layers=1 if count else 0)
        if qualified.startswith("torch.") and name in TENSOR_FACTORIES:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            if name in ("full", "randint"):
                shape = kwargs.get("size", args[1] if name == "full" and len(args) > 1 else Unknown("shape"))
            numel = int_product(list(shape)) if isinstance(shape, (list, tuple)) else None
            return TensorShape(numel) if numel is not None else Unknown("tensor shape")
        if qualified in ("collections.OrderedDict",) and args and isinstance(args[0], (list, tuple)):
            pairs = [p for p in args[0] if isinstance(p, (list, tuple)) and len(p) == 2]
            return {hashable(k): v for k, v in pairs}
        return Unknown(qualified)

    @staticmethod
    def container(args: list[object]) -> Mod:
        mod = Mod()
        items: list[object] = []
        for a in args:
            if isinstance(a, dict):
                items.extend(a.values())
            elif isinstance(a, (list, tuple)):
                items.extend(a)
            else:
                items.append(a)
        for item in items:
            if isinstance(item, Mod):
                mod.add(item)
        return mod

    def stacked(self, node: cst.Call, args: list[object], kwargs: dict[str, object], frame: Frame) -> Mod:
        layer = args[0] if args else kwargs.get("encoder_layer", kwargs.get("decoder_layer"))
        count = args[1] if len(args) > 1 else kwargs.get("num_layers")
        norm = args[2] if len(args) > 2 else kwargs.get("norm")
        if not isinstance(layer, Mod) or not isinstance(count, int):
            return Mod(unsized=[UnsizedLayer(_label(frame.file, node), "layer or count not decidable")])
        mod = Mod()
        mod.add(layer, times=count)
        if isinstance(norm, Mod):
            mod.add(norm)
        return mod

