"""The demo's screens: a live Rich view on a terminal, plain ``key=value`` lines otherwise
(logs, CI, a pipe), and the closing summary in the same two forms."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from hedgebot.demo.progress import Progress, SymbolRow
from hedgebot.metrics_pnl.queries import PnlSummary
from hedgebot.metrics_pnl.report import summary_table


def number(value: Decimal | None) -> str:
    """Exact plain notation (``0.25``, ``-3``), ``-`` for nothing."""
    if value is None:
        return "-"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def counts_line(progress: Progress, emitted: int, fills: int) -> str:
    return (
        f"fills emitted={emitted}/{fills} recorded={progress.recorded} "
        f"acknowledged={progress.acknowledged} · hedges placed={progress.placed} "
        f"filled={progress.filled} failed={progress.failed} open={progress.open}"
    )


def progress_line(progress: Progress, emitted: int, fills: int) -> str:
    return (
        f"progress: emitted={emitted}/{fills} recorded={progress.recorded} "
        f"acknowledged={progress.acknowledged} hedges_placed={progress.placed} "
        f"hedges_filled={progress.filled} hedges_failed={progress.failed} "
        f"hedges_open={progress.open}"
    )


def positions_table(rows: list[SymbolRow], title: str = "Positions") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("symbol")
    for name in ("fills", "bought", "sold", "hedged", "net"):
        table.add_column(name, justify="right")
    table.add_column("pending hedge")
    table.add_column("hedges done", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("last price", justify="right")
    for row in rows:
        pending = row.pending or "-"
        if row.suspended:
            pending = "SUSPENDED"
        table.add_row(
            row.symbol,
            str(row.fills),
            number(row.bought),
            number(row.sold),
            number(row.hedged),
            Text(number(row.net), style="bold"),
            pending,
            str(row.hedges_filled),
            Text(str(row.hedges_failed), style="red" if row.hedges_failed else ""),
            number(row.last_price),
        )
    return table


def recent_table(progress: Progress) -> Table:
    table = Table(title="Recent fills (desk side)", title_justify="left")
    table.add_column("block", justify="right")
    table.add_column("trade")
    table.add_column("symbol")
    table.add_column("side")
    table.add_column("shares", justify="right")
    table.add_column("price (USDC)", justify="right")
    for trade in progress.recent:
        side = trade.direction.legacy
        table.add_row(
            str(trade.block_number),
            f"{trade.tx_hash[:10]}…:{trade.log_index}",
            trade.symbol,
            Text(side, style="green" if side == "BUY" else "red"),
            number(trade.amount),
            number(trade.price_usdc),
        )
    return table


def live_view(progress: Progress, *, emitted: int, fills: int, header: str) -> RenderableType:
    return Group(
        Text(header, style="bold"),
        positions_table(progress.symbols),
        recent_table(progress),
        Text(counts_line(progress, emitted, fills)),
    )


def failure_notes(progress: Progress) -> list[str]:
    """One line per symbol whose hedges failed: what became of its exposure."""
    notes = []
    for row in progress.symbols:
        if not row.hedges_failed:
            continue
        if row.suspended:
            outcome = "automatic hedging is suspended until an operator acts"
        elif row.hedges_filled:
            outcome = f"net unchanged, so it was hedged again: {row.hedges_filled} filled"
        else:
            outcome = "its exposure is still open"
        notes.append(
            f"note: {row.hedges_failed} {row.symbol} hedge(s) rejected by the broker; {outcome}"
        )
    return notes


def print_summary(
    console: Console,
    progress: Progress,
    pnl: PnlSummary,
    *,
    emitted: int,
    fills: int,
    plain: bool,
) -> None:
    settled = "yes" if progress.settled(emitted) else "no"
    realised = {entry.symbol: entry for entry in pnl.symbols}
    for line in failure_notes(progress):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if plain:
        console.print(
            f"summary: fills_requested={fills} fills_emitted={emitted} "
            f"fills_recorded={progress.recorded} fills_acknowledged={progress.acknowledged} "
            f"hedges_placed={progress.placed} hedges_filled={progress.filled} "
            f"hedges_failed={progress.failed} hedges_open={progress.open} settled={settled}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for row in progress.symbols:
            entry = realised.get(row.symbol)
            console.print(
                f"position: symbol={row.symbol} fills={row.fills} bought={number(row.bought)} "
                f"sold={number(row.sold)} hedged={number(row.hedged)} net={number(row.net)} "
                f"hedges_filled={row.hedges_filled} hedges_failed={row.hedges_failed} "
                f"realised_pnl={number(entry.realized_pnl if entry else None)} "
                f"pnl_net_position={number(entry.net_position if entry else None)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        console.print(
            f"pnl: total_realised={number(pnl.total_realized_pnl)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(positions_table(progress.symbols, title="Final positions"))
    if pnl.symbols:
        console.print(summary_table(pnl))
    console.print(
        f"{counts_line(progress, emitted, fills)} · settled: {settled}",
        markup=False,
        highlight=False,
    )
