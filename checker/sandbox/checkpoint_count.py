"""Count the parameters of a model checkpoint: the checker's one counter, used in two places.

- In the checker's own process, imported as a module (`checker.rules.budget`: rules NS502-NS504):
  `count_checkpoint(path)`. Nothing a learner wrote may run there, so nothing is unpickled that
  could run code: a `torch.save`d state_dict is read by a restricted unpickler of our own that
  rebuilds no tensor (`_plain_pickle`, no torch import), anything else by
  `torch.load(weights_only=True)` (PyTorch's restricted unpickler: tensors and plain containers);
  `.safetensors` by their JSON header, `.npz`/`.npy` with `allow_pickle=False`. A whole pickled
  model is `CheckpointUnreadable` with the reason, never loaded.
- Inside the retrain sandbox, started BY PATH: `python checkpoint_count.py PATTERN` counts the
  newest file matching PATTERN and writes `{"params": N, "file": ..., "how": ...}` (or
  `{"missing": PATTERN}`, `{"error": why}`) to `$NOSHORTCUT_METRICS`. There, and only there, a
  whole pickled model is loaded with `torch.load(weights_only=False)`, the learner's folder on
  `sys.path` for its classes: the sandbox is where learner code runs anyway.

Hence the rule for this file: the standard library only at module level (torch and numpy are
imported inside the functions that need them), and nothing of `checker`, which the sandbox's
Python cannot see.

Counted: every tensor of the model's state_dict except BatchNorm running statistics; for a whole
model, `model.parameters()`; optimizer state and other entries of a checkpoint dict never.
"""

from __future__ import annotations

import glob
import json
import math
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

# Entries of a state_dict that are buffers, not parameters: BatchNorm's (and InstanceNorm's, with
# track_running_stats) running statistics. Matched against the last dotted part of the key.
BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked")

# Keys under which a checkpoint dict nests the model (its state_dict, or in the sandbox a whole
# pickled model), tried in this order; and where each comes from:
MODEL_KEYS = (
    "state_dict",  # PyTorch Lightning .ckpt (trainer.save_checkpoint), timm train.py, mmcv/mmdet .pth
    "model_state_dict",  # the PyTorch tutorial "Saving and loading a general checkpoint"
    "model_state",  # hand-written training scripts (model_state_dict, shortened)
    "model",  # DeiT/MAE/DINO and fairseq .pth (a state_dict); YOLOv5 .pt (a whole pickled model)
    "net",  # kuangliu/pytorch-cifar ckpt.pth, a common CIFAR-10 starting point
    "network",  # hand-written training scripts (net, spelt out)
    "module",  # DeepSpeed *_model_states.pt
    "params",  # hand-written training scripts (the name JAX/Flax code gives the weights)
)

# The largest pickle read by `_plain_pickle`: a state_dict's pickle holds names and shapes only
# (kilobytes); the tensors' bytes are separate entries of the zip file.
_MAX_PICKLE_BYTES = 64 * 2**20
_SAFETENSORS_MAX_HEADER = 100_000_000


@dataclass(frozen=True)
class CheckpointCount:
    path: str
    params: int
    tensors: int
    container: str  # "state_dict", "checkpoint['model_state_dict']", "safetensors", ...


@dataclass(frozen=True)
class CheckpointUnreadable:
    path: str
    reason: str


class Unreadable(Exception):
    """The checkpoint cannot be counted; the message says why, for a mentor."""


def is_parameter_key(key: str) -> bool:
    return key.rsplit(".", 1)[-1] not in BUFFER_NAMES


def count_shapes(shapes: Mapping[str, tuple[int, ...] | list[int]]) -> tuple[int, int]:
    """(parameters, tensors) of a name -> shape mapping, BatchNorm running statistics left out."""
    total = 0
    tensors = 0
    for key, shape in shapes.items():
        if is_parameter_key(str(key)):
            total += math.prod(int(d) for d in shape)
            tensors += 1
    return total, tensors


