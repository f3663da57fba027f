"""The serde-compatible codec: round trips, scalar rules, errors, stored rows.

The reference's golden payloads (reference/es-and-migration.md §2.3) are asserted
byte for byte with the real event types, in each aggregate's own wire tests.
"""

from __future__ import annotations

import re
import sys
import threading
from dataclasses import dataclass, field, make_dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgebot.domain import Direction
from hedgebot.eventstore import EventRegistry, StoredEvent, Tagged, UnknownEventError, codec
from hedgebot.eventstore.codec import EXTENSION, CodecError, encode_datetime, extension
from hedgebot.eventstore.layout import describe_type

# ---------------------------------------------------------------------------
# a kitchen-sink type with every supported field shape


class Shape(Tagged, root=True):
    pass


@dataclass(frozen=True)
class Dot(Shape):
    pass


@dataclass(frozen=True)
class Size(Shape, newtype=True):
    value: Decimal


@dataclass(frozen=True)
class Box(Shape):
    width: int
    label: str | None


@dataclass(frozen=True)
class Inner:
    at: datetime
    amounts: list[Decimal]


@dataclass(frozen=True)
class Everything:
    amount: Decimal
    at: datetime
    count: int
    text: str
    maybe: Decimal | None
    direction: Direction
    inner: Inner
    shape: Shape
    shapes: list[Shape]
    maybe_inner: Inner | None
    flag: bool


decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.builds(
        lambda digits, exponent: Decimal(digits).scaleb(exponent),
        st.integers(-(10**40), 10**40),
        st.integers(-40, 10),
    ),
    st.sampled_from([Decimal("-0"), Decimal("0.000"), Decimal("-0.00"), Decimal("1E+3")]),
)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
datetimes = st.one_of(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30), timezones=offsets
    ),
    st.builds(
        lambda d, millis: d.replace(microsecond=millis * 1000),
        st.datetimes(min_value=datetime(1970, 1, 2), timezones=st.just(UTC)),
        st.integers(0, 999),
    ),
)
shapes: st.SearchStrategy[Shape] = st.one_of(
    st.just(Dot()),
    st.builds(Size, decimals),
    st.builds(Box, st.integers(-(2**63), 2**64 - 1), st.none() | st.text()),
)
inners = st.builds(Inner, datetimes, st.lists(decimals, max_size=3))
everything = st.builds(
    Everything,
    amount=decimals,
    at=datetimes,
    count=st.integers(-(2**63), 2**64 - 1),
    text=st.text(),
    maybe=st.none() | decimals,
    direction=st.sampled_from(Direction),
    inner=inners,
    shape=shapes,
    shapes=st.lists(shapes, max_size=4),
    maybe_inner=st.none() | inners,
    flag=st.booleans(),
)


@dataclass(frozen=True)
class WithExtrasForEquivalence:
    label: str | None = field(default=None, metadata=EXTENSION)
    amount: Decimal | None = field(default=None, metadata=EXTENSION)
    counts: dict[str, int] = field(default_factory=lambda: {"a\u00e9\n": 1})
    any_data: Any = field(default_factory=lambda: {"x": [1, "ü", None, True]})


@given(everything)
def test_every_supported_field_shape_survives_the_round_trip(value: Everything) -> None:
    text = codec.to_json(Everything, value)
    decoded = codec.from_json(Everything, text)
    assert decoded == value
    # equality ignores a Decimal's scale and sign of zero; the text does not
    assert codec.to_json(Everything, decoded) == text


@given(everything, st.builds(WithExtrasForEquivalence, st.none() | st.text(), st.none() | decimals))
def test_the_direct_text_encoder_writes_exactly_what_dumps_of_the_data_writes(
    value: Everything, extras: Any
) -> None:
    assert codec.to_json(Everything, value) == codec.dumps(codec.to_jsonable(Everything, value))
    assert codec.to_json(WithExtrasForEquivalence, extras) == codec.dumps(
        codec.to_jsonable(WithExtrasForEquivalence, extras)
    )


