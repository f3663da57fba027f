"""OnChainTrade: one owner fill on chain, its events, aggregate and view (SPEC §4.1, §5)."""

from hedgebot.onchain_trade.commands import Enrich, Migrate, OnChainTradeCommand, Witness
from hedgebot.onchain_trade.events import (
    ONCHAIN_TRADE_EVENTS,
    Enriched,
    Filled,
    LegacyPyth,
    Migrated,
    OnChainTradeEvent,
    PythPrice,
)
from hedgebot.onchain_trade.state import (
    ONCHAIN_TRADE,
    AlreadyEnriched,
    AlreadyFilled,
    NotFilled,
    OnChainTradeError,
    OnChainTradeState,
)
from hedgebot.onchain_trade.view import OnChainTradeView

__all__ = [
    "ONCHAIN_TRADE",
    "ONCHAIN_TRADE_EVENTS",
    "AlreadyEnriched",
    "AlreadyFilled",
    "Enrich",
    "Enriched",
    "Filled",
    "LegacyPyth",
    "Migrate",
    "Migrated",
    "NotFilled",
    "OnChainTradeCommand",
    "OnChainTradeError",
    "OnChainTradeEvent",
    "OnChainTradeState",
    "OnChainTradeView",
    "PythPrice",
    "Witness",
]
