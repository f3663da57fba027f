"""REAL → Decimal: lossless in Python and in SQLite; the Rust reference's algorithm ported."""

from __future__ import annotations

import math
import random
import sqlite3
import struct
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgebot.migration.reals import (
    NotFiniteReal,
    RealConverter,
    UnreadableReal,
    fits_rust_decimal,
    rust_from_f64,
    shortest_decimal,
)

# reference/es-and-migration.md §2.2: outputs of the real rust_decimal 1.39 crate.
RUST_EXAMPLES = [
    (10.0, "10"),
    (150.5, "150.5"),
    (0.1, "0.1"),
    (0.1 + 0.2, "0.3"),
    (2 / 3, "0.666666666666667"),
    (1 / 3, "0.3333333333333333"),
    (99999.99999999999, "100000"),
    (1234567890123456.7, "1234567890123457"),
    (12345678.123456789, "12345678.12345679"),
    (1e-7, "0.0000001"),
    (1e20, "100000000000000000000"),
    (0.00012345678901234567, "0.0001234567890123457"),
    (5e-324, "0"),
    (7.9e28, "78999999999999996926548246528"),
    (-1e-29, "-0"),
    (-0.0, "-0"),
    (-5.0, "-5"),
    (0.0, "0"),
    (4.5, "4.5"),
]


@pytest.mark.parametrize(("value", "expected"), RUST_EXAMPLES)
def test_rust_port_reproduces_the_crates_documented_outputs(value: float, expected: str) -> None:
    result = rust_from_f64(value)
    assert result is not None
    assert format(result, "f") == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e30, -1e30])
def test_rust_port_fails_where_the_crate_fails(value: float) -> None:
    assert rust_from_f64(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10.0, "10"),
        (150.5, "150.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (2 / 3, "0.6666666666666666"),
        (1e20, "100000000000000000000"),
        (1e-7, "0.0000001"),
        (-0.0, "-0"),
        (-5.0, "-5"),
    ],
)
def test_shortest_decimal_is_the_round_trip_repr_in_plain_notation(
    value: float, expected: str
) -> None:
    assert format(shortest_decimal(value), "f") == expected


def test_where_the_rust_algorithm_rounds_the_shortest_repr_reads_back_exactly() -> None:
    value = 2 / 3
    rust = rust_from_f64(value)
    assert rust is not None
    assert float(rust) != value
    assert float(shortest_decimal(value)) == value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_reals_have_no_decimal(value: float) -> None:
    with pytest.raises(NotFiniteReal):
        shortest_decimal(value)
    converter = RealConverter()
    with pytest.raises(NotFiniteReal):
        converter.convert(value)


def _random_doubles(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    values: list[float] = []
    while len(values) < count:
        if len(values) % 2:
            value = rng.uniform(0, 1e6) * 10 ** rng.randint(-12, 12)
        else:
            value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
            if not math.isfinite(value) or abs(value) < 1e-280:
                continue
        values.append(value)
    return values


def test_converted_decimals_read_back_as_the_same_double_in_python_and_sqlite() -> None:
    values = _random_doubles(60_000, seed=7)
    converter = RealConverter()
    converter.prepare(values)
    texts = [format(converter.convert(v), "f") for v in values]
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE t (payload TEXT, r REAL GENERATED ALWAYS AS "
        "(CAST(json_extract(payload, '$.v') AS REAL)) STORED)"
    )
    conn.executemany("INSERT INTO t (payload) VALUES (?)", [(f'{{"v":"{t}"}}',) for t in texts])
    stored = [row[0] for row in conn.execute("SELECT r FROM t ORDER BY rowid")]
    assert [float(Decimal(t)) for t in texts] == values
    assert stored == values
    # SQLite misreads some shortest reprs: those got a longer decimal.
    assert converter.adjusted > 0


def test_a_value_sqlite_misreads_gets_a_longer_decimal_that_it_reads_exactly() -> None:
    conn = sqlite3.connect(":memory:")

    def sqlite_reads(text: str) -> float:
        return float(conn.execute("SELECT CAST(? AS REAL)", (text,)).fetchone()[0])

    misread = next(
        v
        for v in _random_doubles(200_000, seed=11)
        if abs(v) > 1e-12 and sqlite_reads(format(shortest_decimal(v), "f")) != v
    )
    decimal = RealConverter().convert(misread)
    assert decimal != shortest_decimal(misread)
    assert float(decimal) == misread
    assert sqlite_reads(format(decimal, "f")) == misread


def test_a_double_sqlite_cannot_read_back_at_all_is_refused() -> None:
    # Near the subnormal range SQLite's text → REAL conversion reads no decimal string
    # of this double exactly; the import refuses it instead of changing the value.
    tiny = 1.8481213104918855e-298
    conn = sqlite3.connect(":memory:")
    read = conn.execute("SELECT CAST(? AS REAL)", (format(shortest_decimal(tiny), "f"),))
    assert read.fetchone()[0] != tiny
    with pytest.raises(UnreadableReal):
        RealConverter().convert(tiny)


def test_negative_zero_keeps_its_sign() -> None:
    converter = RealConverter()
    converter.prepare([0.0, -0.0])
    assert str(converter.convert(-0.0)) == "-0"
    assert str(converter.convert(0.0)) == "0"


@given(st.floats(min_value=1e-12, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_any_plausible_quantity_reads_back_exactly(value: float) -> None:
    decimal = shortest_decimal(value)
    assert float(decimal) == value
    assert decimal.as_tuple().exponent <= 0  # type: ignore[operator]


def test_rust_decimal_capacity_is_scale_28_and_96_bits() -> None:
    assert fits_rust_decimal(Decimal("150.5"))
    assert fits_rust_decimal(Decimal("0.0000000000000000000000000001"))
    assert not fits_rust_decimal(Decimal("0.00000000000000000000000000001"))
    assert not fits_rust_decimal(shortest_decimal(2.7755575615628914e-17))
    assert not fits_rust_decimal(Decimal(2**96))
