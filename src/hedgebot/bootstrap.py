"""The one place that builds adapters and wires them (DESIGN.md).

Tests, the demo, the benchmarks and `hedgebot run` all call these functions, with
fakes where they need them (a `ManualClock`, a paper or fake-server broker).
Importing this module connects to nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from hedgebot.brokers.protocol import BrokerPort
from hedgebot.clock import Clock, SystemClock
from hedgebot.config import Settings
from hedgebot.domain import Broker
from hedgebot.eventstore import CommandHandler, EventRegistry, EventStore, Projector, View
from hedgebot.eventstore.factory import open_store
from hedgebot.eventstore.notify import CommitSignal, NotifyingStore
from hedgebot.metrics import Metrics
from hedgebot.offchain_order.commands import OffchainOrderCommand
from hedgebot.offchain_order.state import OFFCHAIN_ORDER, OffchainOrderState
from hedgebot.onchain_trade.commands import OnChainTradeCommand
from hedgebot.onchain_trade.state import ONCHAIN_TRADE, OnChainTradeState
from hedgebot.position.commands import PositionCommand
from hedgebot.position.events import DollarValue, ExecutionThreshold, Shares
from hedgebot.position.state import POSITION, PositionState
from hedgebot.position.trade_manager import HedgePolicy

#: decimal places of fractional orders per broker (None = whole shares only)
ALPACA_FRACTIONAL_DECIMALS = 9
PAPER_FRACTIONAL_DECIMALS = 9


def all_registries() -> list[EventRegistry]:
    from hedgebot.brokers.schwab.auth import SCHWAB_AUTH_EVENTS
    from hedgebot.offchain_order.events import OFFCHAIN_ORDER_EVENTS
    from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS
    from hedgebot.position.events import POSITION_EVENTS

    return [ONCHAIN_TRADE_EVENTS, POSITION_EVENTS, OFFCHAIN_ORDER_EVENTS, SCHWAB_AUTH_EVENTS]


def all_views() -> list[View]:
    """Every view of the product, maintained in the same transaction as the events."""
    from hedgebot.brokers.schwab.auth import SchwabAuthView
    from hedgebot.metrics_pnl.view import MetricsPnlView
    from hedgebot.offchain_order.view import OffchainTradeView
    from hedgebot.onchain_trade.view import OnChainTradeView
    from hedgebot.position.view import PositionView

    return [
        OnChainTradeView(),
        PositionView(),
        OffchainTradeView(),
        MetricsPnlView(),
        SchwabAuthView(),
    ]


def build_projector() -> Projector:
    return Projector(all_views(), all_registries())


def hedge_policy(settings: Settings) -> HedgePolicy:
    broker_settings = settings.broker
    threshold_settings = broker_settings.effective_threshold
    threshold: ExecutionThreshold
    if threshold_settings.shares is not None:
        threshold = Shares(threshold_settings.shares)
    else:
        assert threshold_settings.dollars is not None
        threshold = DollarValue(threshold_settings.dollars)
    kind = {"paper": Broker.DRY_RUN, "alpaca": Broker.ALPACA, "schwab": Broker.SCHWAB}[
        broker_settings.kind
    ]
    decimals: int | None = None
    if broker_settings.kind == "alpaca":
        decimals = ALPACA_FRACTIONAL_DECIMALS
    elif broker_settings.kind == "paper" and broker_settings.paper.fractional:
        decimals = PAPER_FRACTIONAL_DECIMALS
    return HedgePolicy(broker=kind, default_threshold=threshold, fractional_decimals=decimals)


@dataclass
class Core:
    """The store, the command handlers and what every process role shares."""

    settings: Settings
    clock: Clock
    store: EventStore
    signal: CommitSignal
    projector: Projector
    metrics: Metrics
    onchain_trades: CommandHandler[OnChainTradeState, OnChainTradeCommand]
    positions: CommandHandler[PositionState, PositionCommand]
    orders: CommandHandler[OffchainOrderState, OffchainOrderCommand]
    policy: HedgePolicy

    def close(self) -> None:
        self.store.close()


def build_core(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: EventStore | None = None,
    upgrade: bool = True,
) -> Core:
    """Open the store (migrating it) and build the command handlers over it."""
    clock = clock or SystemClock()
    inner = store or open_store(
        settings.database.url,
        upgrade=upgrade,
        sqlite_synchronous=settings.database.sqlite_synchronous,
    )
    signal = CommitSignal()
    notifying = NotifyingStore(inner, signal)
    projector = build_projector()
    every = settings.database.snapshot_every

    common = {"clock": clock, "projector": projector, "snapshot_every": every}
    return Core(
        settings=settings,
        clock=clock,
        store=notifying,
        signal=signal,
        projector=projector,
        metrics=Metrics(),
        onchain_trades=CommandHandler(notifying, ONCHAIN_TRADE, **common),  # type: ignore[arg-type]
        positions=CommandHandler(notifying, POSITION, **common),  # type: ignore[arg-type]
        orders=CommandHandler(notifying, OFFCHAIN_ORDER, **common),  # type: ignore[arg-type]
        policy=hedge_policy(settings),
    )


def last_price_source(core: Core) -> Callable[[str], Decimal | None]:
    """The paper broker's default fill price: the symbol's last onchain price."""
    from hedgebot.position.view import position_by_symbol

    def price(symbol: str) -> Decimal | None:
        position = position_by_symbol(core.store, symbol)
        return None if position is None else position.last_price_usdc

    return price


async def build_broker(settings: Settings, core: Core) -> BrokerPort:
    """The configured broker adapter (secrets already checked by the caller)."""
    kind = settings.broker.kind
    if kind == "paper":
        from hedgebot.brokers.paper import PaperBroker

        return PaperBroker.from_settings(
            settings.broker.paper, clock=core.clock, price_source=last_price_source(core)
        )
    if kind == "alpaca":
        from hedgebot.brokers.alpaca import AlpacaBroker

        return AlpacaBroker.from_settings(settings.broker.alpaca, clock=core.clock)
    from hedgebot.brokers.schwab.wiring import build_schwab_broker

    return await build_schwab_broker(settings.broker.schwab, core)
