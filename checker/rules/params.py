"""Parameter counts: a static estimate from layer constructors.

Static estimate. A small abstract interpreter walks each `nn.Module` subclass's `__init__` (and
the learner helpers and classes it calls), tracking numbers, tuples and lists, and sizes every
torch.nn layer whose shape arguments it can compute: literals, module constants, parameter
defaults, arguments of a literal instantiation (`Net(num_classes=10)`), `self.x` attributes,
`for i in range(4)` loops and comprehensions. Only modules assigned to `self` (or added with
`add_module` / `register_parameter`, or nested in a registered container) count, as in PyTorch.
A layer it cannot size is listed in `unsized` and left out, so `params` is a lower bound.
Learner code is only read, never run.

The exact count of a checkpoint file is `checker.sandbox.checkpoint_count` (the one counter,
shared with the retrain stage's sandbox).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from checker import defaults
from checker.rules.names import (
    CodeFile,
    SubmissionIndex,
    dotted_name,
    literal_value,
    module_of_path,
)

# --- layer formulas (PyTorch 2.x constructor signatures and defaults) -------------------------------

# Positional parameter names of each torch.nn constructor the estimator can size.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features", "bias"),
    "Bilinear": ("in1_features", "in2_features", "out_features", "bias"),
    "Conv1d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"),
    "Conv3d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"),
    "ConvTranspose1d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation"),
    "ConvTranspose2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation"),
    "ConvTranspose3d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation"),
    "BatchNorm1d": ("num_features", "eps", "momentum", "affine"),
    "BatchNorm2d": ("num_features", "eps", "momentum", "affine"),
    "BatchNorm3d": ("num_features", "eps", "momentum", "affine"),
    "SyncBatchNorm": ("num_features", "eps", "momentum", "affine"),
    "InstanceNorm1d": ("num_features", "eps", "momentum", "affine"),
    "InstanceNorm2d": ("num_features", "eps", "momentum", "affine"),
    "InstanceNorm3d": ("num_features", "eps", "momentum", "affine"),
    "LayerNorm": ("normalized_shape", "eps", "elementwise_affine", "bias"),
    "GroupNorm": ("num_groups", "num_channels", "eps", "affine"),
    "Embedding": ("num_embeddings", "embedding_dim"),
    "EmbeddingBag": ("num_embeddings", "embedding_dim"),
    "RNN": ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout", "bidirectional"),
    "LSTM": ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size"),
    "GRU": ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"),
    "RNNCell": ("input_size", "hidden_size", "bias"),
    "LSTMCell": ("input_size", "hidden_size", "bias"),
    "GRUCell": ("input_size", "hidden_size", "bias"),
    "MultiheadAttention": ("embed_dim", "num_heads", "dropout", "bias", "add_bias_kv", "add_zero_attn", "kdim", "vdim"),
    "TransformerEncoderLayer": ("d_model", "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps", "batch_first", "norm_first", "bias"),
    "TransformerDecoderLayer": ("d_model", "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps", "batch_first", "norm_first", "bias"),
    "PReLU": ("num_parameters",),
}

# torch.nn modules without parameters: sized as 0, not "unsized".
PARAMETER_FREE = frozenset(
    "ReLU ReLU6 LeakyReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Softmax LogSoftmax Softmax2d "
    "Softplus Softsign Hardtanh Hardswish Hardsigmoid Tanhshrink Threshold GLU Identity Flatten "
    "Unflatten Dropout Dropout1d Dropout2d Dropout3d AlphaDropout MaxPool1d MaxPool2d MaxPool3d "
    "AvgPool1d AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d "
    "AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d LPPool1d LPPool2d Upsample "
    "UpsamplingNearest2d UpsamplingBilinear2d PixelShuffle PixelUnshuffle ZeroPad2d ConstantPad1d "
    "ConstantPad2d ReflectionPad1d ReflectionPad2d ReplicationPad2d ChannelShuffle LocalResponseNorm "
    "CrossEntropyLoss MSELoss L1Loss NLLLoss BCELoss BCEWithLogitsLoss SmoothL1Loss HuberLoss "
    "KLDivLoss CosineSimilarity PairwiseDistance Fold Unfold".split()
)

_TENSOR_FACTORIES = frozenset(("randn", "rand", "zeros", "ones", "empty", "Tensor", "FloatTensor", "full", "randint"))
_CONTAINERS = frozenset(("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"))
MODULE_BASES = (
    "torch.nn.Module", "torch.nn.modules.module.Module", "torch.nn.Sequential", "torch.nn.ModuleList",
    "pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule",
)


def _prod(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return math.prod(value)
    return None


def _kernel(value: object, dims: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value**dims
    return _prod(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _flag(value: object, default: bool) -> bool | None:
    if value is _MISSING:
        return default
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return None


_MISSING = object()


def _rnn(a: Mapping[str, object], gates: int) -> int | None:
    inp, hid = _int(a.get("input_size")), _int(a.get("hidden_size"))
    layers = a.get("num_layers", _MISSING)
    layers = 1 if layers is _MISSING else _int(layers)
    bias, bidir = _flag(a.get("bias", _MISSING), True), _flag(a.get("bidirectional", _MISSING), False)
    proj = a.get("proj_size", _MISSING)
    proj = 0 if proj is _MISSING else _int(proj)
    if None in (inp, hid, layers, bias, bidir, proj):
        return None
    dirs = 2 if bidir else 1
    out_size = proj or hid
    total = 0
    for layer in range(layers):
        layer_in = inp if layer == 0 else out_size * dirs
        per_dir = gates * hid * layer_in + gates * hid * out_size + (2 * gates * hid if bias else 0)
        if proj:
            per_dir += hid * proj
        total += per_dir * dirs
    return total


def _mha(a: Mapping[str, object]) -> int | None:
    e = _int(a.get("embed_dim"))
    bias = _flag(a.get("bias", _MISSING), True)
    kv = _flag(a.get("add_bias_kv", _MISSING), False)
    kdim = a.get("kdim", _MISSING)
    vdim = a.get("vdim", _MISSING)
    kdim = e if kdim in (_MISSING, None) else _int(kdim)
    vdim = e if vdim in (_MISSING, None) else _int(vdim)
    if None in (e, bias, kv, kdim, vdim):
        return None
    return e * e + e * kdim + e * vdim + (3 * e if bias else 0) + e * e + (e if bias else 0) + (2 * e if kv else 0)


def _transformer_layer(a: Mapping[str, object], attentions: int, norms: int) -> int | None:
    d = _int(a.get("d_model"))
    ff = a.get("dim_feedforward", _MISSING)
    ff = 2048 if ff is _MISSING else _int(ff)
    bias = _flag(a.get("bias", _MISSING), True)
    if None in (d, ff, bias):
        return None
    mha = _mha({"embed_dim": d, "bias": bias})
    b = 1 if bias else 0
    return attentions * mha + (d * ff + ff * b) + (ff * d + d * b) + norms * d * (1 + b)


def _conv(a: Mapping[str, object], dims: int, transposed: bool) -> int | None:
    cin, cout = _int(a.get("in_channels")), _int(a.get("out_channels"))
    k = _kernel(a.get("kernel_size"), dims)
    groups = a.get("groups", _MISSING)
    groups = 1 if groups is _MISSING else _int(groups)
    bias = _flag(a.get("bias", _MISSING), True)
    if None in (cin, cout, k, groups, bias) or groups == 0:
        return None
    weight = cin * (cout // groups) * k if transposed else cout * (cin // groups) * k
    return weight + (cout if bias else 0)


def _norm(a: Mapping[str, object], default_affine: bool) -> int | None:
    n = _int(a.get("num_features"))
    affine = _flag(a.get("affine", _MISSING), default_affine)
    if n is None or affine is None:
        return None
    return 2 * n if affine else 0


def _layer_norm(a: Mapping[str, object]) -> int | None:
    n = _prod(a.get("normalized_shape"))
    affine = _flag(a.get("elementwise_affine", _MISSING), True)
    bias = _flag(a.get("bias", _MISSING), True)
    if None in (n, affine, bias):
        return None
    return n * (1 + (1 if bias else 0)) if affine else 0


def _linear(a: Mapping[str, object]) -> int | None:
    i, o = _int(a.get("in_features")), _int(a.get("out_features"))
    bias = _flag(a.get("bias", _MISSING), True)
    if None in (i, o, bias):
        return None
    return i * o + (o if bias else 0)


def _bilinear(a: Mapping[str, object]) -> int | None:
    i1, i2, o = _int(a.get("in1_features")), _int(a.get("in2_features")), _int(a.get("out_features"))
    bias = _flag(a.get("bias", _MISSING), True)
    if None in (i1, i2, o, bias):
        return None
    return i1 * i2 * o + (o if bias else 0)


def _embedding(a: Mapping[str, object]) -> int | None:
    n, d = _int(a.get("num_embeddings")), _int(a.get("embedding_dim"))
    return None if None in (n, d) else n * d


def _group_norm(a: Mapping[str, object]) -> int | None:
    c = _int(a.get("num_channels"))
    affine = _flag(a.get("affine", _MISSING), True)
    return None if c is None or affine is None else (2 * c if affine else 0)


def _cell(a: Mapping[str, object], gates: int) -> int | None:
    i, h = _int(a.get("input_size")), _int(a.get("hidden_size"))
    bias = _flag(a.get("bias", _MISSING), True)
    if None in (i, h, bias):
        return None
    return gates * h * (i + h) + (2 * gates * h if bias else 0)


def _prelu(a: Mapping[str, object]) -> int | None:
    n = a.get("num_parameters", _MISSING)
    return 1 if n is _MISSING else _int(n)


_FORMULAS: dict[str, Callable[[Mapping[str, object]], int | None]] = {
    "Linear": _linear,
    "Bilinear": _bilinear,
    "Conv1d": lambda a: _conv(a, 1, False),
    "Conv2d": lambda a: _conv(a, 2, False),
    "Conv3d": lambda a: _conv(a, 3, False),
    "ConvTranspose1d": lambda a: _conv(a, 1, True),
    "ConvTranspose2d": lambda a: _conv(a, 2, True),
    "ConvTranspose3d": lambda a: _conv(a, 3, True),
    "BatchNorm1d": lambda a: _norm(a, True),
    "BatchNorm2d": lambda a: _norm(a, True),
    "BatchNorm3d": lambda a: _norm(a, True),
    "SyncBatchNorm": lambda a: _norm(a, True),
    "InstanceNorm1d": lambda a: _norm(a, False),
    "InstanceNorm2d": lambda a: _norm(a, False),
    "InstanceNorm3d": lambda a: _norm(a, False),
    "LayerNorm": _layer_norm,
    "GroupNorm": _group_norm,
    "Embedding": _embedding,
    "EmbeddingBag": _embedding,
    "RNN": lambda a: _rnn(a, 1),
    "LSTM": lambda a: _rnn(a, 4),
    "GRU": lambda a: _rnn(a, 3),
    "RNNCell": lambda a: _cell(a, 1),
    "LSTMCell": lambda a: _cell(a, 4),
    "GRUCell": lambda a: _cell(a, 3),
    "MultiheadAttention": _mha,
    "TransformerEncoderLayer": lambda a: _transformer_layer(a, 1, 2),
    "TransformerDecoderLayer": lambda a: _transformer_layer(a, 2, 3),
    "PReLU": _prelu,
}


def torch_layer_params(layer: str, args: Sequence[object] = (), kwargs: Mapping[str, object] | None = None) -> int | None:
    """Parameters of `torch.nn.<layer>(*args, **kwargs)`; None when unknown or not computable.

    >>> torch_layer_params("Linear", (512, 10))
    5130
    """
    if layer in PARAMETER_FREE or layer in _CONTAINERS:
        return 0
    signature = _SIGNATURES.get(layer)
    formula = _FORMULAS.get(layer)
    if signature is None or formula is None or len(args) > len(signature):
        return None
    bound: dict[str, object] = dict(zip(signature, args))
    for key, value in (kwargs or {}).items():
        bound[key] = value
    try:
        return formula(bound)
    except (TypeError, ValueError, OverflowError):
        return None


# --- estimate values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnsizedLayer:
    label: str  # the constructor as written, shortened
    reason: str


@dataclass
class Mod:
    """The parameters of an nn.Module value (a layer, a container, a learner block)."""

    params: int = 0
    layers: int = 0
    unsized: list[UnsizedLayer] = field(default_factory=list)
    # the values registered on this model (`self.x = ...`) by id: appending to a registered
    # ModuleList adds to the model, appending to a local one does not (yet). The values are kept,
    # not only their ids: an id outlives a freed object and comes back on a new one, which made
    # estimates depend on what ran before in the same process.
    members: dict[int, object] = field(default_factory=dict, repr=False)

    def add(self, other: Mod, times: int = 1) -> None:
        self.params += other.params * times
        self.layers += other.layers * times
        self.unsized.extend(other.unsized)


@dataclass(frozen=True)
class TensorShape:
    numel: int


@dataclass(frozen=True)
class Unknown:
    reason: str


@dataclass(frozen=True)
class _TorchName:
    qualified: str


@dataclass(frozen=True)
class _Def:
    file: CodeFile
    node: cst.ClassDef | cst.FunctionDef


@dataclass(frozen=True)
class _SelfMethod:
    name: str


@dataclass(frozen=True)
class _Bound:
    """A method looked up on a value: `layers.append`."""

    receiver: object
    name: str


@dataclass(frozen=True)
class ModelEstimate:
    """One model's static parameter count. `params` is a lower bound when `unsized` is not empty."""

    name: str
    path: str
    params: int
    layers: int
    unsized: tuple[UnsizedLayer, ...]
    file: CodeFile = field(repr=False, compare=False)
    node: cst.CSTNode = field(repr=False, compare=False)

    @property
    def complete(self) -> bool:
        return not self.unsized