def count_checkpoint(path: str | os.PathLike, max_bytes: int | None = None,
                     label: str | None = None) -> CheckpointCount | CheckpointUnreadable:
    """Exact parameter count of a checkpoint file, in the checker's own process: no learner object
    is ever unpickled (a whole pickled model comes back as CheckpointUnreadable, with the reason).
    Files over `max_bytes` are not opened; `label` names the file in the result."""
    shown = label or str(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        return CheckpointUnreadable(shown, f"cannot read: {exc.strerror or exc}")
    if max_bytes is not None and size > max_bytes:
        return CheckpointUnreadable(shown, f"{size / 2**20:.0f} MiB is over the {max_bytes / 2**20:.0f} MiB limit")
    try:
        shapes, container = read_shapes(os.fspath(path), run_learner_code=False)
    except Unreadable as exc:
        return CheckpointUnreadable(shown, str(exc))
    params, tensors = count_shapes(shapes)
    return CheckpointCount(shown, params, tensors, container)


def read_shapes(path: str, *, run_learner_code: bool) -> tuple[dict[str, tuple[int, ...]], str]:
    """The model's tensors in a checkpoint, name -> shape, and where they were found; raises
    Unreadable. `run_learner_code` (in the sandbox only) lets a whole pickled model load."""
    lower = path.lower()
    if lower.endswith(".safetensors"):
        return _safetensors_shapes(path), "safetensors"
    if lower.endswith((".npz", ".npy")):
        return _numpy_shapes(path), "numpy arrays"
    plain = _plain_pickle(path)
    if plain is not None:
        found = find_shapes(plain)
        if found is not None:
            return found
    import torch  # heavy: only for what the restricted reader could not read

    try:
        obj = _torch_load(torch, path, weights_only=True)
    except pickle.UnpicklingError as exc:
        if not run_learner_code:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
            raise Unreadable("holds pickled Python objects, not a plain state_dict, so it cannot "
                             f"be loaded safely (weights_only: {first[:160]})") from None
        obj = _load_with_learner_code(torch, path)
    except Exception as exc:  # noqa: BLE001 - a corrupt learner file must never stop a scan
        if not run_learner_code:
            raise Unreadable(f"not a loadable torch checkpoint: {type(exc).__name__}: {str(exc)[:160]}") from None
        obj = _load_with_learner_code(torch, path)
    found = find_shapes(obj, torch)
    if found is None:
        if run_learner_code:  # a retrain result: say what there is, and what to do
            raise Unreadable(f"no state_dict of tensors found inside{_contents(obj)}; "
                             "save model.state_dict() or name a params_hook")
        raise Unreadable("no state_dict of tensors found inside")
    return found


def find_shapes(obj: object, torch: object = None, depth: int = 0) -> tuple[dict[str, tuple[int, ...]], str] | None:
    """Find the model inside what a checkpoint holds: a state_dict (a mapping of tensors), one
    nested under a `MODEL_KEYS` key, a whole model (with `torch`), or a single tensor; else the
    largest mapping of tensors that is not optimizer state. None when there is none."""
    module_type = getattr(getattr(torch, "nn", None), "Module", None)
    if module_type is not None and isinstance(obj, module_type):
        return {name: tuple(p.shape) for name, p in obj.named_parameters()}, "module.parameters()"
    shape = _shape(obj)
    if shape is not None:
        return {"tensor": shape}, "a single tensor"
    if not isinstance(obj, Mapping):
        return None
    direct = _tensor_mapping(obj)
    if direct is not None:
        return direct, "state_dict"
    if depth < 3:
        for key in MODEL_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) or (module_type is not None and isinstance(inner, module_type)):
                found = find_shapes(inner, torch, depth + 1)
                if found is not None:
                    shapes, how = found
                    if how == "state_dict":
                        return shapes, f"checkpoint[{key!r}]"
                    if how.startswith("checkpoint["):  # nested deeper: checkpoint['model']['state_dict']
                        return shapes, f"checkpoint[{key!r}]" + how[len("checkpoint"):]
                    return shapes, f"checkpoint[{key!r}]: {how}"
    if depth == 0:
        best: tuple[int, dict[str, tuple[int, ...]], str] | None = None
        for key, inner in obj.items():
            if isinstance(inner, Mapping) and "optim" not in str(key).lower():
                found = _tensor_mapping(inner)
                if found is not None:
                    size = count_shapes(found)[0]
                    if best is None or size > best[0]:
                        best = (size, found, f"checkpoint[{key!r}]")
        if best is not None:
            return best[1], best[2]
    return None


def _shape(value: object) -> tuple[int, ...] | None:
    """The shape of a tensor (or array, or `_Shape`); None for anything else, a shape of
    anything but whole numbers included (the file says what it likes)."""
    shape = getattr(value, "shape", None)
    if isinstance(value, Mapping) or not isinstance(shape, (tuple, list)):
        return None
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        return None
    return tuple(shape)


def _tensor_mapping(mapping: Mapping) -> dict[str, tuple[int, ...]] | None:
    if not mapping:
        return None
    shapes = {str(k): _shape(v) for k, v in mapping.items()}
    return None if None in shapes.values() else shapes


def _contents(obj: object) -> str:
    if isinstance(obj, Mapping):
        keys = sorted(map(str, obj))
        return f" (keys: {', '.join(keys[:8])}{', ...' if len(keys) > 8 else ''})" if keys else " (an empty dict)"
    return f" (a {type(obj).__name__})"


