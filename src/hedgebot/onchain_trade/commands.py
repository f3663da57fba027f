"""OnChainTrade commands (SPEC §4.1). Time comes from the handler's clock (``ctx.now``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from hedgebot.domain import Direction
from hedgebot.onchain_trade.events import LegacyPyth, PythPrice


class OnChainTradeCommand:
    """Base of the commands accepted by the OnChainTrade aggregate."""


@dataclass(frozen=True)
class Witness(OnChainTradeCommand):
    """Record a fill seen on chain. ``symbol`` is the tokenized symbol (``tAAPL``)."""

    symbol: str
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_number: int
    block_timestamp: datetime


@dataclass(frozen=True)
class Enrich(OnChainTradeCommand):
    """Add receipt gas and the Pyth price read from the trace."""

    gas_used: int
    pyth_price: PythPrice
    effective_gas_price: int | None = None


@dataclass(frozen=True)
class Migrate(OnChainTradeCommand):
    """Import one legacy ``onchain_trades`` row, every column carried over.

    ``amount``/``price_usdc`` (and the REALs inside ``legacy_pyth``) are the legacy
    REALs converted by their shortest repr, so the view's REAL equals the legacy one.
    ``block_timestamp`` and ``created_at`` are None where the legacy column is NULL or
    absent. ``pyth_price`` may be given directly; otherwise it is derived from
    ``legacy_pyth`` when all four Pyth columns are present.
    """

    symbol: str
    amount: Decimal
    direction: Direction
    price_usdc: Decimal
    block_number: int
    block_timestamp: datetime | None
    gas_used: int | None = None
    pyth_price: PythPrice | None = None
    legacy_id: int | None = None
    created_at: datetime | None = None
    effective_gas_price: int | None = None
    legacy_pyth: LegacyPyth | None = None


__all__ = ["Enrich", "Migrate", "OnChainTradeCommand", "Witness"]
