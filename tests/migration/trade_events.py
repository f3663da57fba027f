"""A Migrated trade event with plain defaults, for the import's encoder tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hedgebot.domain import Direction
from hedgebot.onchain_trade.events import Migrated

T0 = datetime(2025, 10, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2025, 10, 1, 12, 0, 1, 500000, tzinfo=UTC)


def migrated(**overrides: Any) -> Migrated:
    values: dict[str, Any] = {
        "symbol": "tAAPL",
        "amount": Decimal("1.5"),
        "direction": Direction.BUY,
        "price_usdc": Decimal("150.25"),
        "block_number": 7,
        "block_timestamp": T0,
        "gas_used": None,
        "pyth_price": None,
        "migrated_at": T1,
    }
    values.update(overrides)
    return Migrated(**values)
