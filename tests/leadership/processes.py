"""Contender processes and the waits on their log lines."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

CONTENDER = Path(__file__).with_name("contender.py")


class Contender:
    """One `contender.py` process; its JSON log lines are collected by a thread."""

    def __init__(self, target: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(CONTENDER), target],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        self.lines: list[dict[str, Any]] = []
        self._new: queue.Queue[None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"event": "unparsed", "text": raw.decode(errors="replace")})
            self._new.put(None)
        self._new.put(None)

    def events(self) -> list[str]:
        return [str(line.get("event")) for line in self.lines]

    def wait_for(self, event: str, timeout: float = 10.0) -> dict[str, Any]:
        """The first log line named ``event``, waiting for it at most ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                if line.get("event") == event:
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no {event!r} within {timeout:g} s; saw {self.events()} "
                    f"(exit {self.process.poll()})"
                )
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=remaining)

    def wait_exit(self, timeout: float = 10.0) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        self.kill()
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