# --- the interpreter ---------------------------------------------------------------------------------


@dataclass
class _Frame:
    file: CodeFile
    env: dict[str, object]
    cls: cst.ClassDef | None = None
    self_attrs: dict[str, object] | None = None
    mod: Mod | None = None  # where `self.x = layer` registers parameters
    returned: object = None
    done: bool = False


class _Return(Exception):
    pass


_MAX_LOOP_ITERATIONS = 10_000  # a loop over range(10**6) in __init__ is not building layers
_MAX_STEPS = 200_000  # statements per model: stops pathological code without a timer


def _label(file: CodeFile, node: cst.CSTNode) -> str:
    text = " ".join(file.module.code_for_node(node).split())
    return text if len(text) <= 70 else text[:69] + "…"


class _Estimator:
    def __init__(self, files: Sequence[CodeFile], index: SubmissionIndex, max_depth: int):
        self.files = {f.path: f for f in files}
        self.index = index
        self.max_depth = max_depth
        self.depth = 0
        self.steps = 0
        self._module_env: dict[str, dict[str, object]] = {}
        self._top: dict[str, dict[str, cst.ClassDef | cst.FunctionDef]] = {
            f.path: {s.name.value: s for s in f.module.body if isinstance(s, (cst.ClassDef, cst.FunctionDef))}
            for f in files
        }
        self._module_paths: dict[str, list[str]] = {}
        for f in files:
            name = module_of_path(f.path)
            if name:
                self._module_paths.setdefault(name, []).append(f.path)

    # ----- definitions and module constants
    def find_def(self, file: CodeFile, written: str) -> _Def | None:
        """The learner class/function a written name refers to, in this file or another."""
        if "." not in written and written in self._top.get(file.path, {}):
            return _Def(file, self._top[file.path][written])
        if not self.index.is_import_bound(file.path, written):
            return None
        qualified = self.index.resolve(file.path, written)[0]
        module, _, name = qualified.rpartition(".")
        for mod_name, paths in self._module_paths.items():
            if module and (mod_name == module or mod_name.endswith("." + module)):
                for p in paths:
                    node = self._top.get(p, {}).get(name)
                    if node is not None:
                        return _Def(self.files[p], node)
        return None

    def module_env(self, file: CodeFile) -> dict[str, object]:
        """Module-level constants (`HIDDEN = 128`, `CFG = {"dim": 64}`), evaluated in order once."""
        env = self._module_env.get(file.path)
        if env is not None:
            return env
        env = {}
        self._module_env[file.path] = env
        frame = _Frame(file, env)
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

        node.visit(_Calls())
        return bool(found)

    def is_module_class(self, file: CodeFile, node: cst.ClassDef, depth: int = 0) -> bool:
        if depth > self.max_depth:
            return False
        for base in node.bases:
            written = dotted_name(base.value)
            if not written:
                continue
            if self.index.is_import_bound(file.path, written):
                qualified = self.index.resolve(file.path, written)[0]
                if qualified in MODULE_BASES:
                    return True
            found = self.find_def(file, written)
            if found is not None and isinstance(found.node, cst.ClassDef) and found.node is not node:
                if self.is_module_class(found.file, found.node, depth + 1):
                    return True
        return False

    # ----- calls into learner code
    def estimate_class(self, d: _Def, args: list[object], kwargs: dict[str, object]) -> object:
        assert isinstance(d.node, cst.ClassDef)
        if not self.is_module_class(d.file, d.node):
            return Unknown(f"{d.node.name.value} is not an nn.Module")
        if self.depth >= self.max_depth:
            return Mod(unsized=[UnsizedLayer(d.node.name.value, "nested too deep to follow")])
        mod = Mod()
        frame = _Frame(d.file, {}, cls=d.node, self_attrs={}, mod=mod)
        self.depth += 1
        try:
            self.run_init(d, frame, args, kwargs)
        finally:
            self.depth -= 1
        return mod

    def _method(self, d: _Def, name: str) -> _Def | None:
        """A method of a learner class, looked up through learner base classes."""
        assert isinstance(d.node, cst.ClassDef)
        for stmt in d.node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
                return _Def(d.file, stmt)
        for base in d.node.bases:
            written = dotted_name(base.value)
            found = self.find_def(d.file, written) if written else None
            if found is not None and isinstance(found.node, cst.ClassDef) and found.node is not d.node:
                method = self._method(found, name)
                if method is not None:
                    return method
        return None

    def run_init(self, d: _Def, frame: _Frame, args: list[object], kwargs: dict[str, object]) -> None:
        init = self._method(d, "__init__")
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
        defaults_frame = _Frame(file, self.module_env(file))
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

    def call_function(self, d: _Def, args: list[object], kwargs: dict[str, object],
                      self_frame: _Frame | None = None) -> object:
        assert isinstance(d.node, cst.FunctionDef)
        if self.depth > self.max_depth:
            return Unknown("nested too deep")
        env = self.bind(d.node, d.file, args, kwargs, skip_self=self_frame is not None)
        frame = _Frame(d.file, env)
        if self_frame is not None:
            frame.cls, frame.self_attrs, frame.mod = self_frame.cls, self_frame.self_attrs, self_frame.mod
            self_name = [*d.node.params.posonly_params, *d.node.params.params]
            if self_name:
                env[self_name[0].name.value] = _SELF
        self.depth += 1
        try:
            self.block(d.node.body, frame)
        except _Return:
            pass
        finally:
            self.depth -= 1
        return frame.returned

    # ----- statements
    def block(self, body: cst.BaseSuite, frame: _Frame) -> None:
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        for stmt in statements:
            self.statement(stmt, frame)

    def statement(self, stmt: cst.CSTNode, frame: _Frame) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise _Return
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
                    raise _Return
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
            for item in list(iterable)[:_MAX_LOOP_ITERATIONS]:
                self.bind_target(stmt.target, item, frame)
                self.block(stmt.body, frame)
        elif isinstance(stmt, (cst.With, cst.Try)):
            self.block(stmt.body, frame)

    def bind_target(self, target: cst.BaseExpression, value: object, frame: _Frame) -> None:
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

    def assign(self, node: cst.Assign | cst.AnnAssign, frame: _Frame) -> None:
        value = self.eval(node.value, frame)
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        for target in targets:
            self.bind_target(target, value, frame)

    def aug_assign(self, node: cst.AugAssign, frame: _Frame) -> None:
        current = self.eval(node.target, frame)
        value = self.eval(node.value, frame)
        result = self.binary(type(node.operator).__name__.replace("Assign", ""), current, value)
        self.bind_target(node.target, result, frame)

    def register(self, value: object, frame: _Frame) -> None:
        if frame.mod is None:
            return
        if isinstance(value, Mod) and id(value) not in frame.mod.members:
            frame.mod.members[id(value)] = value
            frame.mod.add(value)

    def is_self(self, node: cst.BaseExpression, frame: _Frame) -> bool:
        return isinstance(node, cst.Name) and frame.env.get(node.value) is _SELF

    # ----- expressions
    def eval(self, node: cst.BaseExpression, frame: _Frame) -> object:
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
                return _SelfMethod(node.attr.value)
            written = dotted_name(node)
            if written and self.index.is_import_bound(frame.file.path, written):
                return self.name_value(written, frame)
            receiver = self.eval(node.value, frame)
            if isinstance(receiver, (list, dict, Mod)):
                return _Bound(receiver, node.attr.value)
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
                    out[self._hashable(self.eval(el.key, frame))] = self.eval(el.value, frame)
            return out
        if isinstance(node, cst.BinaryOperation):
            return self.binary(type(node.operator).__name__, self.eval(node.left, frame), self.eval(node.right, frame))
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
            return self.compare(type(node.comparisons[0].operator).__name__, left, right)
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
                    return container.get(self._hashable(index), Unknown("key"))
            except (IndexError, TypeError):
                pass
            return Unknown("subscript")
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            return self.comprehension(node, frame)
        if isinstance(node, cst.Call):
            return self.call(node, frame)
        return Unknown(type(node).__name__)

    @staticmethod
    def _hashable(value: object) -> object:
        try:
            hash(value)
            return value
        except TypeError:
            return repr(value)

    def name_value(self, written: str, frame: _Frame) -> object:
        d = self.find_def(frame.file, written)
        if d is not None:
            return d
        if self.index.is_import_bound(frame.file.path, written):
            return _TorchName(self.index.resolve(frame.file.path, written)[0])
        if written in ("range", "len", "int", "float", "max", "min", "sum", "abs", "list", "tuple", "round"):
            return _TorchName("builtins." + written)
        return Unknown(f"name {written}")

    @staticmethod
    def binary(op: str, a: object, b: object) -> object:
        numbers = (int, float)
        if isinstance(a, bool) or isinstance(b, bool):
            return Unknown("bool arithmetic")
        try:
            if isinstance(a, numbers) and isinstance(b, numbers):
                return {
                    "Add": lambda: a + b, "Subtract": lambda: a - b, "Multiply": lambda: a * b,
                    "FloorDivide": lambda: a // b, "Divide": lambda: a / b, "Modulo": lambda: a % b,
                    "Power": lambda: a**b if abs(b) <= 64 else Unknown("power"),
                }.get(op, lambda: Unknown(op))()
            if op == "Add" and isinstance(a, (list, tuple)) and type(a) is type(b):
                return a + b  # type: ignore[operator]
            if op == "Multiply" and isinstance(a, (list, tuple)) and isinstance(b, int) and 0 <= b <= _MAX_LOOP_ITERATIONS:
                return a * b
        except (ZeroDivisionError, OverflowError):
            pass
        return Unknown(op)

    @staticmethod
    def compare(op: str, a: object, b: object) -> object:
        if isinstance(a, (Unknown, Mod, _Def)) or isinstance(b, (Unknown, Mod, _Def)):
            return Unknown("comparison")
        try:
            return {
                "Equal": lambda: a == b, "NotEqual": lambda: a != b, "LessThan": lambda: a < b,
                "GreaterThan": lambda: a > b, "LessThanEqual": lambda: a <= b,
                "GreaterThanEqual": lambda: a >= b, "Is": lambda: a is b, "IsNot": lambda: a is not b,
                "In": lambda: a in b, "NotIn": lambda: a not in b,
            }.get(op, lambda: Unknown(op))()
        except TypeError:
            return Unknown("comparison")

    def comprehension(self, node: cst.ListComp | cst.GeneratorExp, frame: _Frame) -> object:
        comp = node.for_in
        if comp.inner_for_in is not None:
            return Unknown("nested comprehension")
        iterable = self.eval(comp.iter, frame)
        if not isinstance(iterable, (list, tuple, dict, str)):
            return Unknown("comprehension over an undecidable iterable")
        inner = _Frame(frame.file, dict(frame.env), frame.cls, frame.self_attrs, None)
        out: list[object] = []
        for item in list(iterable)[:_MAX_LOOP_ITERATIONS]:
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

    def _args(self, node: cst.Call, frame: _Frame) -> tuple[list[object], dict[str, object]]:
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

    def call(self, node: cst.Call, frame: _Frame) -> object:
        # `super().__init__(...)`: run the learner base class's __init__ on the same self
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "__init__":
            if isinstance(node.func.value, cst.Call) and dotted_name(node.func.value.func) == "super":
                self.super_init(node, frame)
            return None
        callee = self.eval(node.func, frame)
        args, kwargs = self._args(node, frame)
        if isinstance(callee, _Def):
            if isinstance(callee.node, cst.ClassDef):
                return self.estimate_class(callee, args, kwargs)
            return self.call_function(callee, args, kwargs)
        if isinstance(callee, _SelfMethod):
            return self.self_method(callee.name, node, args, kwargs, frame)
        if isinstance(callee, _Bound):
            return self.bound_method(callee, args, kwargs, frame)
        if isinstance(callee, _TorchName):
            return self.torch_call(callee.qualified, node, args, kwargs, frame)
        return Unknown("call")

    def super_init(self, node: cst.Call, frame: _Frame) -> None:
        if frame.cls is None:
            return
        args, kwargs = self._args(node, frame)
        for base in frame.cls.bases:
            written = dotted_name(base.value)
            found = self.find_def(frame.file, written) if written else None
            if found is not None and isinstance(found.node, cst.ClassDef):
                init = self._method(found, "__init__")
                if init is not None:
                    self.call_function(init, args, kwargs, self_frame=frame)
                return

    def self_method(self, name: str, node: cst.Call, args: list[object], kwargs: dict[str, object],
                    frame: _Frame) -> object:
        if name in ("add_module", "register_module") and len(args) >= 2:
            self.register(args[1], frame)
            return None
        if name == "register_parameter" and len(args) >= 2:
            self.register(args[1], frame)
            return None
        if frame.cls is None:
            return Unknown("method")
        found = self._method(_Def(frame.file, frame.cls), name)
        if found is None:
            return Unknown(f"method {name}")
        return self.call_function(found, args, kwargs, self_frame=frame)

    def bound_method(self, bound: _Bound, args: list[object], kwargs: dict[str, object], frame: _Frame) -> object:
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
            return receiver.get(self._hashable(args[0]), args[1] if len(args) > 1 else None)
        return None

    def torch_call(self, qualified: str, node: cst.Call, args: list[object], kwargs: dict[str, object],
                   frame: _Frame) -> object:
        if qualified.startswith("builtins."):
            return self.builtin(qualified[9:], args)
        name = qualified.rsplit(".", 1)[-1]
        if qualified.startswith("torch.nn.init."):
            return args[0] if args else Unknown("init")  # in-place initialisers return their tensor
        if qualified.startswith("torch.nn.") and name[:1].isupper():
            if name in _CONTAINERS or name == "Sequential":
                return self.container(args, kwargs)
            if name == "Parameter":
                tensor = args[0] if args else kwargs.get("data")
                if isinstance(tensor, TensorShape):
                    return Mod(params=tensor.numel, layers=1)
                return Mod(unsized=[UnsizedLayer(_label(frame.file, node), "tensor shape not decidable")])
            if name in ("TransformerEncoder", "TransformerDecoder"):
                return self.stacked(node, args, kwargs, frame)
            count = torch_layer_params(name, args, kwargs)
            if count is None:
                reason = "shape not decidable" if name in _SIGNATURES else f"no formula for nn.{name}"
                return Mod(unsized=[UnsizedLayer(_label(frame.file, node), reason)])
            return Mod(params=count, layers=1 if count else 0)
        if qualified.startswith("torch.") and name in _TENSOR_FACTORIES:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            if name in ("full", "randint"):
                shape = kwargs.get("size", args[1] if name == "full" and len(args) > 1 else Unknown("shape"))
            numel = _prod(list(shape)) if isinstance(shape, (list, tuple)) else None
            return TensorShape(numel) if numel is not None else Unknown("tensor shape")
        if qualified in ("collections.OrderedDict",) and args and isinstance(args[0], (list, tuple)):
            pairs = [p for p in args[0] if isinstance(p, (list, tuple)) and len(p) == 2]
            return {self._hashable(k): v for k, v in pairs}
        return Unknown(qualified)

    def container(self, args: list[object], kwargs: dict[str, object]) -> Mod:
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

    def stacked(self, node: cst.Call, args: list[object], kwargs: dict[str, object], frame: _Frame) -> Mod:
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

    @staticmethod
    def builtin(name: str, args: list[object]) -> object:
        ints = all(isinstance(a, int) and not isinstance(a, bool) for a in args)
        if name == "range" and ints and 1 <= len(args) <= 3:
            r = range(*args)  # type: ignore[arg-type]
            return list(r) if len(r) <= _MAX_LOOP_ITERATIONS else Unknown("long range")
        if name == "len" and len(args) == 1 and isinstance(args[0], (list, tuple, dict, str)):
            return len(args[0])
        if name in ("int", "round") and len(args) == 1 and isinstance(args[0], (int, float)):
            return int(args[0]) if name == "int" else round(args[0])
        if name == "float" and len(args) == 1 and isinstance(args[0], (int, float)):
            return float(args[0])
        if name in ("list", "tuple") and len(args) == 1 and isinstance(args[0], (list, tuple)):
            return list(args[0]) if name == "list" else tuple(args[0])
        values = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if name in ("max", "min", "sum") and values and all(isinstance(v, (int, float)) for v in values):
            return {"max": max, "min": min, "sum": sum}[name](values)
        if name == "abs" and len(args) == 1 and isinstance(args[0], (int, float)):
            return abs(args[0])
        return Unknown(name)