@given(decimals)
def test_decimals_keep_scale_and_sign_of_zero(value: Decimal) -> None:
    text = codec.encode_decimal(value)
    assert "E" not in text and "e" not in text
    decoded = codec.from_jsonable(Decimal, text)
    assert decoded.as_tuple() == value.normalize().as_tuple() or decoded == value
    assert codec.encode_decimal(decoded) == text
    assert decoded.is_signed() == value.is_signed()


def test_decimals_are_plain_strings_with_their_scale() -> None:
    assert codec.encode_decimal(Decimal("150.0")) == "150.0"
    assert codec.encode_decimal(Decimal("1.00")) == "1.00"
    assert codec.encode_decimal(Decimal("-0")) == "-0"
    assert codec.encode_decimal(Decimal("1E+3")) == "1000"
    assert codec.encode_decimal(Decimal("1E-30")) == "0." + "0" * 29 + "1"
    assert codec.encode_decimal(Decimal("123456789012345678901234567890.123456789")) == (
        "123456789012345678901234567890.123456789"
    )


@given(datetimes)
def test_datetimes_are_rfc3339_utc_with_z_and_0_3_or_6_fraction_digits(value: datetime) -> None:
    text = codec.encode_datetime(value)
    assert text.endswith("Z")
    fraction = text[19:-1]
    assert fraction == "" or (fraction[0] == "." and len(fraction) - 1 in (3, 6))
    assert codec.parse_datetime(text) == value
    assert codec.parse_datetime(text).tzinfo is UTC


def test_datetime_fractions_use_the_shortest_exact_form() -> None:
    base = datetime(2025, 11, 5, 12, 34, 56, tzinfo=UTC)
    assert codec.encode_datetime(base) == "2025-11-05T12:34:56Z"
    assert codec.encode_datetime(base.replace(microsecond=123000)) == "2025-11-05T12:34:56.123Z"
    assert codec.encode_datetime(base.replace(microsecond=123456)) == (
        "2025-11-05T12:34:56.123456Z"
    )
    assert codec.encode_datetime(base.replace(microsecond=1000)) == "2025-11-05T12:34:56.001Z"
    assert codec.encode_datetime(base.replace(microsecond=1)) == "2025-11-05T12:34:56.000001Z"


def test_an_offset_datetime_is_written_in_utc() -> None:
    local = datetime(2025, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert codec.encode_datetime(local) == "2024-12-31T23:30:00Z"


def test_nanosecond_fractions_written_by_rust_are_truncated_to_microseconds() -> None:
    parsed = codec.parse_datetime("2025-12-05T13:20:01.123456789Z")
    assert parsed == datetime(2025, 12, 5, 13, 20, 1, 123456, tzinfo=UTC)
    assert codec.parse_datetime("2025-12-05T13:20:01.999999999Z").microsecond == 999999
    assert codec.parse_datetime("2025-12-05T13:20:01.5Z").microsecond == 500000


def test_reference_snapshot_timestamps_with_an_offset_parse_to_utc() -> None:
    assert codec.parse_datetime("2025-11-05T14:34:56.123456789+02:00") == datetime(
        2025, 11, 5, 12, 34, 56, 123456, tzinfo=UTC
    )


def test_a_naive_datetime_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(CodecError, match="timezone-aware"):
        codec.encode_datetime(datetime(2025, 1, 1, 12, 0))


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-01T12:00:00",
        "2025-01-01",
        "yesterday",
        "2025-13-01T00:00:00Z",
        "2025-01-01T00:00:00+24:00",
        "2025-01-01T24:00:00Z",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_a_timestamp_without_offset_or_invalid_is_rejected_naming_it(text: str) -> None:
    with pytest.raises(CodecError, match=re.escape(repr(text))):
        codec.parse_datetime(text)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_decimals_are_rejected_both_ways(value: str) -> None:
    with pytest.raises(CodecError, match="finite"):
        codec.encode_decimal(Decimal(value))
    with pytest.raises(CodecError, match="finite"):
        codec.from_json(Size, f'{{"Size":"{value}"}}')


def test_wrongly_typed_values_are_rejected_when_encoding() -> None:
    with pytest.raises(CodecError, match="integer"):
        codec.to_json(Box, Box(width="3", label=None))  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="integer"):
        codec.to_json(Box, Box(width=True, label=None))
    with pytest.raises(CodecError, match="string"):
        codec.to_json(Box, Box(width=3, label=7))  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="Decimal"):
        codec.to_json(Size, Size(1.5))  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="Direction"):
        codec.to_jsonable(Direction, "Buy")
    with pytest.raises(CodecError, match="Inner"):
        codec.to_jsonable(Inner, {"at": "x"})


