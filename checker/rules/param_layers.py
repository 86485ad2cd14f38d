"""Parameter counts of torch.nn layers from their constructor arguments.

One formula per torch.nn layer type (PyTorch 2.x constructor signatures and defaults): the
arguments, positional or by keyword, are bound to the constructor's parameter names and the
formula returns the layer's parameter count, or None when an argument it needs is not a number.
`checker.rules.param_interpreter` calls `torch_layer_params` with the values it could compute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

# Positional parameter names of each torch.nn constructor the estimator can size.
SIGNATURES: dict[str, tuple[str, ...]] = {
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

# torch.nn containers: sized by what they hold, 0 when empty.
CONTAINERS = frozenset(("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"))


def int_product(value: object) -> int | None:
    """An int, or the product of a tuple/list of ints (a shape); None for anything else."""
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
    return int_product(value)


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
    n = int_product(a.get("normalized_shape"))
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
    if layer in PARAMETER_FREE or layer in CONTAINERS:
        return 0
    signature = SIGNATURES.get(layer)
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