_SELF = object()  # the value of `self` inside __init__


def estimate_models(files: Sequence[CodeFile], index: SubmissionIndex,
                    max_depth: int = defaults.PARAM_ESTIMATE_MAX_DEPTH) -> list[ModelEstimate]:
    """Static parameter estimate of every top-level model in a learner's code.

    A model is an `nn.Module` subclass that no other learner module class uses (nested blocks are
    counted inside their parents), or a module-level `net = nn.Sequential(...)`. When the
    submission instantiates a model with computable arguments, the largest such instantiation
    is reported; otherwise the constructor's defaults are used.
    """
    est = _Estimator(files, index, max_depth)
    module_classes: list[_Def] = []
    for f in files:
        for stmt in f.module.body:
            if isinstance(stmt, cst.ClassDef) and est.is_module_class(f, stmt):
                module_classes.append(_Def(f, stmt))
    class_names = {d.node.name.value for d in module_classes}
    nested: set[str] = set()
    for f in files:
        for ref in f.facts.refs:
            owner = ref.function.split(".")[0] if ref.function else ""
            name = ref.written.rsplit(".", 1)[-1]
            if owner in class_names and name in class_names and name != owner:
                nested.add(name)
    out: list[ModelEstimate] = []
    for d in module_classes:
        if d.node.name.value in nested:
            continue
        out.append(_best_instantiation(est, d, files, index))
    for f in files:
        out.extend(_module_level_models(est, f))
    return out


