"""Two processes, one database: exactly one leads, and a waiter takes over (issue 10)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hedgebot.conductor import Stop, await_leadership
from hedgebot.leadership import (
    LeadershipLost,
    PostgresLeadership,
    SoloLeadership,
    leadership_for,
    lock_key,
)
from tests.leadership.contender import LOST_EXIT
from tests.leadership.processes import Contender

TAKEOVER_SECONDS = 10.0


@pytest.fixture
def contenders() -> Iterator[list[Contender]]:
    started: list[Contender] = []
    yield started
    for contender in started:
        contender.close()


def advisory_holders(url: str) -> list[int]:
    """Backend pids holding hedgebot's leader lock in this database."""
    unsigned = lock_key() & 0xFFFF_FFFF_FFFF_FFFF  # a bigint key is (classid, objid)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 1 AND classid::bigint = %s AND objid::bigint = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (unsigned >> 32, unsigned & 0xFFFF_FFFF),
        ).fetchall()
    return [int(r[0]) for r in rows]


def test_the_lock_key_is_a_stable_signed_64_bit_number_per_name() -> None:
    assert lock_key() == lock_key("hedgebot.leader")
    assert lock_key("a") != lock_key("b")
    assert -(2**63) <= lock_key() < 2**63


def test_the_database_url_chooses_the_leadership(tmp_path: Path) -> None:
    assert isinstance(leadership_for("postgresql://u@127.0.0.1:5432/x"), PostgresLeadership)
    solo = leadership_for(f"sqlite://{tmp_path}/bot.db")
    assert isinstance(solo, SoloLeadership)
    assert solo.lock_path == tmp_path / "bot.db.leader"


@pytest.mark.postgres
def test_of_two_postgres_processes_one_leads_and_the_other_takes_over_when_it_is_killed(
    postgres_url: str, contenders: list[Contender]
) -> None:
    first = Contender(postgres_url)
    contenders.append(first)
    first.wait_for("leadership_acquired")
    second = Contender(postgres_url)
    contenders.append(second)
    second.wait_for("waiting_for_leadership")
    assert "leadership_acquired" not in second.events()
    assert len(advisory_holders(postgres_url)) == 1

    first.kill()
    second.wait_for("leadership_acquired", TAKEOVER_SECONDS)
    assert len(advisory_holders(postgres_url)) == 1
    assert second.process.poll() is None


@pytest.mark.postgres
def test_a_postgres_leader_whose_lock_connection_is_terminated_steps_down_and_exits(
    postgres_url: str, contenders: list[Contender]
) -> None:
    leader = Contender(postgres_url)
    contenders.append(leader)
    leader.wait_for("leadership_acquired")
    standby = Contender(postgres_url)
    contenders.append(standby)
    standby.wait_for("waiting_for_leadership")
    [holder] = advisory_holders(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (holder,))

    lost = leader.wait_for("leadership_lost", TAKEOVER_SECONDS)
    assert lost["level"] == "error"
    assert leader.wait_exit() == LOST_EXIT
    standby.wait_for("leadership_acquired", TAKEOVER_SECONDS)


@pytest.mark.postgres
def test_a_released_postgres_lock_is_free_for_the_next_process_at_once(postgres_url: str) -> None:
    async def scenario() -> None:
        first, second = PostgresLeadership(postgres_url), PostgresLeadership(postgres_url)
        stop = Stop()
        assert await first.acquire(stop)
        assert first.is_leader
        assert not await second._try_once()
        first.release()
        assert not first.is_leader
        waited = Stop()
        assert await asyncio.wait_for(second.acquire(waited), TAKEOVER_SECONDS)
        second.release()

    asyncio.run(scenario())


def test_of_two_processes_on_one_sqlite_file_one_leads_and_the_other_takes_over_when_it_is_killed(
    tmp_path: Path, contenders: list[Contender]
) -> None:
    database = str(tmp_path / "bot.db")
    first = Contender(database)
    contenders.append(first)
    first.wait_for("leadership_acquired")
    second = Contender(database)
    contenders.append(second)
    second.wait_for("waiting_for_leadership")
    assert "leadership_acquired" not in second.events()
    assert (tmp_path / "bot.db.leader").read_text().strip() == str(first.process.pid)

    first.kill()
    second.wait_for("leadership_acquired", TAKEOVER_SECONDS)
    assert (tmp_path / "bot.db.leader").read_text().strip() == str(second.process.pid)


