"""Plain dicts <-> the report's dataclasses, and report.json's JSON Schema, from the type hints.

Every section type of `checker.report.model` is a stdlib dataclass whose fields are declared in
the order report.json writes its keys; the hints say what a value may be:
`str`, `int`, `float`, `bool`, `Any` (a JSON value kept as it is), `T | None`, `list[T]`,
`dict[str, T]`, another section dataclass, a `NamedTuple` (written as an object), or a union of
section dataclasses (read as the first that fits). One walk over those hints gives `to_dict`,
`from_dict` and `json_schema`, so the three cannot disagree.

`to_dict` writes every field, in order, except a field with `optional_key()` metadata that is
None (a key report.json leaves out then, e.g. `files[].text`). A field with `none_as(x)` metadata
that is None is written as `x` (`notes: {}` when the notes analysis did not run) and `x` reads
back as None.

`from_dict` checks what it reads: a missing field without a default, a value of another type
and a key the dataclass does not know raise `ReportError` naming the place (`pairs[3].left`).
It never converts values: an `int` where a `float` is declared stays an `int` (the notes write
`"value": 109`), and so does a numpy number, so that a report read and written again is the same
JSON. Numbers are checked against `numbers.Integral`/`numbers.Real` for that reason.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import operator
import types
import typing
from collections.abc import Callable
from typing import Any

# field metadata keys
_OMIT_IF_NONE = "report_omit_if_none"
_NONE_AS = "report_none_as"
_DOC = "report_doc"

_NO_VALUE = object()


class ReportError(ValueError):
    """report.json missing, unreadable, of another schema version or of another shape."""


def doc(text: str) -> dict[str, Any]:
    """Field metadata: a description for the JSON Schema (`field(metadata=doc("..."))`)."""
    return {_DOC: text}


def optional_key(text: str = "") -> dict[str, Any]:
    """Field metadata of a key report.json writes only when it has a value: None leaves the key
    out (`field(default=None, metadata=optional_key("..."))`)."""
    return {_OMIT_IF_NONE: True, _DOC: text}


def none_as(value: Any, text: str = "") -> dict[str, Any]:
    """Field metadata of a field that is None in Python and `value` (e.g. `{}`) in report.json,
    both ways (`field(default=None, metadata=none_as({}, "..."))`)."""
    return {_NONE_AS: value, _DOC: text}


# --- the walk over type hints ----------------------------------------------------------------
#
# Decoders take a value and return it checked (or a section object); they raise `_Bad`, which
# collects the place (`[3]`, `.left`) on its way up, so that reading a big report builds no path
# strings unless something is wrong. A field whose value has one of its `fast` types is taken
# as it is, without a call (most fields of most entries: the 100,000 pairs of a big round).

Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]
_NoneType = type(None)


class _Bad(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.places: list[str] = []  # innermost first

    def report_error(self, path: str) -> ReportError:
        where = path + "".join(reversed(self.places))
        return ReportError(self.message.format(where=where.lstrip(".") or "the report"))


def _shape(expected: str, value: Any) -> _Bad:
    return _Bad(
        f"report.json has {{where}} in another shape: expected {expected}, got {type(value).__name__}"
    )


def _is_namedtuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _identity(value: Any) -> Any:
    return value


def _check(expected: str, test: Callable[[Any], bool]) -> Decode:
    def decode(value: Any) -> Any:
        if not test(value):
            raise _shape(expected, value)
        return value

    return decode


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


# type -> (decoder, JSON Schema type, the Python types taken without a check)
_PRIMITIVES: dict[Any, tuple[Decode, str, frozenset[type]]] = {
    str: (_check("a string", lambda v: isinstance(v, str)), "string", frozenset({str})),
    int: (_check("an integer", _is_int), "integer", frozenset({int})),
    float: (_check("a number", _is_real), "number", frozenset({float, int})),
    bool: (_check("true or false", lambda v: isinstance(v, bool)), "boolean", frozenset({bool})),
}


def _fast_types(tp: Any) -> frozenset[type]:
    """The types a value of hint `tp` may have and be taken as it is."""
    if tp in _PRIMITIVES:
        return _PRIMITIVES[tp][2]
    args = _union_args(tp)
    if args is not None and _NoneType in args:
        inner = [a for a in args if a is not _NoneType]
        if len(inner) == 1 and inner[0] in _PRIMITIVES:
            return _PRIMITIVES[inner[0]][2] | {_NoneType}
        return frozenset({_NoneType})
    return frozenset()


@functools.cache
def _encoder(tp: Any) -> Encode:
    if tp in _PRIMITIVES:
        return _identity
    if tp is Any:
        return _copy_json
    args = _union_args(tp)
    if args is not None:
        if _NoneType in args:
            inner = [a for a in args if a is not _NoneType]
            enc = _encoder(inner[0] if len(inner) == 1 else functools.reduce(operator.or_, inner))
            if enc is _identity:
                return _identity
            return lambda v: None if v is None else enc(v)
        return lambda v: v.to_dict()  # a union of section dataclasses
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        enc = _encoder(item)
        if enc is _identity:
            return list
        return lambda v: [enc(x) for x in v]
    if origin is dict:
        _, item = typing.get_args(tp)
        enc = _encoder(item)
        if enc is _identity:
            return dict
        return lambda v: {k: enc(x) for k, x in v.items()}
    if _is_namedtuple(tp):
        names = tp._fields
        return lambda v: dict(zip(names, v))
    if dataclasses.is_dataclass(tp):
        return lambda v: v.to_dict()
    raise TypeError(f"report codec: no encoding for {tp!r}")


def _at(place: str, exc: _Bad) -> _Bad:
    exc.places.append(place)
    return exc


@functools.cache
def _decoder(tp: Any) -> Decode:
    if tp in _PRIMITIVES:
        return _PRIMITIVES[tp][0]
    if tp is Any:
        return _identity
    args = _union_args(tp)
    if args is not None:
        inner = [a for a in args if a is not _NoneType]
        if _NoneType in args:
            dec = _decoder(inner[0] if len(inner) == 1 else functools.reduce(operator.or_, inner))
            return lambda v: None if v is None else dec(v)
        choices = [_decoder(a) for a in inner]

        def decode_union(value: Any) -> Any:
            first: _Bad | None = None
            for dec in choices:
                try:
                    return dec(value)
                except _Bad as exc:
                    first = first or exc
            assert first is not None
            raise first

        return decode_union
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        dec, fast = _decoder(item), _fast_types(item)

        def decode_list(value: Any) -> list:
            if type(value) is not list:
                raise _shape("a list", value)
            try:
                return [x if type(x) in fast else dec(x) for x in value]
            except _Bad as exc:
                index = next(i for i, x in enumerate(value) if type(x) not in fast and _fails(dec, x))
                raise _at(f"[{index}]", exc) from None

        return decode_list
    if origin is dict:
        _, item = typing.get_args(tp)
        dec, fast = _decoder(item), _fast_types(item)
        check_key = _PRIMITIVES[str][0]

        def decode_dict(value: Any) -> dict:
            if not isinstance(value, dict):
                raise _shape("an object", value)
            out = {}
            for k, x in value.items():
                try:
                    out[check_key(k)] = x if type(x) in fast else dec(x)
                except _Bad as exc:
                    raise _at(f".{k}", exc) from None
            return out

        return decode_dict
    if _is_namedtuple(tp):
        return _tuple_decoder(tp)
    if dataclasses.is_dataclass(tp):
        plan = _plan(typing.cast(Any, tp))
        return lambda v: _decode_object(plan, v)
    raise TypeError(f"report codec: no decoding for {tp!r}")


def _tuple_decoder(tp: Any) -> Decode:
    """A NamedTuple of primitives (the fragments: 100,000s in a big round) read with one
    itemgetter and a type check per value; anything unusual takes the general path."""
    plan = _plan(tp)
    fasts = [f.fast for f in plan.fields]
    if not all(fasts):
        return lambda v: _decode_object(plan, v)
    values_of = operator.itemgetter(*plan.names)
    count, make = len(plan.names), tp._make

    def decode(value: Any) -> Any:
        if type(value) is dict and len(value) == count:
            try:
                values = values_of(value)
            except KeyError:
                pass
            else:
                if all(type(x) in fast for x, fast in zip(values, fasts)):
                    return make(values)
        return _decode_object(plan, value)

    return decode


def _fails(dec: Decode, value: Any) -> bool:
    try:
        dec(value)
    except _Bad:
        return True
    return False


def _unknown_or_missing(value: dict, names: list[str], optional: set[str]) -> _Bad:
    for key in value:
        if key not in names:
            return _at(
                f".{key}",
                _Bad(
                    "report.json has a field this checker does not know: "
                    "{where} (written by another version? re-run the scan "
                    "with this version)"
                ),
            )
    missing = next(name for name in names if name not in value and name not in optional)
    return _at(f".{missing}", _Bad("report.json lacks a field this checker needs: {where}"))


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    type: Any
    encode: Encode
    decode: Decode
    fast: frozenset[type]
    has_default: bool
    omit_if_none: bool
    none_as: Any  # _NO_VALUE when the field has no stand-in for None
    doc: str


@dataclasses.dataclass(frozen=True)
class _Plan:
    cls: Any
    fields: tuple[_Field, ...]
    names: list[str]
    optional: set[str]
    required: tuple[str, ...]
    as_tuple: bool  # a NamedTuple: built positionally, every field required


@functools.cache
def fields_of(cls: Any) -> tuple[_Field, ...]:
    """The codec's view of a section dataclass (or NamedTuple): its fields, in order."""
    hints = typing.get_type_hints(cls)
    if _is_namedtuple(cls):
        defaults = cls._field_defaults  # trailing fields added later: reports before them read
        return tuple(
            _Field(
                name,
                hints[name],
                _encoder(hints[name]),
                _decoder(hints[name]),
                _fast_types(hints[name]),
                name in defaults,
                False,
                _NO_VALUE,
                "",
            )
            for name in cls._fields
        )
    out = []
    for f in dataclasses.fields(cls):
        has_default = f.default_factory is not dataclasses.MISSING or f.default is not dataclasses.MISSING
        out.append(
            _Field(
                f.name,
                hints[f.name],
                _encoder(hints[f.name]),
                _decoder(hints[f.name]),
                _fast_types(hints[f.name]),
                has_default,
                bool(f.metadata.get(_OMIT_IF_NONE)),
                f.metadata.get(_NONE_AS, _NO_VALUE),
                str(f.metadata.get(_DOC, "")),
            )
        )
    return tuple(out)