def _best_instantiation(est: _Estimator, d: _Def, files: Sequence[CodeFile], index: SubmissionIndex) -> ModelEstimate:
    name = d.node.name.value
    candidates: list[Mod] = []
    for f in files:
        for call in f.facts.calls:
            if not call.written or call.written.rsplit(".", 1)[-1] != name:
                continue
            found = est.find_def(f, call.written)
            if found is None or found.node is not d.node:
                continue
            frame = _Frame(f, dict(est.module_env(f)))
            est.steps = 0
            args, kwargs = est._args(call.node, frame)
            if any(isinstance(v, Unknown) for v in [*args, *kwargs.values()]):
                continue
            value = est.estimate_class(d, args, kwargs)
            if isinstance(value, Mod):
                candidates.append(value)
    if not candidates:
        est.steps = 0
        value = est.estimate_class(d, [], {})
        candidates.append(value if isinstance(value, Mod) else Mod())
    best = max(candidates, key=lambda m: (not m.unsized, m.params))
    return ModelEstimate(name, d.file.path, best.params, best.layers, tuple(best.unsized), d.file, d.node)


def _module_level_models(est: _Estimator, f: CodeFile) -> list[ModelEstimate]:
    """`net = nn.Sequential(...)` at module level (common in notebooks)."""
    out: list[ModelEstimate] = []
    for stmt in f.module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not (isinstance(small, cst.Assign) and isinstance(small.value, cst.Call)):
                continue
            written = dotted_name(small.value.func) or ""
            if not written or not est.index.is_import_bound(f.path, written):
                continue
            qualified = est.index.resolve(f.path, written)[0]
            if not qualified.startswith("torch.nn.") or qualified.startswith("torch.nn.functional"):
                continue
            est.steps = 0
            value = est.eval(small.value, _Frame(f, dict(est.module_env(f))))
            if isinstance(value, Mod) and (value.params or value.unsized):
                target = f.module.code_for_node(small.targets[0].target)
                out.append(ModelEstimate(target, f.path, value.params, value.layers, tuple(value.unsized), f, small))
    return out
