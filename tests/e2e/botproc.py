"""`hedgebot run` as a real process for the crash and shutdown tests, and the checks of
exactly-once that every such test ends with.

The bot is the installed console script with a TOML config file plus ``HEDGEBOT_``
environment variables pointing at anvil and at a `FakeAlpaca` that runs in the test
process (a thread), so the fake outlives every death of the bot and counts the orders
it created per ``client_order_id``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from hedgebot.brokers.fakes.alpaca import FakeAlpaca
from hedgebot.devnet.market import Fill, StockMarket
from hedgebot.domain import Direction, base_symbol
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.events import OFFCHAIN_ORDER_EVENTS
from hedgebot.offchain_order.events import Failed as OrderFailed
from hedgebot.offchain_order.events import Filled as OrderFilled
from hedgebot.offchain_order.view import open_orders, orders_by_status
from hedgebot.position.events import POSITION_EVENTS, OffChainOrderFilled, OffChainOrderPlaced
from hedgebot.position.events import OnChainOrderFilled as Acknowledged
from hedgebot.position.view import all_positions

ALPACA_DECIMALS = 9
STARTED = b'"event": "services_started"'
WRITER = b'"trade_manager"'
KEY = re.compile(r"^hedgebot-(\d+)(?:-\d+)?$")
ZERO = Decimal(0)
ACKNOWLEDGED_SQL = (
    "SELECT COUNT(*) FROM events WHERE aggregate_type = 'Position' "
    "AND event_type = 'PositionEvent::OnChainOrderFilled'"
)
RECORDED_SQL = (
    "SELECT COUNT(*) FROM events WHERE aggregate_type = 'OnChainTrade' "
    "AND event_type = 'OnChainTradeEvent::Filled'"
)


def hedgebot_script() -> str:
    found = shutil.which("hedgebot", path=str(Path(sys.executable).parent))
    assert found is not None, "the hedgebot console script is not installed in the venv"
    return found


def write_config(path: Path, database: Path, market: StockMarket, *, grace: float) -> Path:
    """Settings in the file; where the chain and the broker are, in the environment."""
    path.write_text(
        f"""
[database]
url = "sqlite://{database}"
sqlite_synchronous = "FULL"

[chain]
orderbook = "{market.orderbook.address}"
owner = "{market.owner}"
orderbook_version = "v5"
deployment_block = {market.deployment_block}
confirmations = 0
batch_size = 4
poll_interval_seconds = 0.05
pyth_address = "{market.pyth.address}"

[broker]
kind = "alpaca"
order_poll_interval_seconds = 0.05

[broker.alpaca]
timeout_seconds = 5

[managers]
position_check_interval_seconds = 0.2
shutdown_grace_seconds = {grace}

[api]
port = 0  # when the bot serves its API: an ephemeral port, never a clash on 8080

