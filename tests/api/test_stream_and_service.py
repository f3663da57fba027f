"""The live-update stream and the server lifecycle, over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hedgebot.api.service import ApiBindError, api_service, bind
from hedgebot.bootstrap import Core
from hedgebot.conductor import NamedService, Stop, run_services
from hedgebot.domain import Direction
from tests.api.conftest import TestClient, desk_settings
from tests.api.desk import Desk
from tests.api.server import serving

TIMEOUT = httpx.Timeout(20.0)


def data_lines(lines: Iterator[str]) -> Iterator[dict[str, int]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def test_the_stream_reports_the_store_position_and_each_new_commit(
    make_client: Callable[..., TestClient], core: Core, desk_path: Path
) -> None:
    app = make_client().app
    app.state.hedgebot.stream_poll_seconds = 0.05
    start = core.store.last_position()
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=TIMEOUT) as http,
        http.stream("GET", "/events/stream") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = data_lines(response.iter_lines())
        assert next(messages) == {"position": start}
        writer = Desk.open(desk_path)  # another connection, as the bot would be
        try:
            writer.fill("tMSFT", "2", Direction.BUY, "410")
        finally:
            writer.close()
        moved = next(messages)
        assert moved["position"] > start


def test_a_stopping_server_ends_open_streams(
    make_client: Callable[..., TestClient],
) -> None:
    app = make_client().app
    app.state.hedgebot.stream_poll_seconds = 0.05
    received: list[dict[str, int]] = []
    with serving(app) as url:
        client = httpx.Client(base_url=url, timeout=TIMEOUT)
        stream = client.stream("GET", "/events/stream")
        response = stream.__enter__()
        messages = data_lines(response.iter_lines())
        received.append(next(messages))
    # the server has stopped: the stream ends instead of hanging
    received.extend(messages)
    stream.__exit__(None, None, None)
    client.close()
    assert len(received) == 1


def test_api_service_serves_until_stopped(core: Core, desk_path: Path) -> None:
    settings = desk_settings(desk_path, HEDGEBOT_API__PORT="0")
    urls: list[str] = []
    answers: list[int] = []

    async def scenario() -> None:
        stop = Stop()
        service = api_service(core, settings, on_ready=urls.append)

        async def probe(stop: Stop) -> None:
            while not urls:
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=urls[0], timeout=TIMEOUT) as http:
                answers.append((await http.get("/health")).status_code)
                answers.append((await http.get("/positions/TSLA")).status_code)
            stop.set()

        await run_services(
            [service, NamedService("probe", probe)],
            stop=stop,
            install_signal_handlers=False,
            grace_seconds=10,
        )

    asyncio.run(scenario())
    assert urls[0].startswith("http://127.0.0.1:")
    assert answers == [200, 200]


def test_a_port_in_use_is_a_clear_error() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ApiBindError, match=f"cannot serve the API on 127.0.0.1:{port}"):
            bind("127.0.0.1", port)
    finally:
        taken.close()


def test_hedgebot_api_serves_the_store_until_sigterm(desk_url: str) -> None:
    hedgebot = Path(sys.executable).parent / "hedgebot"
    env = {**os.environ, "HEDGEBOT_API__TOKEN": "cli-test-token", "DATABASE_URL": desk_url}
    process = subprocess.Popen(
        [str(hedgebot), "api", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "hedgebot API on http://127.0.0.1:" in line, line
        assert "mutating endpoints enabled" in line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
            assert http.get("/trades").json()["total"] == 5
            assert http.get("/health").json()["checks"]["broker"]["kind"] == "paper"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.stderr is not None
    assert "cli-test-token" not in process.stderr.read()
