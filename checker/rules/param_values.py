"""The values of the parameter estimate's abstract interpreter, and constant folding on them.

What a learner's `__init__` computes, as the interpreter tracks it: numbers, strings, tuples,
lists and dicts are themselves; an nn.Module value is a `Mod` (its parameter count and the
layers it could not size); a tensor is its `TensorShape`; anything else is `Unknown`, with why.
Names stand for a learner definition (`LearnerDef`), an import-bound name (`ImportedName`), a
method of `self` (`SelfMethod`) or of a value (`BoundMethod`). `binary_op`, `compare_op` and
`builtin_call` fold operators and builtins over these values, never raising.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from checker.rules.names import CodeFile

MAX_LOOP_ITERATIONS = 10_000  # a loop over range(10**6) in __init__ is not building layers


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
class ImportedName:
    qualified: str


@dataclass(frozen=True)
class LearnerDef:
    file: CodeFile
    node: cst.ClassDef | cst.FunctionDef


@dataclass(frozen=True)
class SelfMethod:
    name: str


@dataclass(frozen=True)
class BoundMethod:
    """A method looked up on a value: `layers.append`."""

    receiver: object
    name: str


def hashable(value: object) -> object:
    """A dict key for `value`: itself when hashable, else its repr."""
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def binary_op(op: str, a: object, b: object) -> object:
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
        if op == "Multiply" and isinstance(a, (list, tuple)) and isinstance(b, int) and 0 <= b <= MAX_LOOP_ITERATIONS:
            return a * b
    except (ZeroDivisionError, OverflowError):
        pass
    return Unknown(op)


def compare_op(op: str, a: object, b: object) -> object:
    if isinstance(a, (Unknown, Mod, LearnerDef)) or isinstance(b, (Unknown, Mod, LearnerDef)):
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


def builtin_call(name: str, args: list[object]) -> object:
    ints = all(isinstance(a, int) and not isinstance(a, bool) for a in args)
    if name == "range" and ints and 1 <= len(args) <= 3:
        r = range(*args)  # type: ignore[arg-type]
        return list(r) if len(r) <= MAX_LOOP_ITERATIONS else Unknown("long range")
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
