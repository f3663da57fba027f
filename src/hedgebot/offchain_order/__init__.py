"""OffchainOrder: one broker order, its events, aggregate and view (SPEC §4.3, §5)."""

from hedgebot.offchain_order.commands import (
    CompleteFill,
    ConfirmSubmission,
    MarkFailed,
    Migrate,
    OffchainOrderCommand,
    Place,
    UpdatePartialFill,
)
from hedgebot.offchain_order.errors import (
    AlreadyCompleted,
    AlreadyPlaced,
    AlreadySubmitted,
    NotPlaced,
    NotSubmitted,
    OffchainOrderError,
)
from hedgebot.offchain_order.events import (
    OFFCHAIN_ORDER_EVENTS,
    MigratedFailed,
    MigratedFilled,
    MigratedOrderStatus,
    MigratedPending,
    MigratedSubmitted,
    OffchainOrderEvent,
)
from hedgebot.offchain_order.state import OFFCHAIN_ORDER, OffchainOrderState
from hedgebot.offchain_order.view import OffchainOrderRecord, OffchainTradeView

__all__ = [
    "OFFCHAIN_ORDER",
    "OFFCHAIN_ORDER_EVENTS",
    "AlreadyCompleted",
    "AlreadyPlaced",
    "AlreadySubmitted",
    "CompleteFill",
    "ConfirmSubmission",
    "MarkFailed",
    "Migrate",
    "MigratedFailed",
    "MigratedFilled",
    "MigratedOrderStatus",
    "MigratedPending",
    "MigratedSubmitted",
    "NotPlaced",
    "NotSubmitted",
    "OffchainOrderCommand",
    "OffchainOrderError",
    "OffchainOrderEvent",
    "OffchainOrderRecord",
    "OffchainOrderState",
    "OffchainTradeView",
    "Place",
    "UpdatePartialFill",
]
