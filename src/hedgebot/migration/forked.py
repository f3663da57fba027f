"""Project some views in a forked child process while the import writes the others.

The import is CPU-bound Python on a machine with (at least) two cores. After the
events are appended, ``onchain_trade_view`` (bulk rows, `bulk_views`) and the other
views (the PnL view above all: a FIFO booking per trade) are independent: they read
the same events and write different tables. `ForkedProjection` runs
``Projector.apply`` for the other views in a child made by ``fork`` — the same code on
the same in-memory events, no copying in — while the parent writes the on-chain rows.
The child cannot write to the parent's transaction, so it projects into a
`RecordingTransaction` and sends back the writes it recorded (view rows as plain
tuples, pickled through a pipe); the parent replays them, in order, in its own
transaction. Nothing else changes: rows, versions and errors are those of the
in-process projection.

Only for views whose tables are empty (a first import, or ``--clean``): the child reads
nothing, so the projection runs with ``cleared=True``. Anything unusual — no ``fork``
on this platform, one core, a view that reads or writes anything but view rows, an
exception in the child, a child that dies or does not deliver within `deadline` (far
above the projection's own cost) — makes `ForkedProjection.result` return None, and
the caller projects those views in-process as before (a view's own error is raised
there, with its usual message).

The child never touches the parent's SQLite connections or file locks (POSIX record
locks are not inherited by ``fork``), prints nothing and leaves with ``os._exit``, so
no buffer or finaliser of the parent runs twice. If the parent is killed, the child's
write to the pipe fails and it exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from hedgebot.eventstore import Projector
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.store import ViewRow
from hedgebot.eventstore.views import View

log = logging.getLogger(__name__)

#: one recorded write: ("put", table, [(view_id, version, payload), …]) or
#: ("delete", table, [view_id, …])
Write = tuple[str, str, list[Any]]


class NotRecordable(Exception):
    """The projection asked the transaction for something a recording cannot give."""


class RecordingTransaction:
    """A `StoreTransaction` stand-in that records view writes and refuses the rest."""

    def __init__(self) -> None:
        self.writes: list[Write] = []

    def view_put_many(self, table: str, rows: Sequence[ViewRow]) -> None:
        self.writes.append(("put", table, [(r.view_id, r.version, r.payload) for r in rows]))

    def view_delete(self, table: str, view_ids: Sequence[str]) -> None:
        self.writes.append(("delete", table, list(view_ids)))

    def __getattr__(self, name: str) -> NoReturn:
        raise NotRecordable(f"a forked projection cannot call {name}() on the store")


def replay(tx: Any, writes: Sequence[Write]) -> int:
    """Apply recorded writes to a real transaction, in order; returns the rows written."""
    count = 0
    for kind, table, items in writes:
        if kind == "put":
            tx.view_put_many(table, [ViewRow(*item) for item in items])
        elif kind == "delete":
            tx.view_delete(table, items)
        else:
            raise ValueError(f"unknown recorded write {kind!r}")
        count += len(items)
    return count


def deadline(events: int) -> float:
    """Seconds to wait for a child projecting ``events`` events: a guard against a hung
    child, not a performance bound (the projection takes ≈ 0.04 ms per event)."""
    return 60.0 + 0.001 * events


def can_fork() -> bool:
    """Linux with ``fork`` and more than one core (else there is nothing to gain)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class ForkedProjection:
    """``projector.apply(…, views=views, cleared=True)`` in a child process."""

    def __init__(
        self,
        projector: Projector,
        views: Sequence[View],
        events: Sequence[StoredEvent],
        decoded: Sequence[Any],
    ) -> None:
        self._pid: int | None = None
        self._read_fd: int | None = None
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            log.info("migrate_fork_unavailable error=%s: projecting in-process", exc)
            return
        if pid == 0:  # the child: compute, send, leave without any clean-up
            os.close(read_fd)
            _child(write_fd, projector, views, events, decoded)
        os.close(write_fd)
        self._pid, self._read_fd = pid, read_fd

    def result(self, timeout: float | None = None) -> list[Write] | None:
        """The child's recorded writes (waits for it, at most ``timeout`` seconds), or
        None if it did not deliver in time (then it is ended)."""
        if self._pid is None or self._read_fd is None:
            return None
        read_fd = self._read_fd
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks: list[bytes] = []
        try:
            while True:
                if deadline is not None:
                    left = max(deadline - time.monotonic(), 0.0)
                    if not select.select([read_fd], [], [], left)[0]:
                        log.warning(
                            "migrate_fork_timeout seconds=%.0f: projecting in-process", timeout
                        )
                        self.abandon()
                        return None
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        except BaseException:
            self.abandon()
            raise
        os.close(read_fd)
        self._read_fd = None
        status = self._reap()
        try:
            outcome, value = pickle.loads(b"".join(chunks))  # noqa: S301 - our own child
        except Exception as exc:
            log.warning(
                "migrate_fork_no_result status=%s error=%s: projecting in-process", status, exc
            )
            return None
        if outcome != "ok" or status != 0:
            log.warning(
                "migrate_fork_failed status=%s error=%s: projecting in-process", status, value
            )
            return None
        writes: list[Write] = value
        return writes

    def abandon(self) -> None:
        """Stop waiting for the child (the import failed): end it and reap it."""
        if self._pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None
        self._reap()

    def _reap(self) -> int | None:
        pid, self._pid = self._pid, None
        if pid is None:
            return None
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


def _child(
    write_fd: int,
    projector: Projector,
    views: Sequence[View],
    events: Sequence[StoredEvent],
    decoded: Sequence[Any],
) -> NoReturn:
    code = 0
    try:
        try:
            recorder = RecordingTransaction()
            projector.apply(recorder, events, decoded, views=views, cleared=True)
            data = pickle.dumps(("ok", recorder.writes), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # reported to the parent, which falls back
            detail = "".join(traceback.format_exception_only(exc)).strip()
            data = pickle.dumps(("error", detail), protocol=pickle.HIGHEST_PROTOCOL)
            code = 1
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
    except BaseException:  # the parent is gone (broken pipe): nothing left to do
        code = 2
    finally:
        os._exit(code)