[logging]
level = "INFO"
json_output = true
"""
    )
    return path


def bot_environment(market: StockMarket, fake: FakeAlpaca) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
    env.update(
        {
            "HEDGEBOT_CHAIN__RPC_URL": market.node.url,
            "HEDGEBOT_BROKER__ALPACA__BASE_URL": fake.base_url,
            "HEDGEBOT_BROKER__ALPACA__API_KEY": fake.api_key,
            "HEDGEBOT_BROKER__ALPACA__API_SECRET": fake.api_secret,
        }
    )
    return env


class BotProcess:
    """One ``hedgebot run``; its stderr (JSON logs) is appended to ``log_path``."""

    def __init__(self, config: Path, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self._read_from = self._log.tell()
        self.process = subprocess.Popen(
            [hedgebot_script(), "run", "--config", str(config)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def started(self) -> bool:
        """Its writing services run: it logged ``services_started`` with the managers
        (a standby process also logs ``services_started``, for its read-only API)."""
        with self.log_path.open("rb") as handle:
            handle.seek(self._read_from)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        if any(STARTED in line and WRITER in line for line in complete.splitlines()):
            return True
        self._read_from += len(complete)
        return False

    def survives(self, seconds: float) -> bool:
        """Wait ``seconds`` for the process to end; True when it is still running."""
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return True
        return False

    def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction finishes."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def terminate(self, timeout: float) -> int:
        """SIGTERM and the exit code (raises when it takes longer than ``timeout``)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Stream:
    """Fills sent to the chain by a background thread, one transaction per group."""

    market: StockMarket
    groups: Sequence[Sequence[Fill]]
    pace: float
    txs: list[str] = field(default_factory=list)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Stream:
        self.thread = threading.Thread(target=self._run, name="fill-stream", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        stop = threading.Event()
        try:
            for group in self.groups:
                self.txs.append(self.market.emit(group))
                stop.wait(self.pace)  # pacing of the simulated takers, not a synchronisation
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float) -> None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the fill stream did not finish"
        assert self.error is None, f"the fill stream failed: {self.error}"

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def fills(self) -> list[Fill]:
        return [fill for group in self.groups for fill in group]

    def trade_ids(self) -> list[str]:
        return [tid for tx in self.txs for tid in self.market.trade_ids(tx)]


def groups_of(fills: Sequence[Fill], sizes: Sequence[int]) -> list[list[Fill]]:
    """Consecutive fills cut into transactions; a transaction holds one symbol and side."""
    groups: list[list[Fill]] = []
    index = 0
    for size in sizes:
        if index >= len(fills):
            break
        first = fills[index]
        group = [first]
        for fill in fills[index + 1 : index + size]:
            group.append(Fill(first.symbol, first.direction, fill.shares, fill.price))
        groups.append(group)
        index += len(group)
    return groups


def execution_of(client_order_id: str) -> int:
    """The execution id inside an idempotency key (``hedgebot-<id>[-<millis>]``)."""
    found = KEY.match(client_order_id)
    assert found is not None, f"unexpected client order id {client_order_id!r}"
    return int(found.group(1))


# -- what the store says ------------------------------------------------------------------


def counts(store: SqliteEventStore) -> tuple[int, int, int]:
    """(fills recorded, fills acknowledged, open broker orders)."""
    recorded = int(str(store.query(RECORDED_SQL)[0][0]))
    acknowledged = int(str(store.query(ACKNOWLEDGED_SQL)[0][0]))
    return recorded, acknowledged, len(open_orders(store))


def settled(store: SqliteEventStore, fills: int) -> bool:
    """Everything recorded and acknowledged, no order open, nothing left to hedge.

    The positions are read once, after the counts, and both "nothing pending" and
    "nothing to hedge" are judged on that one read: two reads could straddle a hedge
    the checker just placed (not pending in the first, no longer "ready" in the second)
    and call a bot settled that has a hedge in flight.
    """
    recorded, acknowledged, open_count = counts(store)
    if (recorded, acknowledged, open_count) != (fills, fills, 0):
        return False
    positions = all_positions(store)
    return all(p.pending_execution_id is None for p in positions) and not any(
        not p.hedging_suspended and p.hedge_plan(ALPACA_DECIMALS) is not None for p in positions
    )


