from __future__ import annotations

import asyncio

import pytest

from hedgebot.conductor import NamedService, ServiceFailed, Stop, periodic, run_services


def test_stop_lets_services_finish_their_unit_of_work() -> None:
    finished: list[str] = []

    async def worker(stop: Stop) -> None:
        while not stop.is_set:
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)  # the unit of work in hand completes after the stop
        finished.append("worker")

    async def main() -> None:
        stop = Stop()
        runner = asyncio.create_task(
            run_services([NamedService("worker", worker)], stop=stop, install_signal_handlers=False)
        )
        await asyncio.sleep(0.01)
        stop.set()
        await runner

    asyncio.run(main())
    assert finished == ["worker"]


def test_a_failing_service_stops_the_others_and_is_reported() -> None:
    stopped: list[str] = []

    async def healthy(stop: Stop) -> None:
        await stop.wait()
        stopped.append("healthy")

    async def broken(stop: Stop) -> None:
        raise RuntimeError("rpc exploded")

    async def main() -> None:
        await run_services(
            [NamedService("healthy", healthy), NamedService("broken", broken)],
            install_signal_handlers=False,
        )

    with pytest.raises(ServiceFailed, match="broken failed: rpc exploded"):
        asyncio.run(main())
    assert stopped == ["healthy"]


def test_a_service_ignoring_the_stop_is_cancelled_after_the_grace_period() -> None:
    cancelled: list[bool] = []

    async def stubborn(stop: Stop) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        stop = Stop()
        stop.set()
        await run_services(
            [NamedService("stubborn", stubborn)],
            stop=stop,
            grace_seconds=0.05,
            install_signal_handlers=False,
        )

    asyncio.run(main())
    assert cancelled == [True]


def test_periodic_runs_immediately_and_stops_promptly() -> None:
    calls: list[int] = []

    async def main() -> None:
        stop = Stop()

        async def step() -> None:
            calls.append(len(calls))
            if len(calls) == 3:
                stop.set()

        await asyncio.wait_for(periodic(stop, 0.001, step), timeout=5)

    asyncio.run(main())
    assert calls == [0, 1, 2]