@functools.cache
def _plan(cls: Any) -> _Plan:
    fields = fields_of(cls)
    optional = {f.name for f in fields if f.has_default}
    return _Plan(
        cls,
        fields,
        [f.name for f in fields],
        optional,
        tuple(f.name for f in fields if not f.has_default),
        _is_namedtuple(cls),
    )


def _decode_object(plan: _Plan, data: Any) -> Any:
    if type(data) is not dict and not isinstance(data, dict):
        raise _shape("an object", data)
    kwargs: dict[str, Any] = {}
    for f in plan.fields:
        value = data.get(f.name, _NO_VALUE)
        if value is _NO_VALUE:
            continue
        if type(value) in f.fast:
            kwargs[f.name] = value
        elif f.none_as is not _NO_VALUE and value == f.none_as:
            kwargs[f.name] = None
        else:
            try:
                kwargs[f.name] = f.decode(value)
            except _Bad as exc:
                raise _at(f".{f.name}", exc) from None
    if len(kwargs) != len(data) or (
        len(kwargs) < len(plan.fields) and any(name not in kwargs for name in plan.required)
    ):
        raise _unknown_or_missing(data, plan.names, plan.optional)
    if plan.as_tuple:
        return plan.cls(*kwargs.values())
    return plan.cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """`obj` (a section dataclass) as report.json writes it: keys in field order."""
    out: dict[str, Any] = {}
    cls: Any = type(obj)
    for name, encode, omit, none_as in _writer(cls):
        value = getattr(obj, name)
        if value is None:
            if not omit:
                out[name] = None if none_as is _NO_VALUE else _copy_json(none_as)
        elif encode is None:
            out[name] = value
        else:
            out[name] = encode(value)
    return out