def test_floats_in_untyped_json_cannot_smuggle_nan_into_a_payload() -> None:
    with pytest.raises(CodecError, match="JSON"):
        codec.dumps({"x": float("nan")})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"Box":{"width":1.5,"label":null}}', "integer"),
        ('{"Box":{"label":null}}', "missing field 'width'"),
        ('{"Circle":{}}', "unknown Shape variant 'Circle'"),
        ('{"Dot":{}}', "must be a bare string"),
        ('"Box"', "bare string is not enough"),
        ('{"Box":{"width":1,"label":null},"Dot":{}}', "one-key object"),
        ("[1]", "one-key object"),
        ('{"Size":true}', "boolean"),
        ("{", "invalid JSON"),
    ],
)
def test_payloads_that_do_not_match_the_type_are_clear_errors(raw: str, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        codec.from_json(Shape, raw)  # type: ignore[type-abstract]


def test_an_unknown_enum_value_names_the_allowed_ones() -> None:
    with pytest.raises(CodecError, match="'Hold'.*'Buy', 'Sell'"):
        codec.from_jsonable(Direction, "Hold")


def test_output_is_compact_and_keeps_unicode_unescaped() -> None:
    text = codec.to_json(Box, Box(width=1, label='Zürich "€" 🚀\n'))
    assert text == '{"Box":{"width":1,"label":"Zürich \\"€\\" 🚀\\n"}}'
    assert " " not in codec.dumps({"a": [1, 2], "b": {"c": None}})


def test_unknown_keys_are_ignored_and_missing_optionals_are_none_as_serde_does() -> None:
    decoded = codec.from_json(Shape, '{"Box":{"width":2,"colour":"red"}}')  # type: ignore[type-abstract]
    assert decoded == Box(width=2, label=None)


def test_decimals_in_reference_reading_forms_decode() -> None:
    # rust_decimal reads strings, integers, floats and scientific strings
    assert codec.from_jsonable(Decimal, "1e3") == Decimal(1000)
    assert codec.from_jsonable(Decimal, 10) == Decimal(10)
    assert codec.from_jsonable(Decimal, 150.5) == Decimal("150.5")


# ---------------------------------------------------------------------------
# hedgebot-only extension fields


@dataclass(frozen=True)
class WithExtras:
    symbol: str
    legacy_id: int | None = field(default=None, metadata=EXTENSION)
    note: str | None = extension()


def test_extension_fields_are_left_out_while_none_and_written_when_set() -> None:
    assert codec.to_json(WithExtras, WithExtras("AAPL")) == '{"symbol":"AAPL"}'
    assert (
        codec.to_json(WithExtras, WithExtras("AAPL", 7, "x"))
        == '{"symbol":"AAPL","legacy_id":7,"note":"x"}'
    )
    assert codec.from_json(WithExtras, '{"symbol":"AAPL"}') == WithExtras("AAPL")
    assert codec.from_json(WithExtras, '{"symbol":"AAPL","legacy_id":7}') == WithExtras("AAPL", 7)


# ---------------------------------------------------------------------------
# thread safety of the lazily compiled encoders/decoders


def test_threads_using_a_new_type_at_once_never_see_a_half_compiled_field_list() -> None:
    # Each field has its own type, so compiling the plan takes long enough for the
    # interpreter to switch threads in the middle of it.
    names = [f"f{i}" for i in range(300)]
    parts = [make_dataclass(f"Part{i}", [("x", int)], frozen=True) for i in range(len(names))]
    wide = make_dataclass(
        "Wide", [(n, part | None) for n, part in zip(names, parts, strict=True)], frozen=True
    )
    empty = wide(*[None] * len(names))
    results: list[Any] = []
    barrier = threading.Barrier(6)

    def work() -> None:
        barrier.wait()
        try:
            results.append(codec.from_jsonable(wide, dict.fromkeys(names)))
            results.append(codec.to_jsonable(wide, empty))
        except Exception as exc:
            results.append(exc)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        sys.setswitchinterval(previous)
    assert results.count(empty) == 6, [r for r in results if not isinstance(r, dict)]
    assert [list(r) for r in results if isinstance(r, dict)] == [names] * 6


# ---------------------------------------------------------------------------
# stored rows: unit variants, reference-shaped payloads, unknown variants
#
# The byte-equal golden payloads of reference/es-and-migration.md §2.3 are asserted
# with the real event types, next to their aggregates: tests/onchain_trade/test_wire.py,
# tests/position/test_wire_format.py, tests/offchain_order/test_wire.py and
# tests/brokers/test_schwab_auth.py.

SHAPES = EventRegistry("Shape", Shape, prefix="ShapeEvent")


def test_a_unit_variant_is_a_bare_string_both_ways() -> None:
    assert codec.to_json(Shape, Dot()) == '"Dot"'
    assert codec.from_json(Shape, '"Dot"') == Dot()


def test_a_reference_shaped_payload_with_unknown_keys_and_missing_options_decodes() -> None:
    row = StoredEvent(
        1, "Shape", "s-1", 1, "ShapeEvent::Box", "1.0", '{"Box":{"width":3,"future":[1,2]}}', "{}"
    )
    assert SHAPES.decode(row) == Box(3, None)


def test_a_stored_payload_of_an_unknown_variant_names_aggregate_id_and_sequence() -> None:
    row = StoredEvent(9, "Shape", "s-1", 42, "ShapeEvent::Exploded", "1.0", '{"Exploded":{}}', "{}")
    with pytest.raises(UnknownEventError) as info:
        SHAPES.decode(row)
    assert (info.value.aggregate_type, info.value.aggregate_id, info.value.sequence) == (
        "Shape",
        "s-1",
        42,
    )
    assert "Shape 's-1' sequence 42" in str(info.value)
    assert "Exploded" in str(info.value)


# ---------------------------------------------------------------------------
# layout descriptions (snapshots detect a changed state shape)


def test_the_layout_description_changes_with_any_change_of_shape() -> None:
    @dataclass(frozen=True)
    class V1:
        amount: Decimal
        shape: Shape

    @dataclass(frozen=True)
    class V2:
        amount: Decimal
        shape: Shape
        extra: int | None = None

    @dataclass(frozen=True)
    class V3:
        amount: int
        shape: Shape

    described = {describe_type(t).replace(t.__qualname__, "V") for t in (V1, V2, V3)}
    assert len(described) == 3
    assert describe_type(V1) == describe_type(V1)
    assert "Size:newtype{value:Decimal}" in describe_type(V1)
    assert "Direction('Buy','Sell')" in describe_type(Everything)


def test_a_failing_upcaster_is_an_unknown_event_naming_the_row() -> None:
    registry = EventRegistry("Shape", Shape, prefix=None, version="2")

    def broken(raw: Any) -> Any:
        return raw["missing"]

    registry.register_upcaster("Box", "1", "2", broken)
    row = StoredEvent(3, "Shape", "s-1", 7, "Box", "1", '{"Box":{"width":1}}', "{}")
    with pytest.raises(
        UnknownEventError, match=r"'s-1' sequence 7: upcaster of Box from version 1"
    ):
        registry.decode(row)


def test_datetime_texts_depend_only_on_the_instant_and_naive_is_always_refused() -> None:
    utc = datetime(2025, 1, 7, 15, 0, 0, 250_000, tzinfo=UTC)
    paris = datetime(2025, 1, 7, 16, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=1)))
    assert encode_datetime(utc) == encode_datetime(paris) == "2025-01-07T15:00:00.250Z"
    # the aware instant is remembered; a naive datetime of the same wall time is not it
    with pytest.raises(CodecError, match="naive"):
        encode_datetime(datetime(2025, 1, 7, 15, 0, 0, 250_000))
    assert encode_datetime(utc + timedelta(microseconds=1)) == "2025-01-07T15:00:00.250001Z"
