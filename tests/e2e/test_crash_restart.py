"""Crash safety of `hedgebot run` (SPEC §6): the real console script is SIGKILLed at
random moments while 500 fills stream in, and restarted each time; a SIGTERM during a
burst stops it cleanly. At the end every fill is recorded and acknowledged exactly once,
net = fills - filled hedges exactly, and the broker never saw one execution twice."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.brokers.fakes.alpaca import FakeAlpaca
from hedgebot.brokers.fakes.base import FillPlan, run_in_thread
from hedgebot.clock import ManualClock
from hedgebot.devnet.market import DEMO_STOCKS, Fill, StockMarket, Takers
from hedgebot.domain import Direction
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.offchain_order.view import order as order_record
from tests.e2e.botproc import (
    BotProcess,
    Stream,
    bot_environment,
    check_exactly_once,
    counts,
    groups_of,
    settled,
    write_config,
)
from tests.e2e.waiting import wait_until

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

TUESDAY_OPEN = datetime(2025, 1, 7, 15, 0, tzinfo=UTC)
SEED = int(os.environ.get("HEDGEBOT_E2E_SEED", "20250107"))
GRACE_SECONDS = 5.0
SETTLE_TIMEOUT = 120.0


@pytest.fixture
def fake_alpaca() -> Iterator[FakeAlpaca]:
    """Always open (its clock stands still on a Tuesday morning); orders fill on the
    second status poll, so kills also land while orders are working."""
    fake = FakeAlpaca(clock=ManualClock(TUESDAY_OPEN))
    fake.default_plan = FillPlan(polls_before_fill=1)
    with run_in_thread(fake) as running:
        yield running


def stream_of(market: StockMarket, rng: random.Random, fills: int, pace: float) -> Stream:
    takers = Takers(DEMO_STOCKS, seed=rng.randrange(2**32))
    sizes = [rng.choice((1, 1, 2, 3)) for _ in range(fills)]
    groups = groups_of(list(takers.fills(fills)), sizes)
    return Stream(market, groups, pace)


def test_bot_killed_at_random_moments_while_500_fills_stream_in_loses_and_repeats_nothing(
    market: StockMarket, fake_alpaca: FakeAlpaca, sqlite_path: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    config = write_config(tmp_path / "bot.toml", sqlite_path, market, grace=GRACE_SECONDS)
    env = bot_environment(market, fake_alpaca)
    log = tmp_path / "bot.log"
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    stream = stream_of(market, rng, 500, pace=0.12).start()
    try:
        at_kill: list[tuple[int, int, int]] = []
        kills = 0
        bot = BotProcess(config, env, log)
        while kills < 20 or (kills < 60 and stream.running):
            # The random crash point. Most kills wait until the services run, then let
            # them work a random while; some hit the start-up itself.
            if rng.random() < 0.8:
                wait_until(bot.started, timeout=60, what=f"bot start-up:\n{bot.log_tail()}")
                lifetime = rng.uniform(0.0, 1.5)
            else:
                lifetime = rng.uniform(0.0, 2.0)
            assert bot.survives(lifetime), f"seed {SEED}: the bot died:\n{bot.log_tail()}"
            bot.kill()
            kills += 1
            at_kill.append(counts(store))
            bot = BotProcess(config, env, log)
        stream.join(timeout=120)
        fills, trade_ids = stream.fills, stream.trade_ids()
        wait_until(bot.started, timeout=60, what=f"the last start-up:\n{bot.log_tail()}")
        wait_until(
            lambda: settled(store, len(fills)),
            timeout=SETTLE_TIMEOUT,
            what=f"the bot to settle 500 fills (seed {SEED}, counts {counts(store)})",
        )
        assert bot.terminate(timeout=GRACE_SECONDS + 10) == 0, bot.log_tail()
        figures = check_exactly_once(store, fake_alpaca, fills, trade_ids)
    finally:
        store.close()
    assert len(fills) == 500
    assert kills >= 20
    # the kills hit the bot with work in hand, not only idle or starting up
    assert any(
        recorded > acknowledged or open_orders for recorded, acknowledged, open_orders in at_kill
    ), at_kill
    assert len({recorded for recorded, _, _ in at_kill}) > 5, at_kill
    print(
        f"seed {SEED}: {kills} kills, {figures}, (recorded, acknowledged, open) at kills: {at_kill}"
    )


def test_sigterm_during_a_burst_exits_0_in_the_grace_period_and_a_restart_leaves_no_half_work(
    market: StockMarket, fake_alpaca: FakeAlpaca, sqlite_path: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 1)
    config = write_config(tmp_path / "bot.toml", sqlite_path, market, grace=GRACE_SECONDS)
    env = bot_environment(market, fake_alpaca)
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        bot = BotProcess(config, env, tmp_path / "first.log")
        wait_until(bot.started, timeout=60, what=f"start-up:\n{bot.log_tail()}")
        stream = stream_of(market, rng, 200, pace=0.02).start()
        wait_until(lambda: counts(store)[1] >= 40, timeout=60, what="the burst to be acknowledged")
        code = bot.terminate(timeout=GRACE_SECONDS + 3)
        at_stop = counts(store)
        log = bot.log_path.read_text()
        assert code == 0, bot.log_tail()
        assert '"event": "shutdown_requested"' in log
        assert '"event": "services_stopped"' in log
        assert "service_cancelled_after_grace" not in log, "a service ignored the stop"
        assert "service_failed" not in log

        stream.join(timeout=120)
        fills, trade_ids = stream.fills, stream.trade_ids()
        assert at_stop[0] < len(fills), "the stop did not land during the burst"
        bot = BotProcess(config, env, tmp_path / "second.log")
        wait_until(bot.started, timeout=60, what=f"restart:\n{bot.log_tail()}")
        wait_until(
            lambda: settled(store, len(fills)),
            timeout=SETTLE_TIMEOUT,
            what=f"the restarted bot to settle (counts {counts(store)})",
        )
        assert bot.terminate(timeout=GRACE_SECONDS + 3) == 0, bot.log_tail()
        check_exactly_once(store, fake_alpaca, fills, trade_ids)
    finally:
        store.close()


def test_a_bot_killed_after_the_broker_took_the_order_but_before_recording_it_places_nothing_twice(
    market: StockMarket, fake_alpaca: FakeAlpaca, sqlite_path: Path, tmp_path: Path
) -> None:
    """The narrowest crash window, hit on purpose: the fake creates the order and never
    answers, the bot is SIGKILLed while it waits, and the restarted bot must find the
    existing order by its client order id instead of placing a second one."""
    fake_alpaca.faults.hang(after_handling=True, method="POST", path="/v2/orders")
    config = write_config(tmp_path / "bot.toml", sqlite_path, market, grace=GRACE_SECONDS)
    env = bot_environment(market, fake_alpaca)
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        bot = BotProcess(config, env, tmp_path / "bot.log")
        wait_until(bot.started, timeout=60, what=f"start-up:\n{bot.log_tail()}")
        fill = Fill("tAAPL", Direction.BUY, Decimal("2.5"), Decimal("227.50"))
        tx = market.emit([fill])
        wait_until(
            lambda: fake_alpaca.orders_created() == 1, timeout=60, what="the order at the broker"
        )
        pending = order_record(store, 1)
        assert pending is not None and pending.status == "PENDING"  # not yet recorded
        bot.kill()

        bot = BotProcess(config, env, tmp_path / "bot.log")
        wait_until(bot.started, timeout=60, what=f"restart:\n{bot.log_tail()}")
        wait_until(lambda: settled(store, 1), timeout=60, what=f"settle ({counts(store)})")
        assert bot.terminate(timeout=GRACE_SECONDS + 3) == 0, bot.log_tail()
        figures = check_exactly_once(store, fake_alpaca, [fill], market.trade_ids(tx))
        done = order_record(store, 1)
    finally:
        store.close()
    assert figures == {"executions": 1, "broker_orders": 1}
    assert fake_alpaca.post_attempts == 1
    (only,) = fake_alpaca.orders.values()
    assert done is not None and done.status == "FILLED"
    assert done.broker_order_id == only.order_id