def test_a_sqlite_leader_whose_lock_file_is_removed_steps_down_and_exits(
    tmp_path: Path, contenders: list[Contender]
) -> None:
    database = str(tmp_path / "bot.db")
    leader = Contender(database)
    contenders.append(leader)
    leader.wait_for("leadership_acquired")
    (tmp_path / "bot.db.leader").unlink()

    leader.wait_for("leadership_lost", TAKEOVER_SECONDS)
    assert leader.wait_exit() == LOST_EXIT


def test_watching_without_leading_is_an_error(tmp_path: Path) -> None:
    solo = SoloLeadership(tmp_path / "x.leader")
    with pytest.raises(LeadershipLost, match="not the leader"):
        asyncio.run(solo.watch(Stop()))


def test_a_process_waiting_for_leadership_stops_waiting_when_stopped(tmp_path: Path) -> None:
    async def scenario() -> bool:
        holder = SoloLeadership(tmp_path / "bot.db.leader", poll_seconds=0.05)
        assert await holder.acquire(Stop())
        waiter = SoloLeadership(tmp_path / "bot.db.leader", poll_seconds=0.05)
        stop = Stop()
        waiting = asyncio.create_task(
            await_leadership(waiter, stop, list, install_signal_handlers=False)
        )
        await asyncio.sleep(0)
        stop.set()
        leading = await asyncio.wait_for(waiting, TAKEOVER_SECONDS)
        assert not waiter.is_leader
        holder.release()
        return leading

    assert asyncio.run(scenario()) is False


def test_a_waiting_process_leads_once_the_holder_releases(tmp_path: Path) -> None:
    async def scenario() -> bool:
        holder = SoloLeadership(tmp_path / "bot.db.leader", poll_seconds=0.05)
        assert await holder.acquire(Stop())
        waiter = SoloLeadership(tmp_path / "bot.db.leader", poll_seconds=0.05)
        waiting = asyncio.create_task(
            await_leadership(waiter, Stop(), list, install_signal_handlers=False)
        )
        assert not waiting.done()
        holder.release()
        leading = await asyncio.wait_for(waiting, TAKEOVER_SECONDS)
        assert waiter.is_leader
        waiter.release()
        return leading

    assert asyncio.run(scenario()) is True


def test_standby_services_run_only_while_another_process_leads_and_stop_before_leading(
    tmp_path: Path,
) -> None:
    from hedgebot.conductor import NamedService

    journal: list[str] = []

    async def standby_service(stop: Stop) -> None:
        journal.append("standby serving")
        await stop.wait()
        journal.append("standby stopped")

    def standby() -> list[NamedService]:
        journal.append("standby built")
        return [NamedService("standby_probe", standby_service)]

    async def scenario() -> None:
        lock = tmp_path / "bot.db.leader"
        alone = SoloLeadership(lock, poll_seconds=0.05)
        assert await await_leadership(alone, Stop(), standby, install_signal_handlers=False)
        assert journal == []  # a lone process goes straight to work
        waiter = SoloLeadership(lock, poll_seconds=0.05)
        waiting = asyncio.create_task(
            await_leadership(waiter, Stop(), standby, install_signal_handlers=False)
        )

        async def serving() -> None:
            while "standby serving" not in journal:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(serving(), TAKEOVER_SECONDS)
        assert not waiting.done()
        alone.release()
        assert await asyncio.wait_for(waiting, TAKEOVER_SECONDS)
        assert journal == ["standby built", "standby serving", "standby stopped"]
        waiter.release()

    asyncio.run(scenario())


def test_a_failing_standby_service_ends_the_wait_with_its_error(tmp_path: Path) -> None:
    from hedgebot.conductor import NamedService

    async def broken(stop: Stop) -> None:
        raise OSError("standby broke")

    async def scenario() -> None:
        lock = tmp_path / "bot.db.leader"
        holder = SoloLeadership(lock)
        assert await holder.acquire(Stop())
        waiter = SoloLeadership(lock, poll_seconds=0.05)
        with pytest.raises(OSError, match="standby broke"):
            await asyncio.wait_for(
                await_leadership(
                    waiter,
                    Stop(),
                    lambda: [NamedService("broken", broken)],
                    install_signal_handlers=False,
                ),
                TAKEOVER_SECONDS,
            )
        assert not waiter.is_leader
        holder.release()

    asyncio.run(scenario())