def _safetensors_shapes(path: str) -> dict[str, tuple[int, ...]]:
    try:
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            if length > _SAFETENSORS_MAX_HEADER:
                raise ValueError("header larger than 100 MB")
            header = json.loads(fh.read(length))
        shapes = {k: _shape(_Shape(v["shape"])) for k, v in header.items()
                  if k != "__metadata__" and isinstance(v, dict)}
        bad = [k for k, shape in shapes.items() if shape is None]
        if bad:
            raise ValueError(f"{bad[0]!r} has no shape of whole numbers")
        return shapes
    except (OSError, ValueError, KeyError, TypeError, AttributeError, struct.error) as exc:
        raise Unreadable(f"not a readable safetensors file: {exc}") from None


def _numpy_shapes(path: str) -> dict[str, tuple[int, ...]]:
    import numpy

    try:
        arrays = numpy.load(path, allow_pickle=False)
        if hasattr(arrays, "files"):
            with arrays:
                return {name: tuple(arrays[name].shape) for name in arrays.files}
        return {"array": tuple(arrays.shape)}
    except Exception as exc:  # noqa: BLE001 - a corrupt learner file: say so
        raise Unreadable(f"not a readable numpy file: {exc}") from None


class _Shape:
    """A tensor as `_plain_pickle` rebuilds it: its shape, nothing else."""

    def __init__(self, shape) -> None:
        self.shape = tuple(shape)


def _rebuild_tensor(storage, offset, size, *rest) -> _Shape:
    return _Shape(size)


_PLAIN_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): lambda data, *rest: data,
}
_DTYPE_NAMES = ("float32", "float16", "bfloat16", "float64", "int64", "uint8", "int8", "int32", "bool")


class _PlainUnpickler(pickle.Unpickler):
    """Only dicts of tensors: every global but the few above is refused, and tensors become
    `_Shape`s (their storages are never read)."""

    def find_class(self, module: str, name: str):
        if (module, name) in _PLAIN_GLOBALS:
            return _PLAIN_GLOBALS[(module, name)]
        if module == "torch" and (name.endswith("Storage") or name in _DTYPE_NAMES):
            return name
        raise pickle.UnpicklingError(f"not a plain state_dict: {module}.{name}")

    def persistent_load(self, pid):
        return None


def _plain_pickle(path: str) -> object | None:
    """What a `torch.save` zip file holds when it is only tensors in dicts and lists (a state_dict
    or a checkpoint dict of them), read without torch (~2 s saved) and without running anything;
    None for anything else (then torch.load decides)."""
    try:
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if i.filename.endswith("/data.pkl") or i.filename == "data.pkl"]
            # torch writes its entries uncompressed; anything else is not its file (or a zip bomb)
            if len(infos) != 1 or infos[0].compress_type != zipfile.ZIP_STORED \
                    or infos[0].file_size > _MAX_PICKLE_BYTES:
                return None
            with archive.open(infos[0]) as fh:
                return _PlainUnpickler(fh).load()
    except Exception:  # noqa: BLE001 - not a plain state_dict: torch.load decides
        return None


def _torch_load(torch, path: str, *, weights_only: bool) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only, mmap=True)
    except RuntimeError as exc:
        if "mmap" not in str(exc).lower() and "zip" not in str(exc).lower():
            raise
        return torch.load(path, map_location="cpu", weights_only=weights_only)  # legacy (non-zip) format


def _load_with_learner_code(torch, path: str) -> object:
    """A whole pickled model: unpickling imports and runs the learner's classes. Sandbox only."""
    sys.path.insert(0, os.getcwd())  # the learner's folder, for its classes
    return _torch_load(torch, path, weights_only=False)


# ----------------------------------------------------------------------------------------
# In the sandbox: `python checkpoint_count.py PATTERN`, answer in $NOSHORTCUT_METRICS
# ----------------------------------------------------------------------------------------


def _answer(**result: object) -> None:
    with open(os.environ["NOSHORTCUT_METRICS"], "w") as fh:
        json.dump(result, fh)


def main(argv: list[str]) -> int:
    pattern = argv[1]
    matches = [p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)]
    if not matches:
        _answer(missing=pattern)
        return 0
    path = max(matches, key=os.path.getmtime)
    try:
        shapes, how = read_shapes(path, run_learner_code=True)
    except Unreadable as exc:
        _answer(error=str(exc))
    except BaseException as exc:  # noqa: BLE001 - whatever the learner's classes raise
        _answer(error=f"{type(exc).__name__}: {exc}")
    else:
        _answer(params=count_shapes(shapes)[0], file=path, how=how)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