@functools.cache
def _writer(cls: Any) -> tuple[tuple[str, Encode | None, bool, Any], ...]:
    return tuple(
        (f.name, None if f.encode is _identity else f.encode, f.omit_if_none, f.none_as)
        for f in fields_of(cls)
    )


def from_dict(cls: Any, data: Any, path: str = "") -> Any:
    """A `cls` read from its report.json dict, checked (see the module docstring); `path`
    names where `data` sits in the report, for the error message."""
    try:
        return _decode_object(_plan(cls), data)
    except _Bad as exc:
        raise exc.report_error(path) from None


# --- JSON Schema -----------------------------------------------------------------------------


def json_schema(root: type, title: str, schema_id: str = "") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `root` and every section type it reaches, one entry
    of `$defs` per dataclass. `required` lists every key the writer always writes (all fields
    but the `optional_key()` ones), though `from_dict` also reads reports that lack a field
    with a default."""
    defs: dict[str, Any] = {}

    def schema_of(tp: Any) -> dict[str, Any]:
        if tp in _PRIMITIVES:
            return {"type": _PRIMITIVES[tp][1]}
        if tp is Any:
            return {}
        args = _union_args(tp)
        if args is not None:
            return {"anyOf": [schema_of(a) if a is not type(None) else {"type": "null"} for a in args]}
        origin = typing.get_origin(tp)
        if origin is list:
            return {"type": "array", "items": schema_of(typing.get_args(tp)[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": schema_of(typing.get_args(tp)[1])}
        if _is_namedtuple(tp) or dataclasses.is_dataclass(tp):
            name = tp.__name__
            if name not in defs:
                defs[name] = {}  # placeholder: a type may refer to itself
                defs[name] = object_schema(tp)
            return {"$ref": f"#/$defs/{name}"}
        raise TypeError(f"report schema: no schema for {tp!r}")

    def object_schema(tp: Any) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required = []
        if _is_namedtuple(tp):
            hints = typing.get_type_hints(tp)
            for name in tp._fields:
                properties[name] = schema_of(hints[name])
            required = [n for n in tp._fields if n not in tp._field_defaults]
        else:
            for f in fields_of(tp):
                prop = schema_of(f.type)
                if f.omit_if_none or f.none_as is not _NO_VALUE:
                    # None is never written: the key is left out, or written as `none_as`
                    kinds = [s for s in prop.get("anyOf", [prop]) if s != {"type": "null"}]
                    if f.none_as is not _NO_VALUE:
                        kinds.append({"const": f.none_as})
                    prop = kinds[0] if len(kinds) == 1 else {"anyOf": kinds}
                if f.doc:
                    prop = {"description": f.doc, **prop}
                properties[f.name] = prop
                if not f.omit_if_none:
                    required.append(f.name)
        out: dict[str, Any] = {"type": "object"}
        description = " ".join((tp.__doc__ or "").split())
        if description and not description.startswith(f"{tp.__name__}("):
            out["description"] = description
        out.update(properties=properties, required=required, additionalProperties=False)
        return out

    top = object_schema(root)
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    if schema_id:
        schema["$id"] = schema_id
    schema["title"] = title
    schema.update(top)
    schema["$defs"] = dict(sorted(defs.items()))
    return schema
