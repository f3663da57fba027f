"""Leadership: only one `hedgebot run` per database places orders (issue 10).

Two processes started against one database (a rolling deploy, a standby, an operator
mistake) must never both follow the chain and place hedges: each step is idempotent
in the store, but two order managers racing on the same execution could still send
the broker the same order twice. So the process first becomes *leader*, and only the
leader runs the writing services.

PostgreSQL (`PostgresLeadership`). A session-level ``pg_try_advisory_lock(key)`` on a
dedicated connection, *not* one of the store's pool: the lock lives exactly as long as
that session. A waiter retries every ``poll_seconds`` (about 1 s), so when the leader
dies (its backend ends, the server releases the lock) a waiter leads within a few
seconds. The leader checks its connection every ``check_seconds`` with a bounded
query (plus TCP keepalives): a lost or hung connection means the server may already
have handed the lock to someone else, so leadership is lost *at once* and the process
stops its writers and exits non-zero for its supervisor to restart it (a fresh
process waits for the lock like any other). The key is derived from a constant name
(`lock_key`), and advisory locks are scoped to the current database, so two desks on
two databases of one server never block each other.

SQLite (`SoloLeadership`). SQLite already serialises writers, but two bots on one
file would still both place orders, so the leader holds an exclusive ``fcntl.flock``
on ``<database file>.leader`` next to the database. The kernel releases it when the
process dies (even on SIGKILL). flock only works between processes on one host and
is unreliable on network filesystems, which SQLite itself does not support anyway.
If the lock file is deleted or replaced under a running leader (a new file could be
locked by another process), the leader notices on its next check and steps down.
The lock file (holding the leader's pid, for operators) is never deleted:
unlinking it on exit could let two processes lock two different files.

Neither implementation is a fencing token: between a leader losing its lock and
noticing (at most ``check_seconds`` plus the query timeout) it may still finish the
unit of work in hand. That is safe because every write is an atomic, idempotent
transaction and broker orders carry their execution id as ``client_order_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

import psycopg
import structlog

if TYPE_CHECKING:
    from hedgebot.conductor import Stop

log = structlog.get_logger(__name__)

LOCK_NAME = "hedgebot.leader"
LOCK_SUFFIX = ".leader"


class LeadershipLost(RuntimeError):
    """The process no longer holds the leader lock: its writing services must stop."""


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...

    async def acquire(self, stop: Stop, on_wait: Callable[[], None] | None = None) -> bool:
        """Wait until this process leads (True) or ``stop`` is set (False).

        ``on_wait`` is called once, when the first attempt finds another leader.
        """
        ...

    async def watch(self, stop: Stop) -> None:
        """Return when ``stop`` is set; raise `LeadershipLost` when leadership is lost."""
        ...

    def release(self) -> None:
        """Give up leadership (idempotent); a waiter may then take over."""
        ...


def lock_key(name: str = LOCK_NAME) -> int:
    """A stable signed 64-bit advisory-lock key derived from ``name``."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLeadership:
    """Leader = holder of a session-level advisory lock on a dedicated connection."""

    def __init__(
        self,
        conninfo: str,
        *,
        name: str = LOCK_NAME,
        poll_seconds: float = 1.0,
        check_seconds: float = 1.0,
        query_timeout_seconds: float = 3.0,
        connect_timeout_seconds: int = 5,
    ) -> None:
        self._conninfo = conninfo
        self.key = lock_key(name)
        self.poll_seconds = poll_seconds
        self.check_seconds = check_seconds
        self.query_timeout_seconds = query_timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._leader = False

    def __repr__(self) -> str:  # the conninfo may carry a password
        return f"PostgresLeadership(key={self.key}, leader={self._leader})"

    @property
    def is_leader(self) -> bool:
        return self._leader

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=self.connect_timeout_seconds,
            application_name="hedgebot-leader",
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )

    async def _query(self, statement: str, *params: object) -> object:
        conn = self._conn
        assert conn is not None

        async def run() -> object:
            cursor = await conn.execute(statement, params or None)
            row = await cursor.fetchone()
            return None if row is None else row[0]

        return await asyncio.wait_for(run(), self.query_timeout_seconds)

    async def _try_once(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = await self._connect()
        return bool(await self._query("SELECT pg_try_advisory_lock(%s)", self.key))

    async def acquire(self, stop: Stop, on_wait: Callable[[], None] | None = None) -> bool:
        announced = False
        while not stop.is_set:
            try:
                if await self._try_once():
                    self._leader = True
                    log.info("leadership_acquired", backend="postgresql", key=self.key)
                    return True
            except (psycopg.Error, OSError, TimeoutError) as exc:
                # the class only: a driver message may name hosts or users
                log.warning("leadership_lock_unavailable", error=type(exc).__name__)
                await self._drop_connection()
            if not announced:
                log.info("waiting_for_leadership", backend="postgresql", key=self.key)
                announced = True
                if on_wait is not None:
                    on_wait()
            if await stop.wait(self.poll_seconds):
                break
        await self._drop_connection()
        return False

    async def watch(self, stop: Stop) -> None:
        if not self._leader:
            raise LeadershipLost("this process is not the leader")
        while not await stop.wait(self.check_seconds):
            try:
                alive = await self._query("SELECT 1")
            except (psycopg.Error, OSError, TimeoutError) as exc:
                reason = type(exc).__name__
            else:
                if alive == 1:
                    continue
                reason = "unexpected health-check answer"
            self._leader = False
            log.error("leadership_lost", backend="postgresql", reason=reason)
            await self._drop_connection()
            raise LeadershipLost(f"lost the leader lock's database connection ({reason})")

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), self.query_timeout_seconds)

    def release(self) -> None:
        """Close the lock's session: the server releases the advisory lock with it."""
        conn, self._conn = self._conn, None
        was_leader, self._leader = self._leader, False
        if conn is not None:
            # closing the socket ends the session; no round trip needed (or possible
            # from synchronous code on an async connection)
            with contextlib.suppress(Exception):
                conn.pgconn.finish()
        if was_leader:
            log.info("leadership_released", backend="postgresql")


