"""Progress of a long import: Rich bars on a terminal, plain periodic lines otherwise.

Each tracked unit (a legacy table being read, an aggregate being written, a view being
verified) is a *task* with a total. On a terminal every task is a Rich bar with its
count, rate and ETA; when the output is a file or a pipe (CI, ``| tee``, a service
log), a task prints one line when it starts, a line while it advances whenever
``interval`` seconds have passed or another tenth of it is done, and one line when it
finishes, so a log stays short and still shows that the import is alive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class ProgressReporter(Protocol):
    def start(self, key: str, label: str, total: int) -> None: ...

    def advance(self, key: str, amount: int = 1) -> None: ...

    def finish(self, key: str) -> None: ...

    def line(self, message: str) -> None: ...

    def close(self) -> None: ...


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


class RichProgress:
    """Bars with count, rate and ETA (terminal output).

    The live display runs only while some task is unfinished: between phases (when the
    import asks its questions) the terminal is left alone for the prompt.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._open: set[str] = set()

    def _live(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                _RateColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._tasks.clear()
        return self._progress

    def start(self, key: str, label: str, total: int) -> None:
        self._tasks[key] = self._live().add_task(label, total=max(total, 0))
        self._open.add(key)

    def advance(self, key: str, amount: int = 1) -> None:
        if self._progress is not None and key in self._tasks:
            self._progress.advance(self._tasks[key], amount)

    def finish(self, key: str) -> None:
        if self._progress is None or key not in self._tasks:
            return
        task_id = self._tasks[key]
        task = self._progress.tasks[task_id]
        self._progress.update(task_id, completed=task.total)
        self._open.discard(key)
        if not self._open:
            self.close()

    def line(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._open.clear()


@dataclass
class _PlainTask:
    label: str
    total: int
    done: int = 0
    started: float = 0.0
    last_report: float = 0.0
    last_decile: int = 0


@dataclass
class PlainProgress:
    """``progress`` lines for logs: start, every ``interval`` seconds, finish."""

    write: Callable[[str], None]
    interval: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _tasks: dict[str, _PlainTask] = field(default_factory=dict)

    def start(self, key: str, label: str, total: int) -> None:
        now = self.clock()
        self._tasks[key] = _PlainTask(label, total, started=now, last_report=now)
        self.write(f"progress {label}: 0/{total:,} started")

    def advance(self, key: str, amount: int = 1) -> None:
        task = self._tasks[key]
        task.done += amount
        if task.done >= task.total:
            return  # `finish` reports the end
        now = self.clock()
        # tenths only for tasks big enough for them to matter
        decile = 10 * task.done // task.total if task.total >= 100 else 0
        if now - task.last_report >= self.interval or decile > task.last_decile:
            task.last_report = now
            task.last_decile = decile
            self.write(self._status(task, now))

    def finish(self, key: str) -> None:
        task = self._tasks[key]
        task.done = task.total
        now = self.clock()
        elapsed = now - task.started
        rate = f", {task.total / elapsed:,.0f}/s" if elapsed > 0 else ""
        self.write(
            f"progress {task.label}: {task.total:,}/{task.total:,} done in {elapsed:.1f}s{rate}"
        )

    def _status(self, task: _PlainTask, now: float) -> str:
        elapsed = now - task.started
        rate = task.done / elapsed if elapsed > 0 else 0.0
        percent = 100.0 * task.done / task.total if task.total else 100.0
        eta = f"{(task.total - task.done) / rate:.0f}s" if rate > 0 else "?"
        return (
            f"progress {task.label}: {task.done:,}/{task.total:,} ({percent:.0f}%), "
            f"{rate:,.0f}/s, eta {eta}"
        )

    def line(self, message: str) -> None:
        self.write(message)

    def close(self) -> None:
        self._tasks.clear()


def progress_for(console: Console, interval: float = 2.0) -> ProgressReporter:
    """Rich bars when the console is a terminal, plain lines otherwise."""
    if console.is_terminal:
        return RichProgress(console)

    def write(message: str) -> None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)
        console.file.flush()

    return PlainProgress(write=write, interval=interval)
