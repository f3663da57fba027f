"""A real uvicorn server for one app on 127.0.0.1 (port chosen by the OS), on its own
thread and event loop, through the same `serve_app` that `hedgebot run` uses."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from hedgebot.api.service import bind, serve_app, url_of
from hedgebot.conductor import Stop

START_TIMEOUT = 30.0


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Yield the server's base URL; stop it (and fail on its errors) on exit."""
    sock = bind("127.0.0.1", 0)
    url = url_of(sock)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []
    stop_holder: list[Stop] = []

    async def main() -> None:
        stop = Stop()
        stop_holder.append(stop)
        await serve_app(app, sock, stop, on_ready=lambda _: ready.set())

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=run, name="api-server", daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT) or failure:
        raise RuntimeError(f"API server did not start: {failure}")
    try:
        yield url
    finally:
        if stop_holder and not loop.is_closed():
            loop.call_soon_threadsafe(stop_holder[0].set)
        thread.join(START_TIMEOUT)
        assert not thread.is_alive(), "API server did not stop"
        if failure:
            raise failure[0]