def check_exactly_once(
    store: SqliteEventStore, fake: FakeAlpaca, fills: Sequence[Fill], trade_ids: Sequence[str]
) -> dict[str, int]:
    """The guarantees of SPEC §6 after any number of crashes; returns a few figures."""
    assert len(trade_ids) == len(fills) == len(set(trade_ids))
    events = store.read_all(0, 1_000_000)

    # every fill recorded exactly once
    filled = Counter(
        e.aggregate_id
        for e in events
        if e.aggregate_type == "OnChainTrade" and e.event_type == "OnChainTradeEvent::Filled"
    )
    assert set(filled) == set(trade_ids), "recorded fills differ from the fills emitted"
    assert set(filled.values()) == {1}, "a fill was recorded twice"
    enriched = Counter(
        e.aggregate_id for e in events if e.event_type == "OnChainTradeEvent::Enriched"
    )
    assert set(enriched.values()) <= {1}, "a fill was enriched twice"
    view_rows = int(str(store.query("SELECT COUNT(*) FROM onchain_trade_view")[0][0]))
    assert view_rows == len(trade_ids), "onchain_trade_view disagrees with the events"

    # acknowledged exactly once; net = fills - filled hedges, exactly
    acknowledged: Counter[str] = Counter()
    placed: dict[int, str] = {}
    hedged: dict[str, Decimal] = {}
    for event in events:
        if event.aggregate_type != "Position":
            continue
        decoded = POSITION_EVENTS.decode(event)
        if isinstance(decoded, Acknowledged):
            acknowledged[decoded.trade_id.aggregate_id] += 1
        elif isinstance(decoded, OffChainOrderPlaced):
            assert decoded.execution_id not in placed, "an execution id was placed twice"
            placed[decoded.execution_id] = event.aggregate_id
        elif isinstance(decoded, OffChainOrderFilled):
            signed = decoded.shares_filled * decoded.direction.sign
            hedged[event.aggregate_id] = hedged.get(event.aggregate_id, ZERO) + signed
    assert set(acknowledged) == set(trade_ids), "acknowledged fills differ from those emitted"
    assert set(acknowledged.values()) == {1}, "a fill was acknowledged twice"

    onchain: dict[str, Decimal] = {}
    for fill in fills:
        symbol = base_symbol(fill.symbol)
        onchain[symbol] = onchain.get(symbol, ZERO) + fill.signed_shares
    at_broker: dict[str, Decimal] = {}
    for order in fake.orders.values():
        side = Direction.BUY if order.side == "buy" else Direction.SELL
        signed = order.filled_quantity * side.sign
        at_broker[order.symbol] = at_broker.get(order.symbol, ZERO) + signed
    positions = {str(p.symbol): p for p in all_positions(store)}
    assert set(positions) == set(onchain)
    for symbol, position in positions.items():
        expected = onchain[symbol] + at_broker.get(symbol, ZERO)
        assert position.net == expected, f"{symbol}: net {position.net} != {expected}"
        assert hedged.get(symbol, ZERO) == at_broker.get(symbol, ZERO), symbol
        assert position.pending_execution_id is None, f"{symbol}: execution left pending"

    # one broker order per execution id, and every execution finished
    created = fake.created_by_client_id
    assert set(created.values()) <= {1}, "a client order id made two broker orders"
    assert fake.orders_created() == len(created)
    executions_at_broker = Counter(execution_of(key) for key in created)
    assert set(executions_at_broker.values()) <= {1}, "one execution made two broker orders"
    assert all(order.is_filled for order in fake.orders.values()), "a broker order never filled"
    outcomes: dict[int, str] = {}
    for event in events:
        if event.aggregate_type != "OffchainOrder":
            continue
        decoded_order = OFFCHAIN_ORDER_EVENTS.decode(event)
        if isinstance(decoded_order, OrderFilled | OrderFailed):
            assert int(event.aggregate_id) not in outcomes, "an order finished twice"
            outcomes[int(event.aggregate_id)] = type(decoded_order).__name__
    assert set(outcomes) == set(placed), "an execution never finished"
    assert set(outcomes.values()) == {"Filled"}, "a hedge failed although the broker accepts all"
    assert set(placed) == set(executions_at_broker), "executions and broker orders differ"
    by_execution = {execution_of(str(o.client_order_id)): o.order_id for o in fake.orders.values()}
    for record in orders_by_status(store, "FILLED"):
        assert record.broker_order_id == by_execution[record.execution_id]
    assert not open_orders(store)
    assert len(orders_by_status(store, "FILLED")) == len(placed), "offchain_trade_view disagrees"
    return {"executions": len(placed), "broker_orders": fake.orders_created()}
