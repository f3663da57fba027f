"""Failover (issue 10): two `hedgebot run` processes on one PostgreSQL database.

The first leads (holds the advisory lock) and hedges a stream of fills; the second
waits without writing. The leader is SIGKILLed mid-stream; the standby takes over
within seconds and finishes the stream. At the end every fill is recorded and
acknowledged exactly once, net = fills - filled hedges, and the broker never saw one
execution twice although two processes could have placed it.
"""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from hedgebot.brokers.fakes.alpaca import FakeAlpaca
from hedgebot.brokers.fakes.base import FillPlan, run_in_thread
from hedgebot.clock import ManualClock
from hedgebot.devnet.market import DEMO_STOCKS, StockMarket, Takers
from hedgebot.eventstore.postgres import PostgresEventStore
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

pytestmark = [pytest.mark.anvil, pytest.mark.postgres]

TUESDAY_OPEN = datetime(2025, 1, 7, 15, 0, tzinfo=UTC)
SEED = 20250110
FILLS = 120
GRACE_SECONDS = 5.0
TAKEOVER_TIMEOUT = 30.0
WAITING = b'"event": "waiting_for_leadership"'
ACQUIRED = b'"event": "leadership_acquired"'
TOKEN = "failover-operator-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(port: int, method: str, path: str, token: str | None = None) -> tuple[int, object]:
    """(status, JSON body) of one request to the API on ``port``; (0, error) when down."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (http only)
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())
    except OSError as down:
        return 0, str(down)


@pytest.fixture
def fake_alpaca() -> Iterator[FakeAlpaca]:
    """Always open; orders fill on the second status poll, so the kill can land while
    an order is working."""
    fake = FakeAlpaca(clock=ManualClock(TUESDAY_OPEN))
    fake.default_plan = FillPlan(polls_before_fill=1)
    with run_in_thread(fake) as running:
        yield running


def logged(bot: BotProcess, needle: bytes) -> bool:
    return needle in bot.log_path.read_bytes()


def test_killing_the_leader_mid_stream_hands_over_to_the_standby_with_nothing_lost_or_placed_twice(
    market: StockMarket, fake_alpaca: FakeAlpaca, postgres_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    # the file names a SQLite database; the environment points both bots at PostgreSQL
    config = write_config(
        tmp_path / "bot.toml", tmp_path / "unused.db", market, grace=GRACE_SECONDS
    )
    env = {
        **bot_environment(market, fake_alpaca),
        "HEDGEBOT_DATABASE__URL": postgres_url,
        "HEDGEBOT_API__TOKEN": TOKEN,
    }
    standby_port = free_port()
    store = PostgresEventStore(postgres_url, max_size=2)
    leader = standby = None
    try:
        leader_env = {**env, "HEDGEBOT_API__PORT": str(free_port())}
        leader = BotProcess(config, leader_env, tmp_path / "leader.log")
        wait_until(leader.started, timeout=60, what=f"leader start-up:\n{leader.log_tail()}")
        standby_env = {**env, "HEDGEBOT_API__PORT": str(standby_port)}
        standby = BotProcess(config, standby_env, tmp_path / "standby.log")
        wait_until(
            lambda: logged(standby, WAITING),  # type: ignore[arg-type]
            timeout=60,
            what=f"the standby to wait:\n{standby.log_tail()}",
        )
        # the standby answers reads and refuses writes, even with the operator's token
        wait_until(
            lambda: call(standby_port, "GET", "/positions")[0] == 200,
            timeout=30,
            what=f"the standby's read-only API:\n{standby.log_tail()}",
        )
        status, body = call(standby_port, "POST", "/positions/AAPL/resume", TOKEN)
        assert status == 403, body
        assert TOKEN not in json.dumps(body)
        assert not standby.started(), "both processes run their writing services"

        takers = Takers(DEMO_STOCKS, seed=rng.randrange(2**32))
        sizes = [rng.choice((1, 1, 2, 3)) for _ in range(FILLS)]
        stream = Stream(market, groups_of(list(takers.fills(FILLS)), sizes), pace=0.05).start()
        wait_until(
            lambda: counts(store)[1] >= FILLS // 4,  # type: ignore[arg-type]
            timeout=60,
            what="the leader to acknowledge a quarter of the stream",
        )
        leader.kill()
        killed_at = time.monotonic()
        at_kill = counts(store)  # type: ignore[arg-type]
        orders_at_kill = fake_alpaca.orders_created()
        assert not standby.started(), "the standby ran its services before the leader died"

        wait_until(standby.started, timeout=TAKEOVER_TIMEOUT, what=standby.log_tail())
        takeover_seconds = time.monotonic() - killed_at
        assert logged(standby, ACQUIRED)

        stream.join(timeout=120)
        fills, trade_ids = stream.fills, stream.trade_ids()
        wait_until(
            lambda: settled(store, len(fills)),  # type: ignore[arg-type]
            timeout=120,
            what=f"the new leader to settle (counts {counts(store)})",  # type: ignore[arg-type]
        )
        assert standby.terminate(timeout=GRACE_SECONDS + 10) == 0, standby.log_tail()
        figures = check_exactly_once(store, fake_alpaca, fills, trade_ids)  # type: ignore[arg-type]
    finally:
        for bot in (leader, standby):
            if bot is not None and bot.alive():
                bot.kill()
        store.close()
    # the kill landed mid-stream, and the standby did the rest of the work
    assert at_kill[0] < len(fills), f"the stream was over at the kill: {at_kill}"
    assert fake_alpaca.orders_created() > orders_at_kill, "the new leader placed no hedge"
    print(
        f"takeover in {takeover_seconds:.1f} s; at kill (recorded, acknowledged, open) "
        f"{at_kill}, {orders_at_kill} broker orders; final {figures}"
    )


def test_a_leader_that_loses_its_lock_connection_stops_and_exits_non_zero_for_its_supervisor(
    market: StockMarket, fake_alpaca: FakeAlpaca, postgres_url: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "bot.toml", tmp_path / "unused.db", market, grace=GRACE_SECONDS
    )
    env = {**bot_environment(market, fake_alpaca), "HEDGEBOT_DATABASE__URL": postgres_url}
    bot = BotProcess(config, env, tmp_path / "bot.log")
    try:
        wait_until(bot.started, timeout=60, what=f"start-up:\n{bot.log_tail()}")
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            terminated = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'hedgebot-leader' AND datname = current_database()"
            ).fetchall()
        assert terminated == [(True,)]
        code = bot.process.wait(timeout=TAKEOVER_TIMEOUT)
    finally:
        if bot.alive():
            bot.kill()
    log = bot.log_path.read_text()
    assert code != 0, bot.log_tail()
    assert '"event": "leadership_lost"' in log
    assert '"service": "leadership"' in log  # the conductor's service_failed line
    assert "service_cancelled_after_grace" not in log, "a writer ignored the stop"
