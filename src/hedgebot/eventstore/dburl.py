"""Database URLs as operators write them.

SQLite URLs follow the legacy bot's (sqlx) convention, so a desk's existing
``DATABASE_URL`` keeps meaning the same file: everything after ``sqlite://`` (or
``sqlite:``) is the path, so ``sqlite:///data/bot.db`` is the absolute path
``/data/bot.db`` and ``sqlite://bot.db`` is ``bot.db`` in the working directory. A bare
path is accepted too. PostgreSQL URLs are ``postgresql://user@host:port/dbname``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit


class DatabaseUrlError(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseUrl:
    kind: Literal["sqlite", "postgresql"]
    raw: str
    path: str | None = None

    def sqlalchemy_url(self) -> str:
        if self.kind == "sqlite":
            assert self.path is not None
            return "sqlite:///" + os.path.abspath(self.path)
        parts = urlsplit(self.raw)
        return urlunsplit(("postgresql+psycopg", *parts[1:]))

    def conninfo(self) -> str:
        """libpq connection string (PostgreSQL only)."""
        parts = urlsplit(self.raw)
        return urlunsplit(("postgresql", *parts[1:]))

    def redacted(self) -> str:
        """The URL with any password replaced, for logs and error messages."""
        if self.kind == "sqlite":
            return self.raw
        parts = urlsplit(self.raw)
        if parts.password is None:
            return self.raw
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit((parts.scheme, netloc, *parts[2:]))


def parse_database_url(url: str) -> DatabaseUrl:
    text = url.strip()
    if not text:
        raise DatabaseUrlError("the database URL is empty")
    lowered = text.lower()
    if lowered.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        parts = urlsplit(text)
        if not parts.hostname and "host=" not in (parts.query or ""):
            raise DatabaseUrlError(f"PostgreSQL URL without a host: {text!r}")
        return DatabaseUrl("postgresql", urlunsplit(("postgresql", *parts[1:])))
    if lowered.startswith("sqlite:"):
        path = text[len("sqlite:") :]
        if path.startswith("//"):
            path = path[2:]
        path = path.split("?", 1)[0]
        if not path:
            raise DatabaseUrlError(f"SQLite URL without a file path: {text!r}")
        return DatabaseUrl("sqlite", text, path)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise DatabaseUrlError(
            f"unsupported database URL scheme {scheme!r} (use sqlite:PATH or postgresql://…)"
        )
    return DatabaseUrl("sqlite", text, text)
