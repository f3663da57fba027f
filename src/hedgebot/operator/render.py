"""Rich tables for the read commands (``--json`` prints the documents of `reads` instead)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.table import Table
from rich.text import Text

from hedgebot.offchain_order.view import OffchainOrderRecord
from hedgebot.onchain_trade.view import OnChainTradeRecord
from hedgebot.operator.actions import RebuildResult
from hedgebot.operator.history import HistoryEntry
from hedgebot.operator.reads import Page, exposure_usdc, threshold_json
from hedgebot.position.state import PositionState


def _num(value: Decimal | None) -> str:
    return "—" if value is None else format(value, "f")


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _signed(value: Decimal) -> Text:
    style = "" if value == 0 else ("green" if value > 0 else "red")
    return Text(format(value, "f"), style=style)


def short_hash(tx_hash: str) -> str:
    return f"{tx_hash[:10]}…{tx_hash[-6:]}"


def page_caption(page: Page[Any]) -> str:
    if page.total == 0:
        return "none"
    last = page.offset + len(page.items)
    more = "" if page.next_offset is None else f" (next: --offset {page.next_offset})"
    return f"{page.offset + 1}–{last} of {page.total}{more}"


def trades_table(page: Page[OnChainTradeRecord]) -> Table:
    table = Table(title="Onchain fills (newest first)", caption=page_caption(page))
    for name in ("recorded (UTC)", "trade", "symbol", "side"):
        table.add_column(name)
    for name in ("amount", "price USDC", "block"):
        table.add_column(name, justify="right")
    for record in page.items:
        table.add_row(
            "—" if record.created_at is None else f"{record.created_at:%Y-%m-%d %H:%M:%S}",
            f"{short_hash(record.tx_hash)}:{record.log_index}",
            record.symbol,
            record.direction.legacy,
            _num(record.amount),
            _num(record.price_usdc),
            str(record.block_number),
        )
    return table


def positions_table(positions: Sequence[PositionState]) -> Table:
    table = Table(title="Positions")
    table.add_column("symbol")
    for name in ("net", "long", "short", "last price", "exposure $"):
        table.add_column(name, justify="right")
    for name in ("threshold", "pending", "hedging"):
        table.add_column(name)
    for position in positions:
        threshold = threshold_json(position.threshold)
        shown = "—"
        if threshold is not None:
            value = threshold["value"]
            unit = "share" if value == "1" else "shares"
            shown = f"{value} {unit}" if threshold["kind"] == "shares" else f"${value}"
        pending = "—"
        if position.pending_execution_id is not None:
            side = "" if position.pending_direction is None else position.pending_direction.legacy
            pending = f"#{position.pending_execution_id} {side} {_num(position.pending_shares)}"
        hedging = (
            Text(f"SUSPENDED ({position.consecutive_failures} failures)", style="bold red")
            if position.hedging_suspended
            else Text("active")
        )
        table.add_row(
            str(position.symbol),
            _signed(position.net),
            _num(position.accumulated_long),
            _num(position.accumulated_short),
            _num(position.last_price_usdc),
            _money(exposure_usdc(position)),
            shown,
            pending.strip(),
            hedging,
        )
    return table


def _cents(cents: int | None) -> str:
    return "—" if cents is None else f"{Decimal(cents) / 100:,.2f}"


def orders_table(page: Page[OffchainOrderRecord]) -> Table:
    table = Table(title="Broker orders (newest first)", caption=page_caption(page))
    for name in ("id", "symbol", "side"):
        table.add_column(name)
    for name in ("shares", "filled", "price $"):
        table.add_column(name, justify="right")
    for name in ("status", "broker", "broker order", "error"):
        table.add_column(name)
    for record in page.items:
        table.add_row(
            str(record.execution_id),
            record.symbol,
            record.direction.legacy,
            _num(record.shares),
            _num(record.shares_filled),
            _cents(record.price_cents or record.avg_price_cents),
            record.status if record.state != "PartiallyFilled" else "SUBMITTED (partial)",
            record.broker.legacy,
            record.broker_order_id or "—",
            record.error or "",
        )
    return table


def history_table(kind: str, ident: str, entries: Sequence[HistoryEntry]) -> Table:
    table = Table(title=f"{kind} {ident}")
    table.add_column("seq", justify="right")
    table.add_column("position", justify="right")
    table.add_column("event")
    table.add_column("payload", overflow="fold")
    for entry in entries:
        inner = entry.payload
        if isinstance(inner, dict) and len(inner) == 1:
            inner = next(iter(inner.values()))
        table.add_row(
            str(entry.sequence),
            str(entry.position),
            entry.event_type,
            json.dumps(inner, separators=(",", ":")),
        )
    return table


def rebuild_table(results: Sequence[RebuildResult]) -> Table:
    table = Table(title="Views rebuilt from the events")
    table.add_column("view")
    table.add_column("events read", justify="right")
    table.add_column("rows", justify="right")
    for result in results:
        table.add_row(result.table, str(result.events), str(result.rows))
    return table
