"""The whole bot in-process on anvil: `run_bot` with its real chain follower, enricher,
TradeManager, OrderManager and position checker, a real SQLite store, and the paper
broker on NYSE hours driven by a `ManualClock`.

One scripted session, checked event by event: fills that arrive on a Saturday are
hedged at Tuesday's open; three small sells cross the threshold together; a rejected
hedge is placed again by the position checker and fills.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgebot.bootstrap import build_core, last_price_source
from hedgebot.brokers.hours import UsEquitySessions
from hedgebot.brokers.paper import PaperBroker
from hedgebot.clock import ManualClock
from hedgebot.conductor import Stop, run_bot
from hedgebot.config import Settings
from hedgebot.demo.broker import RejectFirstOrder
from hedgebot.devnet.market import Fill, StockMarket
from hedgebot.domain import Broker, Direction
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.order_manager import idempotency_key
from hedgebot.offchain_order.view import order as order_record
from hedgebot.onchain_trade.view import trades_in_block_range
from hedgebot.position.events import (
    POSITION_EVENTS,
    Initialized,
    OffChainOrderFailed,
    OffChainOrderFilled,
    OffChainOrderPlaced,
    OnChainOrderFilled,
    Shares,
    SharesThreshold,
)
from hedgebot.position.view import position_by_symbol
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.anvil

D = Decimal
BUY, SELL = Direction.BUY, Direction.SELL
SATURDAY = datetime(2025, 1, 4, 15, 0, tzinfo=UTC)  # NYSE closed
TUESDAY_OPEN = datetime(2025, 1, 7, 15, 0, tzinfo=UTC)  # 10:00 in New York
TIMEOUT = 30.0


def bot_settings(database: Path, market: StockMarket) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite://{database}", "sqlite_synchronous": "NORMAL"},
            "chain": {
                "rpc_url": market.node.url,
                "orderbook": market.orderbook.address,
                "owner": market.owner,
                "deployment_block": market.deployment_block,
                "confirmations": 0,
                "poll_interval_seconds": 0.05,
                "pyth_address": market.pyth.address,
            },
            "broker": {
                "kind": "paper",
                "order_poll_interval_seconds": 0.05,
                "paper": {"market_hours": "nyse"},
            },
            "managers": {"position_check_interval_seconds": 0.1, "shutdown_grace_seconds": 5},
            "api": {"port": 0},  # the bot serves its API on an ephemeral port
        }
    )


def story(store: SqliteEventStore, symbol: str) -> list[tuple[Any, ...]]:
    """A Position's events, each reduced to the fields this test pins down."""
    out: list[tuple[Any, ...]] = []
    for stored in store.load_stream("Position", symbol):
        event = POSITION_EVENTS.decode(stored)
        if isinstance(event, Initialized):
            out.append(("Initialized", event.threshold))
        elif isinstance(event, OnChainOrderFilled):
            trade = event.trade_id.aggregate_id
            out.append(("Fill", trade, event.amount, event.direction, event.price_usdc))
        elif isinstance(event, OffChainOrderPlaced):
            out.append(
                (
                    "Placed",
                    event.execution_id,
                    event.shares,
                    event.direction,
                    event.broker,
                    event.trigger_reason,
                    event.placed_at,
                )
            )
        elif isinstance(event, OffChainOrderFilled):
            out.append(
                (
                    "Filled",
                    event.execution_id,
                    event.shares_filled,
                    event.direction,
                    event.broker_order_id,
                    event.price_cents,
                )
            )
        elif isinstance(event, OffChainOrderFailed):
            out.append(("Failed", event.execution_id, event.error))
        else:
            out.append((type(event).__name__,))
    return out


def order_status(store: SqliteEventStore, execution_id: int) -> str | None:
    record = order_record(store, execution_id)
    return None if record is None else record.status


