"""The PnL report: ``hedgebot pnl`` and the demo's closing summary (Rich or JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hedgebot.metrics_pnl.queries import (
    PnlRecord,
    PnlSummary,
    SqlQueryable,
    pnl_rows,
    pnl_summary,
)

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """``7d`` / ``12h`` / ``30m`` / ``45s`` / ``2w`` before ``now``, or an ISO date or time.

    A date means its midnight UTC; a time without an offset is UTC.
    """
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative is not None:
        amount, unit = relative.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    candidate = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: expected an ISO date or time (2025-01-31, "
            "2025-01-31T12:00:00Z) or a duration back from now (30m, 12h, 7d, 2w)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}"


def _quantity(value: Decimal) -> str:
    return format(value, "f")


def _signed_style(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "green" if value > 0 else "red"


def summary_table(summary: PnlSummary) -> Table:
    """Per-symbol totals with a total line."""
    window = "" if summary.since is None else f" since {summary.since:%Y-%m-%d %H:%M:%S} UTC"
    table = Table(title=f"Realised PnL (FIFO, both venues){window}")
    table.add_column("symbol")
    table.add_column("trades", justify="right")
    table.add_column("realised", justify="right")
    table.add_column("cumulative", justify="right")
    table.add_column("net position", justify="right")
    table.add_column("last trade (UTC)")
    for entry in summary.symbols:
        table.add_row(
            entry.symbol,
            str(entry.trades),
            Text(_money(entry.realized_pnl), style=_signed_style(entry.realized_pnl)),
            _money(entry.cumulative_pnl),
            _quantity(entry.net_position),
            f"{entry.last_trade_at:%Y-%m-%d %H:%M:%S}",
        )
    table.add_section()
    table.add_row(
        "total",
        str(sum(entry.trades for entry in summary.symbols)),
        Text(_money(summary.total_realized_pnl), style=_signed_style(summary.total_realized_pnl)),
        "",
        "",
        "",
    )
    return table


def _short_id(trade_id: str) -> str:
    """``0x1234…00e1:3`` for a tx-hash id; execution ids as they are (JSON has both)."""
    tx_hash, sep, log_index = trade_id.rpartition(":")
    if not sep or len(tx_hash) <= 16:
        return trade_id
    return f"{tx_hash[:6]}…{tx_hash[-4:]}:{log_index}"


def trades_table(records: Sequence[PnlRecord], symbol: str) -> Table:
    """One symbol's trades with their FIFO results (fits 80 columns: text cells wrap)."""
    table = Table(title=f"PnL trades of {symbol}", box=box.SIMPLE_HEAD)
    table.add_column("time (UTC)", min_width=10)
    table.add_column("trade", min_width=13)
    table.add_column("side", no_wrap=True)
    for name in ("qty", "price", "realised", "cumul.", "net"):
        table.add_column(name, justify="right", no_wrap=True)
    for record in records:
        venue = "chain" if record.trade_type == "ONCHAIN" else "broker"
        table.add_row(
            record.timestamp,
            f"{venue} {_short_id(record.trade_id)}",
            record.trade_direction,
            _quantity(record.quantity),
            _quantity(record.price_per_share),
            _money(record.realized_pnl),
            _money(record.cumulative_pnl),
            _quantity(record.net_position_after),
        )
    return table


def pnl_report(
    store: SqlQueryable, *, symbol: str | None = None, since: datetime | None = None
) -> tuple[PnlSummary, list[PnlRecord]]:
    """The summary, and with a symbol its trades in the window."""
    summary = pnl_summary(store, symbol=symbol, since=since)
    records = [] if symbol is None else pnl_rows(store, symbol=symbol, since=since)
    return summary, records


def report_json(summary: PnlSummary, records: Sequence[PnlRecord], symbol: str | None) -> str:
    document: dict[str, Any] = summary.to_json()
    if symbol is not None:
        document["trades"] = [record.to_json() for record in records]
    return json.dumps(document, indent=2)


def print_report(
    console: Console,
    summary: PnlSummary,
    records: Sequence[PnlRecord],
    symbol: str | None,
) -> None:
    if symbol is not None:
        if records:
            console.print(trades_table(records, symbol))
        else:
            console.print(f"no PnL trades for {symbol}")
            return
    if not summary.symbols:
        console.print("no PnL trades yet")
        return
    console.print(summary_table(summary))


def run_pnl_report(
    database_url: str,
    *,
    symbol: str | None,
    since: datetime | None,
    json_output: bool,
    console: Console,
) -> None:
    """``hedgebot pnl``: open the store (no schema change), report, close."""
    from hedgebot.eventstore.factory import open_store

    store = open_store(database_url, upgrade=False)
    try:
        summary, records = pnl_report(store, symbol=symbol, since=since)
    finally:
        store.close()
    if json_output:
        console.print_json(report_json(summary, records, symbol))
    else:
        print_report(console, summary, records, symbol)
