"""Structured logging: one event name plus key/values, JSON lines in production.

hedgebot's own loggers (`structlog.get_logger(__name__)`) run structlog's native
pipeline: a call below the configured level is a no-op, and one at or above it is
rendered and written as one line without going through the standard library's
`logging` machinery (a hedge logs two lines per fill, so this is on the hot path).
The standard library's ``logging`` (used by libraries and by modules that log
``event key=value`` text) goes through the same processors and renderer. A last
processor masks any value whose key names a secret, as a second line of defence
behind "never pass a secret to a logger".
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|api_key|apikey|authorization|encryption_key|app_key)", re.I
)


@functools.lru_cache(maxsize=1024)
def _names_secret(key: str) -> bool:
    return key != "event" and _SECRET_KEY.search(key) is not None


def mask_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if _names_secret(str(key)):
            event_dict[key] = "***"
    return event_dict


_lock = threading.Lock()
#: where rendered lines go; None = the current ``sys.stderr`` at each write
_sink: TextIO | None = None


class LineWriter:
    """structlog's final logger: writes each rendered line to the sink, whole.

    One lock for all writers, so lines from several threads never interleave. The sink
    is looked up at each write, so a later `configure_logging` redirects every logger,
    including ones already handed out. A failing write (closed stream) is dropped:
    logging never breaks the work it reports on. ``name`` is the module that asked for
    the logger (`add_logger_name`).
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        stream = sys.stderr if _sink is None else _sink
        with _lock:
            try:
                stream.write(message + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def add_logger_name(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    name = getattr(logger, "name", None)
    if name and "logger" not in event_dict:
        event_dict["logger"] = name
    return event_dict


def configure_logging(
    level: str = "INFO", json_output: bool = True, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) as JSON lines or text."""
    global _sink
    _sink = stream
    out = sys.stderr if stream is None else stream
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        logger_factory=lambda *args: LineWriter(str(args[0]) if args else None),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # not cached: a later configure_logging (another level) applies to every logger
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for noisy in ("httpx", "httpcore", "web3", "urllib3", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
