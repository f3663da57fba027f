"""Throw-away PostgreSQL databases for the test suite.

The suite talks to the server named by ``HEDGEBOT_TEST_POSTGRES_URL`` (a URL of a
maintenance database the user may ``CREATE DATABASE`` from), by default the local
server: ``postgresql://postgres@127.0.0.1:5432/postgres``. Each session migrates one
template database once; each test gets ``CREATE DATABASE … TEMPLATE`` copy (tens of
milliseconds) that is dropped afterwards. Every name is
``hedgebot_test_<pid>_<random>``, so concurrent sessions never collide, and a
database left behind by a killed session (its pid no longer running on this host)
is dropped by the next session.

An unreachable server fails the PostgreSQL tests in CI (``CI=true``) and skips them
elsewhere, with the reason either way.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ADMIN_URL_ENV = "HEDGEBOT_TEST_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NAME_PREFIX = "hedgebot_test_"
_OWN_NAME = re.compile(rf"^{NAME_PREFIX}(\d+)_[0-9a-f]+(_template)?$")
_LOCAL_HOSTS = ("", "127.0.0.1", "localhost", "::1")


class ServerUnavailable(Exception):
    """The test PostgreSQL server cannot be reached (message says which and why)."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unique_name(suffix: str = "") -> str:
    return f"{NAME_PREFIX}{os.getpid()}_{secrets.token_hex(4)}{suffix}"


@dataclass(frozen=True)
class PostgresServer:
    admin_url: str

    @classmethod
    def from_environment(cls) -> PostgresServer:
        return cls(os.environ.get(ADMIN_URL_ENV, "").strip() or DEFAULT_ADMIN_URL)

    @property
    def shown(self) -> str:
        """The admin URL without a password (for skip/fail messages)."""
        parts = urlsplit(self.admin_url)
        if parts.password is None:
            return self.admin_url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit((parts.scheme, netloc, *parts[2:]))

    def url_for(self, dbname: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(("postgresql", parts.netloc, "/" + dbname, parts.query, ""))

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url_for(self._admin_db()), autocommit=True, connect_timeout=5)

    def _admin_db(self) -> str:
        return urlsplit(self.admin_url).path.lstrip("/") or "postgres"

    def check(self) -> None:
        """Raise `ServerUnavailable` unless the server accepts CREATE DATABASE from us."""
        try:
            with self._admin() as conn:
                row = conn.execute(
                    "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
        except psycopg.Error as exc:
            raise ServerUnavailable(
                f"PostgreSQL test server {self.shown} is unreachable ({exc}). Start it "
                f"or point {ADMIN_URL_ENV} at one (a URL of its maintenance database)."
            ) from exc
        if row is None or not row[0]:
            raise ServerUnavailable(
                f"the user of {self.shown} may not create databases (needs CREATEDB)"
            )

    def create(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (as a copy of ``template``); returns its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        with self._admin() as conn:
            conn.execute(statement)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def drop_stale(self) -> list[str]:
        """Drop test databases of sessions that died (local server only)."""
        if urlsplit(self.admin_url).hostname not in (None, *_LOCAL_HOSTS):
            return []
        with self._admin() as conn:
            names = [
                str(r[0])
                for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    (NAME_PREFIX + "%",),
                ).fetchall()
            ]
        dropped = []
        for name in names:
            match = _OWN_NAME.match(name)
            if match is None or _process_alive(int(match.group(1))):
                continue
            self.drop(name)
            dropped.append(name)
        return dropped


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
