"""Serde-compatible JSON codec (SPEC §3.3).

Payloads written here must be byte-equal to what the Rust reference (serde_json with
serde's default, externally tagged enums) writes, and the reference's payloads must
decode here. The rules:

* a struct is a JSON object with its fields in declaration order;
* an enum (a `Tagged` root class) is externally tagged: a struct variant is
  ``{"Variant":{...}}``, a newtype variant ``{"Variant":<inner>}`` and a unit
  variant the bare string ``"Variant"``;
* ``Decimal`` is a string in plain notation with its scale kept (``"1.00"``);
* ``datetime`` is RFC 3339 in UTC with ``Z`` and 0, 3 or 6 fraction digits;
* ``Enum`` members are written as their ``value``; ``None`` is ``null``;
* output is compact, UTF-8 unescaped.

On read, unknown keys are ignored and a missing optional field is ``None``, as serde
does. Encoders and decoders are compiled once per type and cached.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import re
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, ClassVar, TypeVar, Union

T = TypeVar("T")

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any, str], Any]


class CodecError(ValueError):
    """A value that cannot be encoded or a JSON document that does not match its type."""


OMIT_IF_NONE = "hedgebot_omit_if_none"

#: Field metadata for a hedgebot-only optional field appended after the reference's
#: fields: ``field(default=None, metadata=EXTENSION)``. The key is left out of the JSON
#: while the value is ``None`` (serde's ``skip_serializing_if = "Option::is_none"``),
#: so an event carrying nothing beyond the reference's fields is byte-equal to the
#: reference's payload; a missing key decodes as the default.
EXTENSION: typing.Mapping[str, Any] = types.MappingProxyType({OMIT_IF_NONE: True})


def extension(default: Any = None) -> Any:
    """``field(default=default, metadata=EXTENSION)``: a hedgebot-only optional field."""
    return dataclasses.field(default=default, metadata=EXTENSION)


class Tagged:
    """Base of an externally tagged enum.

    Declare the enum with ``class PositionEvent(Tagged, root=True)`` and each variant as a
    frozen dataclass subclassing it. A variant without fields is a unit variant; pass
    ``newtype=True`` for a one-field variant serialised as its inner value
    (``{"Shares":"1"}``); ``variant="Name"`` overrides the wire name.
    """

    __tagged_root__: ClassVar[type[Tagged]]
    __variants__: ClassVar[dict[str, type[Tagged]]]
    __variant_name__: ClassVar[str]
    __newtype__: ClassVar[bool] = False

    def __init_subclass__(
        cls,
        *,
        root: bool = False,
        variant: str | None = None,
        newtype: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if root:
            cls.__tagged_root__ = cls
            cls.__variants__ = {}
            return
        name = variant or cls.__name__
        registry = cls.__tagged_root__.__variants__
        if name in registry:
            raise TypeError(f"duplicate variant {name!r} in {cls.__tagged_root__.__name__}")
        cls.__variant_name__ = name
        cls.__newtype__ = newtype
        registry[name] = cls

    @classmethod
    def is_root(cls) -> bool:
        return cls.__dict__.get("__tagged_root__") is cls


# ---------------------------------------------------------------------------
# scalars


def encode_decimal(value: Decimal) -> str:
    if not isinstance(value, Decimal):
        raise CodecError(f"expected Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise CodecError(f"decimal must be finite, got {value}")
    return format(value, "f")


#: RFC 3339 texts of recently encoded instants: an event's timestamps recur in the
#: events, snapshots and view rows written with it. Equal datetimes are the same
#: instant, whose UTC text is the same; cleared when full.
_DATETIME_TEXTS: dict[datetime, str] = {}
_DATETIME_TEXTS_MAX = 4096


def encode_datetime(value: datetime) -> str:
    text = _DATETIME_TEXTS.get(value) if type(value) is datetime else None
    if text is not None:
        return text
    text = _encode_datetime(value)
    if len(_DATETIME_TEXTS) >= _DATETIME_TEXTS_MAX:
        _DATETIME_TEXTS.clear()
    _DATETIME_TEXTS[value] = text
    return text


def _encode_datetime(value: datetime) -> str:
    if not isinstance(value, datetime):
        raise CodecError(f"expected datetime, got {type(value).__name__}")
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise CodecError(
                f"datetime must be timezone-aware (UTC), got naive {value.isoformat()}"
            )
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise CodecError(f"datetime {value.isoformat()} is out of range in UTC") from None
    # "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00" (microseconds only when not zero)
    text = value.isoformat()[:-6]
    micros = value.microsecond
    if micros and micros % 1000 == 0:
        text = text[:-3]
    return text + "Z"


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:\d{2})$"
)


def parse_datetime(text: str) -> datetime:
    """Parse RFC 3339 with an explicit offset or ``Z`` into an aware UTC datetime.

    Nanosecond fractions (as chrono writes them) are truncated to microseconds.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise CodecError(f"invalid RFC 3339 timestamp {text!r} (needs a date, time and Z/offset)")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        if offset in ("Z", "z"):
            zone = UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, zone
        )
        return parsed if zone is UTC else parsed.astimezone(UTC)
    except ValueError as exc:
        raise CodecError(f"invalid RFC 3339 timestamp {text!r}: {exc}") from None
    except OverflowError:
        raise CodecError(f"timestamp {text!r} is out of range in UTC") from None