def test_a_scripted_session_on_anvil_gives_exactly_the_expected_events_and_orders(
    market: StockMarket, sqlite_path: Path
) -> None:
    clock = ManualClock(SATURDAY)
    settings = bot_settings(sqlite_path, market)
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    core = build_core(settings, clock=clock, store=store)
    paper = PaperBroker(
        clock=clock, price_source=last_price_source(core), sessions=UsEquitySessions()
    )
    broker = RejectFirstOrder(paper, "TSLA")
    threshold = Shares(D(1))

    async def emit(*fills: Fill) -> list[str]:
        tx = await asyncio.to_thread(market.emit, list(fills))
        return await asyncio.to_thread(market.trade_ids, tx)

    def exposure_reported(symbol: str, net: Decimal) -> bool:
        """The position checker's last sweep saw ``net`` (it sets the gauge each sweep)."""
        value = core.metrics.registry.get_sample_value(
            "hedgebot_unhedged_exposure_shares", {"symbol": symbol}
        )
        return value is not None and D(str(value)) == net

    async def session() -> None:
        stop = Stop()
        bot = asyncio.create_task(
            run_bot(settings, core=core, broker=broker, stop=stop, install_signal_handlers=False)
        )
        try:
            # -- Saturday: the market is closed; fills accumulate, nothing is sent ------
            nvda_1 = await emit(Fill("tNVDA", BUY, D("1.5"), D("138.20")))
            nvda_2 = await emit(Fill("tNVDA", BUY, D("1.0"), D("138.40")))
            await eventually(
                lambda: exposure_reported("NVDA", D("2.5")),
                timeout=TIMEOUT,
                what="a position-checker sweep that saw both NVDA fills",
            )
            assert paper.orders_placed == 0
            assert order_status(store, 1) is None

            # -- Tuesday's open: the position checker hedges what accumulated ----------
            clock.set(TUESDAY_OPEN)
            await eventually(
                lambda: order_status(store, 1) == "FILLED", timeout=TIMEOUT, what="NVDA hedge"
            )

            # -- three sells in one transaction cross the threshold together -----------
            aapl = await emit(
                Fill("tAAPL", SELL, D("0.3"), D("180.10")),
                Fill("tAAPL", SELL, D("0.5"), D("180.20")),
                Fill("tAAPL", SELL, D("0.4"), D("180.30")),
            )
            await eventually(
                lambda: order_status(store, 2) == "FILLED", timeout=TIMEOUT, what="AAPL hedge"
            )

            # -- the first TSLA hedge is rejected; the checker places it again ---------
            tsla = await emit(Fill("TSLA0x", BUY, D("2.5"), D("345.10")))
            await eventually(
                lambda: order_status(store, 4) == "FILLED",
                timeout=TIMEOUT,
                what="TSLA hedge placed again after the rejection",
            )
        finally:
            stop.set()
            await bot

        nvda_hedge = ("Placed", 1, D(2), SELL, Broker.DRY_RUN)
        assert story(store, "NVDA") == [
            ("Initialized", threshold),
            ("Fill", nvda_1[0], D("1.5"), BUY, D("138.20")),
            ("Fill", nvda_2[0], D("1.0"), BUY, D("138.40")),
            (*nvda_hedge, SharesThreshold(D("2.5"), D(1)), TUESDAY_OPEN),
            ("Filled", 1, D(2), SELL, "PAPER-1", 13840),
        ]
        assert story(store, "AAPL") == [
            ("Initialized", threshold),
            ("Fill", aapl[0], D("0.3"), SELL, D("180.10")),
            ("Fill", aapl[1], D("0.5"), SELL, D("180.20")),
            ("Fill", aapl[2], D("0.4"), SELL, D("180.30")),
            (
                "Placed",
                2,
                D(1),
                BUY,
                Broker.DRY_RUN,
                SharesThreshold(D("1.2"), D(1)),
                TUESDAY_OPEN,
            ),
            ("Filled", 2, D(1), BUY, "PAPER-2", 18030),
        ]
        rejection = "rejected by broker: the demo rejects the first TSLA order (once)"
        assert story(store, "TSLA") == [
            ("Initialized", threshold),
            ("Fill", tsla[0], D("2.5"), BUY, D("345.10")),
            (
                "Placed",
                3,
                D(2),
                SELL,
                Broker.DRY_RUN,
                SharesThreshold(D("2.5"), D(1)),
                TUESDAY_OPEN,
            ),
            ("Failed", 3, rejection),
            (
                "Placed",
                4,
                D(2),
                SELL,
                Broker.DRY_RUN,
                SharesThreshold(D("2.5"), D(1)),
                TUESDAY_OPEN,
            ),
            ("Filled", 4, D(2), SELL, "PAPER-3", 34510),
        ]

        nets = {s: position_by_symbol(store, s) for s in ("NVDA", "AAPL", "TSLA")}
        assert {s: p.net for s, p in nets.items() if p} == {
            "NVDA": D("0.5"),
            "AAPL": D("-0.2"),
            "TSLA": D("0.5"),
        }
        assert all(p is not None and p.pending_execution_id is None for p in nets.values())

        orders = [order_record(store, n) for n in (1, 2, 3, 4)]
        assert [
            (o.symbol, o.status, o.shares, o.direction, o.broker_order_id, o.price_cents)
            for o in orders
            if o is not None
        ] == [
            ("NVDA", "FILLED", D(2), SELL, "PAPER-1", 13840),
            ("AAPL", "FILLED", D(1), BUY, "PAPER-2", 18030),
            ("TSLA", "FAILED", D(2), SELL, None, None),
            ("TSLA", "FILLED", D(2), SELL, "PAPER-3", 34510),
        ]
        assert order_record(store, 5) is None
        # the broker saw exactly three orders, one per idempotency key; the rejected
        # placement never became one
        assert paper.orders_placed == 3
        keys = [idempotency_key("hedgebot", o.execution_id, o.placed_at) for o in orders if o]
        assert [paper.orders_for_key(key) for key in keys] == [1, 1, 0, 1]
        assert broker.rejected_key == keys[2]

        recorded = trades_in_block_range(store, market.deployment_block, 10**9)
        assert sorted(f"{t.tx_hash}:{t.log_index}" for t in recorded) == sorted(
            [*nvda_1, *nvda_2, *aapl, *tsla]
        )

    try:
        asyncio.run(session())
    finally:
        core.close()
