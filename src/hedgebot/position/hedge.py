"""The hedge rule (SPEC §4.2): when a position is hedged, how much, which way, and why.

One pure function shared by `decide` and by the position checker's query, so the
checker never asks for a hedge that `decide` would refuse for a reason it could
have seen.

* Shares threshold T: hedge when |net| >= T; size floor(|net|) whole shares.
* Dollar threshold D: hedge when |net| x last onchain price >= D; size |net|
  rounded down to the broker's precision (whole shares for a whole-share broker).
* Direction opposite to net; a size that rounds down to zero is no hedge.

Rounding is always down: a hedge never sells or buys more than the exposure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal

from hedgebot.domain import Direction
from hedgebot.position.events import (
    DollarThreshold,
    DollarValue,
    ExecutionThreshold,
    Shares,
    SharesThreshold,
    TriggerReason,
)

#: Arithmetic on positions: wide enough that sums of 18-decimal token amounts are
#: exact (the default 28 digits would round a large position silently).
EXACT = Context(prec=80)

MAX_FRACTIONAL_DECIMALS = 18


@dataclass(frozen=True)
class HedgeOrder:
    shares: Decimal
    direction: Direction
    trigger_reason: TriggerReason


def round_down(quantity: Decimal, decimals: int) -> Decimal:
    """``quantity`` truncated to ``decimals`` places, without padding zeros ("0.02", not
    "0.020000000")."""
    exponent = quantity.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -decimals:
        return quantity
    return quantity.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN, context=EXACT)


def plan_hedge(
    net: Decimal,
    threshold: ExecutionThreshold | None,
    last_price_usdc: Decimal | None,
    fractional_decimals: int | None,
) -> HedgeOrder | None:
    """The hedge this position calls for now, or None when the threshold is not met.

    A dollar threshold without a known positive price (a migrated position before
    its first fill) is not met: its value cannot be known.
    """
    magnitude = abs(net)
    if magnitude == 0 or threshold is None:
        return None
    direction = Direction.SELL if net > 0 else Direction.BUY
    if isinstance(threshold, Shares):
        if magnitude < threshold.value:
            return None
        shares = magnitude.to_integral_value(rounding=ROUND_DOWN, context=EXACT)
        if shares <= 0:
            return None
        return HedgeOrder(shares, direction, SharesThreshold(magnitude, threshold.value))
    if isinstance(threshold, DollarValue):
        if last_price_usdc is None or last_price_usdc <= 0:
            return None
        dollar_value = EXACT.multiply(magnitude, last_price_usdc)
        if dollar_value < threshold.value:
            return None
        shares = round_down(magnitude, fractional_decimals or 0)
        if shares <= 0:
            return None
        reason = DollarThreshold(magnitude, dollar_value, last_price_usdc, threshold.value)
        return HedgeOrder(shares, direction, reason)
    raise TypeError(f"unknown threshold {threshold!r}")