def _decode_decimal(raw: Any, path: str) -> Decimal:
    if isinstance(raw, bool):
        raise CodecError(f"{path}: expected a decimal, got a boolean")
    if isinstance(raw, str):
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise CodecError(f"{path}: invalid decimal {raw!r}") from None
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
    else:
        raise CodecError(f"{path}: expected a decimal string, got {type(raw).__name__}")
    if not value.is_finite():
        raise CodecError(f"{path}: decimal must be finite, got {raw!r}")
    return value


def _decode_datetime(raw: Any, path: str) -> datetime:
    if not isinstance(raw, str):
        raise CodecError(f"{path}: expected an RFC 3339 string, got {type(raw).__name__}")
    try:
        return parse_datetime(raw)
    except CodecError as exc:
        raise CodecError(f"{path}: {exc}") from None


def _decode_int(raw: Any, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise CodecError(f"{path}: expected an integer, got {raw!r}")
    return raw


def _decode_str(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise CodecError(f"{path}: expected a string, got {type(raw).__name__}")
    return raw


def _decode_bool(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        raise CodecError(f"{path}: expected a boolean, got {raw!r}")
    return raw


def _identity(value: Any) -> Any:
    return value


def _encode_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CodecError(f"expected an integer, got {value!r}")
    return value


def _encode_str(value: Any) -> str:
    if not isinstance(value, str):
        raise CodecError(f"expected a string, got {type(value).__name__}")
    return value


def _encode_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise CodecError(f"expected a boolean, got {value!r}")
    return value


def _enum_encoder(tp: type[Enum]) -> Encoder:
    def encode(value: Any) -> Any:
        if not isinstance(value, tp):
            raise CodecError(f"expected a {tp.__name__}, got {value!r}")
        return value.value

    return encode


# ---------------------------------------------------------------------------
# compilation of encoders / decoders per type

_encoders: dict[Any, Encoder] = {}
_decoders: dict[Any, Decoder] = {}


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: type) -> list[tuple[str, Any, bool, Any]]:
    """(name, type, has_default, default) of a dataclass, in declaration order."""
    hints = _hints(cls)
    result = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        has_default = field.default is not dataclasses.MISSING
        result.append((field.name, hints[field.name], has_default, field.default))
    return result


def _optional_inner(tp: Any) -> Any | None:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
        raise TypeError(f"only Optional[X] unions are supported, got {tp}")
    return None


def encoder_for(tp: Any) -> Encoder:
    cached = _encoders.get(tp)
    if cached is not None:
        return cached
    encoder = _build_encoder(tp)
    _encoders[tp] = encoder
    return encoder


def _build_encoder(tp: Any) -> Encoder:
    if tp is Decimal:
        return encode_decimal
    if tp is datetime:
        return encode_datetime
    if tp is int:
        return _encode_int
    if tp is str:
        return _encode_str
    if tp is bool:
        return _encode_bool
    if tp is Any:
        return _identity
    inner = _optional_inner(tp)
    if inner is not None:
        inner_enc = encoder_for(inner)
        return lambda v: None if v is None else inner_enc(v)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        item_enc = encoder_for(args[0])
        return lambda v: [item_enc(item) for item in v]
    if origin is dict:
        value_enc = encoder_for(typing.get_args(tp)[1])
        return lambda v: {str(k): value_enc(x) for k, x in v.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum_encoder(tp)
    if isinstance(tp, type) and issubclass(tp, Tagged):
        return _tagged_encoder(tp.__tagged_root__)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _struct_encoder(tp)
    raise TypeError(f"the codec does not support type {tp!r}")


def _struct_encoder(cls: type) -> Encoder:
    # Fields are resolved on first use so that recursive/forward-declared types work.
    # The compiled plan is published with one atomic list append: a thread never sees
    # a half-built field list (which would silently drop fields from a payload).
    plan: list[tuple[Callable[[Any], Any], tuple[tuple[str, Encoder, bool], ...]]] = []

    def compile_plan() -> tuple[Callable[[Any], Any], tuple[tuple[str, Encoder, bool], ...]]:
        omitted = {f.name for f in dataclasses.fields(cls) if f.metadata.get(OMIT_IF_NONE)}
        fields = tuple((name, encoder_for(tp), name in omitted) for name, tp, _, _ in _fields(cls))
        names = [name for name, _, _ in fields]
        if not names:
            return (lambda v: ()), fields
        if len(names) == 1:
            return (lambda v: (getattr(v, names[0]),)), fields
        return operator.attrgetter(*names), fields

    def encode(value: Any) -> dict[str, Any]:
        if not isinstance(value, cls):
            raise CodecError(f"expected {cls.__name__}, got {type(value).__name__}")
        if not plan:
            plan.append(compile_plan())
        getter, fields = plan[0]
        encoded: dict[str, Any] = {}
        for (name, enc, omit_if_none), field_value in zip(fields, getter(value), strict=True):
            if field_value is None and omit_if_none:
                continue
            encoded[name] = enc(field_value)
        return encoded

    return encode


def _variant_encoder(cls: type[Tagged]) -> Encoder:
    name = cls.__variant_name__
    fields = _fields(cls)
    if not fields:
        return lambda v: name
    if cls.__newtype__:
        if len(fields) != 1:
            raise TypeError(f"newtype variant {cls.__name__} must have exactly one field")
        field_name, field_tp, _, _ = fields[0]
        inner = encoder_for(field_tp)
        return lambda v: {name: inner(getattr(v, field_name))}
    struct = _struct_encoder(cls)
    return lambda v: {name: struct(v)}


def _tagged_encoder(root: type[Tagged]) -> Encoder:
    per_class: dict[type, Encoder] = {}

    def encode(value: Any) -> Any:
        cls = type(value)
        enc = per_class.get(cls)
        if enc is None:
            if not isinstance(value, root) or cls.is_root():
                raise CodecError(f"expected a variant of {root.__name__}, got {cls.__name__}")
            enc = _variant_encoder(cls)
            per_class[cls] = enc
        return enc(value)

    return encode


def decoder_for(tp: Any) -> Decoder:
    cached = _decoders.get(tp)
    if cached is not None:
        return cached
    decoder = _build_decoder(tp)
    _decoders[tp] = decoder
    return decoder


def _build_decoder(tp: Any) -> Decoder:
    if tp is Decimal:
        return _decode_decimal
    if tp is datetime:
        return _decode_datetime
    if tp is bool:
        return _decode_bool
    if tp is int:
        return _decode_int
    if tp is str:
        return _decode_str
    if tp is Any:
        return lambda raw, path: raw
    inner = _optional_inner(tp)
    if inner is not None:
        inner_dec = decoder_for(inner)
        return lambda raw, path: None if raw is None else inner_dec(raw, path)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        item_dec = decoder_for(typing.get_args(tp)[0])
        make = list if origin is list else tuple

        def decode_seq(raw: Any, path: str) -> Any:
            if not isinstance(raw, list):
                raise CodecError(f"{path}: expected an array, got {type(raw).__name__}")
            return make(item_dec(item, f"{path}[{i}]") for i, item in enumerate(raw))

        return decode_seq
    if origin is dict:
        value_dec = decoder_for(typing.get_args(tp)[1])

        def decode_map(raw: Any, path: str) -> Any:
            if not isinstance(raw, dict):
                raise CodecError(f"{path}: expected an object, got {type(raw).__name__}")
            return {k: value_dec(v, f"{path}.{k}") for k, v in raw.items()}

        return decode_map
    if isinstance(tp, type) and issubclass(tp, Enum):
        members = {m.value: m for m in tp}

        def decode_enum(raw: Any, path: str) -> Any:
            try:
                return members[raw]
            except (KeyError, TypeError):
                allowed = ", ".join(repr(v) for v in members)
                raise CodecError(
                    f"{path}: unknown {tp.__name__} {raw!r} (expected one of {allowed})"
                ) from None

        return decode_enum
    if isinstance(tp, type) and issubclass(tp, Tagged):
        return _tagged_decoder(tp.__tagged_root__, tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _struct_decoder(tp)
    raise TypeError(f"the codec does not support type {tp!r}")


def _struct_decoder(cls: type) -> Decoder:
    # Same lazy, atomically published plan as `_struct_encoder`.
    plan: list[tuple[tuple[str, Decoder, bool, bool, Any], ...]] = []

    def compile_plan() -> tuple[tuple[str, Decoder, bool, bool, Any], ...]:
        return tuple(
            (name, decoder_for(tp), _optional_inner(tp) is not None, has_default, default)
            for name, tp, has_default, default in _fields(cls)
        )

    def decode(raw: Any, path: str) -> Any:
        if not plan:
            plan.append(compile_plan())
        if not isinstance(raw, dict):
            raise CodecError(f"{path}: expected an object for {cls.__name__}, got {raw!r}")
        kwargs: dict[str, Any] = {}
        for name, dec, optional, has_default, default in plan[0]:
            if name in raw:
                kwargs[name] = dec(raw[name], f"{path}.{name}")
            elif has_default:
                kwargs[name] = default
            elif optional:
                kwargs[name] = None
            else:
                raise CodecError(f"{path}: missing field {name!r} of {cls.__name__}")
        return cls(**kwargs)

    return decode


def _tagged_decoder(root: type[Tagged], expected: type) -> Decoder:
    # Per variant name, compiled on first use: (class, is_unit, body decoder).
    # Type hints are resolved once per variant, never per decoded value.
    compiled: dict[str, tuple[type[Tagged], bool, Decoder | None]] = {}

    def compile_variant(name: str, path: str) -> tuple[type[Tagged], bool, Decoder | None]:
        cls = root.__variants__.get(name)
        if cls is None:
            known = ", ".join(root.__variants__)
            raise CodecError(f"{path}: unknown {root.__name__} variant {name!r} (known: {known})")
        if not issubclass(cls, expected):
            raise CodecError(f"{path}: variant {name!r} is not a {expected.__name__}")
        fields = _fields(cls)
        if not fields:
            return cls, True, None
        if cls.__newtype__:
            field_name, field_tp, _, _ = fields[0]
            inner = decoder_for(field_tp)
            return cls, False, lambda raw, p: cls(**{field_name: inner(raw, p)})
        return cls, False, _struct_decoder(cls)

    def decode(raw: Any, path: str) -> Any:
        if isinstance(raw, str):
            name, body, has_body = raw, None, False
        elif isinstance(raw, dict) and len(raw) == 1:
            ((name, body),) = raw.items()
            has_body = True
        else:
            raise CodecError(
                f"{path}: expected a {root.__name__} variant (a string or a one-key object), "
                f"got {raw!r}"
            )
        entry = compiled.get(name)
        if entry is None:
            entry = compile_variant(name, path)
            compiled[name] = entry
        cls, unit, body_decoder = entry
        if unit:
            if has_body:
                raise CodecError(f"{path}: unit variant {name!r} must be a bare string")
            return cls()
        if not has_body:
            raise CodecError(f"{path}: variant {name!r} has fields; a bare string is not enough")
        assert body_decoder is not None
        return body_decoder(body, f"{path}.{name}")

    return decode


# ---------------------------------------------------------------------------
# text encoders: straight to compact JSON text, no intermediate dicts
#
# `to_json` is on the hot path of every append (and of bulk imports), so each type
# compiles to a function writing its JSON text directly. The output is byte-equal to
# ``dumps(to_jsonable(tp, value))`` (tested); string escaping is the json module's own.

TextEncoder = Callable[[Any], str]
_text_encoders: dict[Any, TextEncoder] = {}
_quote: Callable[[str], str] = json.encoder.encode_basestring  # as dumps(ensure_ascii=False)


def text_encoder_for(tp: Any) -> TextEncoder:
    cached = _text_encoders.get(tp)
    if cached is not None:
        return cached
    encoder = _build_text_encoder(tp)
    _text_encoders[tp] = encoder
    return encoder


def _text_decimal(value: Any) -> str:
    return '"' + encode_decimal(value) + '"'


def _text_datetime(value: Any) -> str:
    return '"' + encode_datetime(value) + '"'


def _text_int(value: Any) -> str:
    return int.__repr__(_encode_int(value))


def _text_str(value: Any) -> str:
    return _quote(_encode_str(value))


def _text_bool(value: Any) -> str:
    return "true" if _encode_bool(value) else "false"


def _build_text_encoder(tp: Any) -> TextEncoder:
    simple: dict[Any, TextEncoder] = {
        Decimal: _text_decimal,
        datetime: _text_datetime,
        int: _text_int,
        str: _text_str,
        bool: _text_bool,
    }
    if tp in simple:
        return simple[tp]
    if tp is Any:
        return dumps
    inner = _optional_inner(tp)
    if inner is not None:
        inner_enc = text_encoder_for(inner)
        return lambda v: "null" if v is None else inner_enc(v)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        item_enc = text_encoder_for(typing.get_args(tp)[0])
        return lambda v: "[" + ",".join([item_enc(item) for item in v]) + "]"
    if origin is dict:
        value_enc = text_encoder_for(typing.get_args(tp)[1])
        return lambda v: (
            "{" + ",".join([_quote(str(k)) + ":" + value_enc(x) for k, x in v.items()]) + "}"
        )
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum_text_encoder(tp)
    if isinstance(tp, type) and issubclass(tp, Tagged):
        return _tagged_text_encoder(tp.__tagged_root__)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _struct_text_encoder(tp)
    raise TypeError(f"the codec does not support type {tp!r}")


def _enum_text_encoder(tp: type[Enum]) -> TextEncoder:
    texts = {member: dumps(member.value) for member in tp}

    def encode(value: Any) -> str:
        if not isinstance(value, tp):
            raise CodecError(f"expected a {tp.__name__}, got {value!r}")
        return texts[value]

    return encode


def _struct_text_encoder(cls: type) -> TextEncoder:
    # Compiled on first use (recursive types) into one generated function per struct,
    # published atomically as `_struct_encoder`'s plan is.
    compiled: list[TextEncoder] = []

    def encode(value: Any) -> str:
        if not compiled:
            compiled.append(_generate_struct_text_encoder(cls))
        return compiled[0](value)

    return encode


def _generate_struct_text_encoder(cls: type) -> TextEncoder:
    """Python source for encoding ``cls``: one concatenation, no loop over fields.

    Only dataclass field names (identifiers) are spliced into the source; keys and
    encoders are passed in as variables.
    """
    omitted = {f.name for f in dataclasses.fields(cls) if f.metadata.get(OMIT_IF_NONE)}
    namespace: dict[str, Any] = {"cls": cls, "CodecError": CodecError}
    lines = [
        "def encode(value):",
        "    if not isinstance(value, cls):",
        '        raise CodecError(f"expected {cls.__name__}, got {type(value).__name__}")',
    ]
    fields = _fields(cls)
    if not omitted:
        terms = []
        for i, (name, tp, _, _) in enumerate(fields):
            namespace[f"k{i}"] = ("," if i else "") + _quote(name) + ":"
            namespace[f"e{i}"] = text_encoder_for(tp)
            terms.append(f"k{i} + e{i}(value.{name})")
        lines.append("    return '{' + " + " + ".join([*terms, "'}'"]))
    else:
        lines.append("    parts = []")
        for i, (name, tp, _, _) in enumerate(fields):
            namespace[f"k{i}"] = _quote(name) + ":"
            namespace[f"e{i}"] = text_encoder_for(tp)
            if name in omitted:
                lines.append(f"    if value.{name} is not None:")
                lines.append(f"        parts.append(k{i} + e{i}(value.{name}))")
            else:
                lines.append(f"    parts.append(k{i} + e{i}(value.{name}))")
        lines.append("    return '{' + ','.join(parts) + '}'")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from field names only
    encoder: TextEncoder = namespace["encode"]
    return encoder


def _variant_text_encoder(cls: type[Tagged]) -> TextEncoder:
    key = "{" + _quote(cls.__variant_name__) + ":"
    fields = _fields(cls)
    if not fields:
        bare = _quote(cls.__variant_name__)
        return lambda v: bare
    if cls.__newtype__:
        if len(fields) != 1:
            raise TypeError(f"newtype variant {cls.__name__} must have exactly one field")
        field_name, field_tp, _, _ = fields[0]
        inner = text_encoder_for(field_tp)
        return lambda v: key + inner(getattr(v, field_name)) + "}"
    struct = _struct_text_encoder(cls)
    return lambda v: key + struct(v) + "}"


def _tagged_text_encoder(root: type[Tagged]) -> TextEncoder:
    per_class: dict[type, TextEncoder] = {}

    def encode(value: Any) -> str:
        cls = type(value)
        enc = per_class.get(cls)
        if enc is None:
            if not isinstance(value, root) or cls.is_root():
                raise CodecError(f"expected a variant of {root.__name__}, got {cls.__name__}")
            enc = _variant_text_encoder(cls)
            per_class[cls] = enc
        return enc(value)

    return encode


# ---------------------------------------------------------------------------
# public helpers


def to_jsonable(tp: Any, value: Any) -> Any:
    """Encode ``value`` of declared type ``tp`` to plain JSON data (dicts, lists, strings)."""
    return encoder_for(tp)(value)


def from_jsonable(tp: type[T], raw: Any, path: str = "$") -> T:
    """Decode plain JSON data into a value of type ``tp``."""
    result: T = decoder_for(tp)(raw, path)
    return result


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# The C encoder behind `_JSON`, built once (JSONEncoder.encode builds it per call).
# No circular-reference markers: a shared markers dict is not thread-safe, and
# encoded data is plain values.
_C_ENCODE = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)


def dumps(data: Any) -> str:
    """Compact JSON exactly as serde_json writes it (no NaN/Infinity: not JSON)."""
    try:
        if _C_ENCODE is not None and isinstance(data, dict | list):
            return "".join(_C_ENCODE(data, 0))
        return _JSON.encode(data)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"cannot write JSON: {exc}") from None


def loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodecError(f"invalid JSON: {exc}") from None


def to_json(tp: Any, value: Any) -> str:
    """Compact JSON text of ``value`` of declared type ``tp`` (= dumps(to_jsonable(...)))."""
    return text_encoder_for(tp)(value)


def from_json(tp: type[T], text: str) -> T:
    return from_jsonable(tp, loads(text))