class SoloLeadership:
    """Leader = holder of an exclusive flock on a lock file next to the SQLite file."""

    def __init__(
        self,
        lock_path: str | os.PathLike[str],
        *,
        poll_seconds: float = 1.0,
        check_seconds: float = 1.0,
    ) -> None:
        self.lock_path = Path(lock_path)
        self.poll_seconds = poll_seconds
        self.check_seconds = check_seconds
        self._file: IO[bytes] | None = None

    @classmethod
    def for_database(cls, database_path: str | os.PathLike[str], **kwargs: float) -> SoloLeadership:
        return cls(
            Path(os.path.abspath(database_path)).with_name(Path(database_path).name + LOCK_SUFFIX),
            **kwargs,
        )

    @property
    def is_leader(self) -> bool:
        return self._file is not None

    def _try_once(self) -> bool:
        handle = self.lock_path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        except BaseException:
            handle.close()
            raise
        if not self._still_ours(handle):
            # the file was replaced between open and lock: lock the new one next time
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True

    def _still_ours(self, handle: IO[bytes]) -> bool:
        try:
            on_disk = os.stat(self.lock_path)
        except FileNotFoundError:
            return False
        mine = os.fstat(handle.fileno())
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    async def acquire(self, stop: Stop, on_wait: Callable[[], None] | None = None) -> bool:
        announced = False
        while not stop.is_set:
            if self._try_once():
                log.info("leadership_acquired", backend="flock", lock=str(self.lock_path))
                return True
            if not announced:
                log.info("waiting_for_leadership", backend="flock", lock=str(self.lock_path))
                announced = True
                if on_wait is not None:
                    on_wait()
            if await stop.wait(self.poll_seconds):
                break
        return False

    async def watch(self, stop: Stop) -> None:
        if self._file is None:
            raise LeadershipLost("this process is not the leader")
        while not await stop.wait(self.check_seconds):
            handle = self._file
            if handle is not None and self._still_ours(handle):
                continue
            self.release()
            log.error("leadership_lost", backend="flock", reason="lock file replaced")
            raise LeadershipLost(f"the leader lock file {self.lock_path} was removed or replaced")

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()  # closing the last descriptor releases the flock
            log.info("leadership_released", backend="flock")


def leadership_for(database_url: str) -> Leadership:
    """The leadership that fits the store at ``database_url``."""
    from hedgebot.eventstore.dburl import parse_database_url

    url = parse_database_url(database_url)
    if url.kind == "postgresql":
        return PostgresLeadership(url.conninfo())
    assert url.path is not None
    return SoloLeadership.for_database(url.path)
