"""Rain ``Float`` (``rain.math.float``) ↔ exact `Decimal`.

A Float is one ``bytes32``: the high 32 bits are a signed ``int32`` exponent and the
low 224 bits a signed ``int224`` coefficient (two's complement); the value is
``coefficient × 10^exponent``. Decoding builds the `Decimal` from its digits and
exponent directly, so it is exact for every representable value (no context
rounding, no float). Values whose magnitude is absurd for a token amount are
rejected instead of producing gigantic strings downstream.
"""

from __future__ import annotations

from decimal import Decimal

_COEFFICIENT_BITS = 224
_COEFFICIENT_MASK = (1 << _COEFFICIENT_BITS) - 1
_COEFFICIENT_SIGN = 1 << (_COEFFICIENT_BITS - 1)
_EXPONENT_MASK = (1 << 32) - 1
_EXPONENT_SIGN = 1 << 31

#: No token amount needs more than this decimal order of magnitude either way; a Float
#: outside it is treated as malformed rather than turned into a million-digit string.
MAX_ADJUSTED_EXPONENT = 80


class FloatError(ValueError):
    """A bytes32 that is not a usable Rain Float amount."""


def unpack(raw: bytes) -> tuple[int, int]:
    """(coefficient, exponent) of a packed Float, both signed."""
    if len(raw) != 32:
        raise FloatError(f"a Float is 32 bytes, got {len(raw)}")
    word = int.from_bytes(raw, "big")
    coefficient = word & _COEFFICIENT_MASK
    if coefficient & _COEFFICIENT_SIGN:
        coefficient -= 1 << _COEFFICIENT_BITS
    exponent = (word >> _COEFFICIENT_BITS) & _EXPONENT_MASK
    if exponent & _EXPONENT_SIGN:
        exponent -= 1 << 32
    return coefficient, exponent


def decode_float(raw: bytes) -> Decimal:
    """The exact value of a packed Float."""
    coefficient, exponent = unpack(raw)
    value = Decimal((0 if coefficient >= 0 else 1, _digits(abs(coefficient)), exponent))
    if coefficient != 0 and abs(value.adjusted()) > MAX_ADJUSTED_EXPONENT:
        raise FloatError(f"Float {coefficient}e{exponent} is outside the range of a token amount")
    return value


def pack(coefficient: int, exponent: int) -> bytes:
    """Pack (coefficient, exponent) into a Float (used by tests and the demo)."""
    if not -(1 << 223) <= coefficient < (1 << 223):
        raise FloatError(f"coefficient {coefficient} does not fit int224")
    if not -(1 << 31) <= exponent < (1 << 31):
        raise FloatError(f"exponent {exponent} does not fit int32")
    word = ((exponent & _EXPONENT_MASK) << _COEFFICIENT_BITS) | (coefficient & _COEFFICIENT_MASK)
    return word.to_bytes(32, "big")


def encode_decimal(value: Decimal) -> bytes:
    """The Float with exactly ``value``'s digits and exponent."""
    if not value.is_finite():
        raise FloatError(f"cannot pack {value} as a Float")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)) or "0")
    return pack(-coefficient if sign else coefficient, exponent)


def _digits(number: int) -> tuple[int, ...]:
    return tuple(int(c) for c in str(number))
