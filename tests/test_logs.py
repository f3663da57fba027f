"""Logging: JSON lines from structlog and stdlib loggers, levels, secret masking."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from hedgebot.logs import configure_logging

log = structlog.get_logger("hedgebot.tests.logs")


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    yield
    configure_logging("WARNING", json_output=False)


def test_structlog_lines_carry_event_level_logger_and_utc_timestamp() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_output=True, stream=out)
    log.info("hedge_submitted", execution_id=7, symbol="AAPL")
    (line,) = _lines(out)
    assert line["event"] == "hedge_submitted"
    assert line["execution_id"] == 7 and line["symbol"] == "AAPL"
    assert line["level"] == "info"
    assert line["logger"] == "hedgebot.tests.logs"
    assert str(line["timestamp"]).endswith("Z")


def test_level_filters_structlog_and_stdlib() -> None:
    out = io.StringIO()
    configure_logging("WARNING", json_output=True, stream=out)
    log.info("dropped")
    log.debug("dropped too")
    logging.getLogger("some.library").info("dropped as well")
    log.warning("kept")
    logging.getLogger("some.library").error("library %s", "failure")
    events = [line["event"] for line in _lines(out)]
    assert events == ["kept", "library failure"]
    assert _lines(out)[1]["logger"] == "some.library"


def test_secret_keys_are_masked_in_both_paths() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_output=True, stream=out)
    log.info("token_refreshed", access_token="abc123", app_secret="s3cr3t", account="x")
    logging.getLogger("lib").info("x", extra={"password": "hunter2"})
    text = out.getvalue()
    assert "abc123" not in text and "s3cr3t" not in text
    first = _lines(out)[0]
    assert first["access_token"] == "***" and first["app_secret"] == "***"
    assert first["account"] == "x"


def test_reconfiguring_redirects_loggers_already_in_use() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", json_output=True, stream=first)
    log.info("one")
    configure_logging("ERROR", json_output=True, stream=second)
    log.info("filtered by the new level")
    log.error("two")
    assert [line["event"] for line in _lines(first)] == ["one"]
    assert [line["event"] for line in _lines(second)] == ["two"]


def test_exceptions_are_rendered_and_a_closed_stream_never_raises() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_output=True, stream=out)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        log.error("step_failed", exc_info=exc)
    (line,) = _lines(out)
    assert "ValueError: boom" in str(line["exception"])
    out.close()
    log.error("after close")  # must not raise into the caller
