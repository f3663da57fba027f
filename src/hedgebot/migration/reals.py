"""Legacy REAL (IEEE-754 double) → `Decimal`, losslessly.

The legacy tables keep quantities and prices as SQLite REALs. The views expose them
as REALs again (generated columns over the event payload's decimal strings), and the
import promises that **the view's REAL equals the legacy REAL bit for bit**. So the
decimal written into the event must convert back to the very same double:

* by a correctly rounded conversion (Python's ``float()``, PostgreSQL's ``float8``,
  ``strtod``): true of the float's *shortest round-trip repr* by construction;
* by SQLite's own text → REAL conversion, which computes the view's generated
  columns. SQLite up to at least 3.40 is **not** correctly rounded: about one 17-digit
  string in 20,000 comes back one ulp off. `RealConverter` therefore checks every
  shortest repr against SQLite (one query per batch) and, for the rare value SQLite
  misreads, picks the shortest slightly longer decimal that both conversions agree on.

Why not the Rust reference's algorithm (rust_decimal ``Decimal::try_from(f64)``)? It
rounds to ~15-16 significant digits (2/3 → ``0.666666666666667``), so its decimal does
not convert back to the legacy double: the view would not equal the legacy table.
`rust_from_f64` is a faithful port kept to document and test that difference and for
interoperability checks (`fits_rust_decimal`).
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Context, Decimal

_RUST_MAX_SCALE = 28
_U96 = 1 << 96
_SQLITE_BATCH = 20_000


class NotFiniteReal(ValueError):
    """NaN or ±infinity: no decimal represents it."""


class UnreadableReal(ValueError):
    """A double (in practice only below ~1e-290) that SQLite cannot read back exactly."""


def shortest_decimal(value: float) -> Decimal:
    """The float's shortest round-trip decimal, without trailing zeros or exponent.

    ``10.0`` → ``10``, ``150.50`` → ``150.5``, ``1e20`` → ``100000000000000000000``,
    ``-0.0`` → ``-0`` (as the reference prints it).
    """
    if not math.isfinite(value):
        raise NotFiniteReal(f"{value!r} is not a finite number")
    text = repr(value)
    if "e" not in text and value != 0.0:
        # The common case, without Decimal arithmetic: repr has no trailing zeros
        # except the ".0" of an integral value.
        return Decimal(text[:-2] if text.endswith(".0") else text)
    return _plain(Decimal(text))


def _plain(number: Decimal) -> Decimal:
    """Strip trailing zeros; never leave a positive exponent (``1E+1`` → ``10``)."""
    if number.is_zero():
        return Decimal("-0") if number.is_signed() else Decimal(0)
    normalized = number.normalize(Context(prec=800))
    exponent = normalized.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent > 0:
        return normalized.quantize(Decimal(1), context=Context(prec=800))
    return normalized


def fits_rust_decimal(number: Decimal) -> bool:
    """Whether rust_decimal holds ``number`` exactly (scale ≤ 28, |mantissa| < 2^96).

    The reference reads a longer decimal string by rounding it to 28 places; hedgebot
    reads it exactly. The import reports how many values are affected.
    """
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) <= _RUST_MAX_SCALE and -_RUST_MAX_SCALE <= exponent <= 0:
        return True  # at most 28 digits: the mantissa is below 10^28 < 2^96
    mantissa = int("".join(map(str, digits)) or "0")
    scale = -exponent if exponent < 0 else 0
    if exponent > 0:
        mantissa *= 10**exponent
    return scale <= _RUST_MAX_SCALE and mantissa < _U96


def rust_from_f64(value: float) -> Decimal | None:
    """rust_decimal 1.39 ``Decimal::try_from(f64)`` (``from_f64(n, true)``), bit for bit.

    Returns None where the crate returns an error (NaN, ±inf, |n| ≥ ~7.9e28). Ported
    from ``src/decimal.rs::base2_to_decimal``; see reference/es-and-migration.md §2.2.
    """
    if not math.isfinite(value):
        return None
    raw = struct.unpack("<Q", struct.pack("<d", value))[0]
    positive = (raw >> 63) == 0
    biased_exponent = (raw >> 52) & 0x7FF
    mantissa = raw & ((1 << 52) - 1)
    if biased_exponent == 0 and mantissa == 0:
        return Decimal(0) if positive else Decimal("-0")
    exponent2 = biased_exponent - 1023
    if biased_exponent == 0:
        exponent2 += 1  # subnormal: no hidden bit
    else:
        mantissa |= 1 << 52
    exponent2 -= 52
    exponent5 = -exponent2
    exponent10 = exponent2
    while exponent5 > 0:
        if mantissa & 1 == 0:
            exponent10 += 1
            exponent5 -= 1
            mantissa >>= 1
        else:
            exponent5 -= 1
            if mantissa * 5 < _U96:
                mantissa *= 5
            else:
                exponent10 += 1
                mantissa >>= 1
    while exponent5 < 0:
        if mantissa & (1 << 95) == 0:
            exponent10 -= 1
            exponent5 += 1
            mantissa <<= 1
        elif exponent10 * 2 > -exponent5:
            return None
        else:
            exponent5 += 1
            mantissa //= 5
    while exponent10 > 0:
        if mantissa * 10 < _U96:
            mantissa *= 10
            exponent10 -= 1
        else:
            return None
    while exponent10 < -_RUST_MAX_SCALE:
        remainder = mantissa % 10
        mantissa //= 10
        exponent10 += 1
        if mantissa == 0:
            exponent10 = 0
        elif remainder >= 5:
            mantissa += 1
    # Excess-bit removal: keep no more precision than a double guarantees (m < 2^52),
    # rounding half-up at each step (so double rounding can happen, as in the crate).
    while exponent10 < 0 and mantissa >= 1 << 52:
        remainder = mantissa % 10
        mantissa //= 10
        exponent10 += 1
        if remainder >= 5:
            mantissa += 1
    while exponent10 < 0 and mantissa % 10 == 0:
        mantissa //= 10
        exponent10 += 1
    digits = tuple(int(d) for d in str(mantissa))
    return Decimal((0 if positive else 1, digits, exponent10))


def _candidates(value: float, shortest: Decimal) -> list[Decimal]:
    """Decimals that round-trip to ``value`` in Python, shortest first, nearest first."""
    exact = Decimal(value)  # the double's exact binary value
    found: list[Decimal] = []
    start = max(len(shortest.as_tuple().digits), 1)
    for significant in range(start, 21):
        centre = exact.normalize(Context(prec=significant, rounding=ROUND_HALF_EVEN))
        exponent = centre.as_tuple().exponent
        assert isinstance(exponent, int)
        step = Decimal((0, (1,), exponent))
        for offset in (0, 1, -1, 2, -2, 3, -3):
            candidate = _plain(centre + step * offset)
            if float(candidate) == value and candidate not in found:
                found.append(candidate)
    found.append(_plain(exact))
    return found


class RealConverter:
    """Converts legacy REALs to decimals that read back exactly, in Python and SQLite.

    Results are cached per double; SQLite is consulted in batches through a private
    in-memory connection of the same SQLite library that computes the views.
    """

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:")
        self._cache: dict[float, Decimal] = {}
        self._unreadable: set[float] = set()
        #: doubles whose shortest repr SQLite misread, so a longer decimal was used
        self.adjusted = 0

    def close(self) -> None:
        self._conn.close()

    def _sqlite_reads(self, texts: list[str]) -> list[float | None]:
        rows = self._conn.execute(
            "SELECT CAST(value AS REAL) FROM json_each(?) ORDER BY key", (json.dumps(texts),)
        ).fetchall()
        return [None if r[0] is None else float(r[0]) for r in rows]

    def prepare(self, values: Iterable[float]) -> None:
        """Convert many values at once (one SQLite query per batch)."""
        cache, unreadable = self._cache, self._unreadable
        isfinite = math.isfinite
        pending: list[tuple[float, Decimal, str]] = []
        seen: set[float] = set()
        for value in values:
            if value in cache or value in unreadable or value in seen or not isfinite(value):
                continue
            seen.add(value)
            text = repr(value)
            if "e" not in text and value != 0.0:
                # `shortest_decimal`'s common case; its plain text is the repr itself
                text = text[:-2] if text.endswith(".0") else text
                pending.append((value, Decimal(text), text))
            else:
                decimal = shortest_decimal(value)
                pending.append((value, decimal, format(decimal, "f")))
        for start in range(0, len(pending), _SQLITE_BATCH):
            chunk = pending[start : start + _SQLITE_BATCH]
            reads = self._sqlite_reads([text for _, _, text in chunk])
            for (value, decimal, _), read in zip(chunk, reads, strict=True):
                if read == value:
                    cache[value] = decimal
                else:
                    agreeing = self._agreeing(value, decimal)
                    if agreeing is None:
                        unreadable.add(value)
                    else:
                        cache[value] = agreeing

    def _agreeing(self, value: float, shortest: Decimal) -> Decimal | None:
        candidates = _candidates(value, shortest)
        reads = self._sqlite_reads([format(c, "f") for c in candidates])
        for candidate, read in zip(candidates, reads, strict=True):
            if read == value:
                self.adjusted += 1
                return candidate
        return None

    def cached(self, value: float) -> Decimal | None:
        """The decimal of an already prepared double, or None (then use `convert`)."""
        if value == 0.0:
            return None  # keep -0.0 and 0.0 apart: `convert` handles them
        return self._cache.get(value)

    def convert(self, value: float) -> Decimal:
        """The decimal for one double.

        Raises `NotFiniteReal` for NaN/±inf and `UnreadableReal` for a double SQLite
        cannot read back exactly from any decimal string.
        """
        if value == 0.0:
            return shortest_decimal(value)  # keeps the sign of -0.0 (equal keys in a dict)
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        if not math.isfinite(value):
            raise NotFiniteReal(f"{value!r} is not a finite number")
        self.prepare([value])
        cached = self._cache.get(value)
        if cached is None:
            raise UnreadableReal(
                f"{value!r} cannot be carried into a view exactly: SQLite reads every "
                "decimal string of it as a different REAL"
            )
        return cached
