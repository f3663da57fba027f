"""``metrics_pnl_view``: one row per trade with its FIFO result, kept incrementally.

Rows (view id ``ONCHAIN:<tx_hash:log_index>`` / ``OFFCHAIN:<execution id>``) carry
the legacy ``metrics_pnl`` columns in their legacy formats (decimal strings that the
migration exposes as REAL, ``'BUY'``/``'SELL'``, ``YYYY-MM-DD HH:MM:SS`` UTC), plus
what the view needs to stay incremental: ``sort_key`` (the total PnL order), the
booking (``consumed`` lots and ``opened`` quantity, which make a row reversible) and
``previous`` (the view id of the symbol's preceding row).

``metrics_pnl_state`` holds one row per base symbol: open lots, totals, the number of
trades and the symbol's newest row.

`apply` only validates and collects a batch's trades; `finish` (once per
`Projector.apply` call or rebuild) books them per symbol, in PnL order:

* trades later than the symbol's newest one (the normal case) are booked against the
  stored lots: one state read and one row write per trade, whatever the history's
  length;
* otherwise the symbol is rewound from its newest row along ``previous``, undoing
  each booking, to the first place a trade of the batch belongs; from there the
  batch's trades and the stored rows are booked again, merged in PnL order. Only that
  symbol's rows after the insertion point are read and rewritten, once per batch,
  and the result equals a full recompute. A late hedge fill (stamped before an
  onchain trade already recorded) costs the rows after it; a migrated history costs
  least when its events come in time order or in big batches (a rebuild is one
  batch: every symbol is booked in one pass).

A row's content is a pure function of its symbol's trades, so its ``version`` stays 1
when a late trade rewrites it: the incrementally kept view equals a rebuild or a
recompute row for row, whatever order the trades arrived in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from weakref import WeakKeyDictionary

from hedgebot.domain import Direction
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.views import View, ViewRows
from hedgebot.metrics_pnl.fifo import TIME_KEY_LENGTH, Booking, FifoBook, Trade, Venue, plain
from hedgebot.metrics_pnl.sources import AGGREGATE_TYPES, trade_from_event

log = logging.getLogger(__name__)

VIEW_TABLE = "metrics_pnl_view"
STATE_TABLE = "metrics_pnl_state"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def _consumed(booking: Booking) -> list[list[str]]:
    return [[plain(q), plain(p)] for q, p in booking.consumed]


def row_payload(trade: Trade, booking: Booking, previous: str | None) -> dict[str, Any]:
    """The stored row of one booked trade (legacy columns first).

    Times are cut from the order key, which starts with the fixed-width UTC time
    (``2025-03-03T14:30:00.000000Z``, valid RFC 3339); enum members are compared, not
    read through their (slow) ``value`` property: this runs once per imported trade.
    """
    key = trade.order_key
    return {
        "symbol": trade.symbol,
        "timestamp": f"{key[:10]} {key[11:19]}",
        "trade_type": "ONCHAIN" if trade.venue is Venue.ONCHAIN else "OFFCHAIN",
        "trade_id": trade.trade_id,
        "trade_direction": "BUY" if trade.direction is Direction.BUY else "SELL",
        "quantity": plain(trade.quantity),
        "price_per_share": plain(trade.price),
        "realized_pnl": _text(booking.realized_pnl),
        "cumulative_pnl": plain(booking.cumulative_pnl),
        "net_position_after": plain(booking.net_position_after),
        "traded_at": key[:TIME_KEY_LENGTH],
        "sort_key": trade.order_key,
        "previous": previous,
        "consumed": _consumed(booking),
        "opened": _text(booking.opened),
    }


def _rebooked(payload: Mapping[str, Any], booking: Booking, previous: str | None) -> dict[str, Any]:
    return {
        **payload,
        "realized_pnl": _text(booking.realized_pnl),
        "cumulative_pnl": plain(booking.cumulative_pnl),
        "net_position_after": plain(booking.net_position_after),
        "previous": previous,
        "consumed": _consumed(booking),
        "opened": _text(booking.opened),
    }


def _stored_booking(payload: Mapping[str, Any]) -> Booking:
    realized = payload["realized_pnl"]
    opened = payload["opened"]
    return Booking(
        realized_pnl=None if realized is None else Decimal(realized),
        cumulative_pnl=Decimal(payload["cumulative_pnl"]),
        net_position_after=Decimal(payload["net_position_after"]),
        consumed=tuple((Decimal(q), Decimal(p)) for q, p in payload["consumed"]),
        opened=None if opened is None else Decimal(opened),
    )


def _new_state(symbol: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "trades": 0,
        "cumulative_pnl": "0",
        "net_position": "0",
        "newest": None,
        "newest_sort_key": None,
        "lots": [],
    }


class _Batch:
    """The trades collected by `apply` until `finish`, per symbol."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, list[Trade]] = {}
        self.view_ids: set[str] = set()


class MetricsPnlView(View):
    """FIFO PnL per base symbol over onchain and offchain fills (SPEC §5, §9)."""

    table = VIEW_TABLE
    aggregate_types = AGGREGATE_TYPES

    def __init__(self) -> None:
        # One pending batch per `ViewRows` of the main table, i.e. per projection run;
        # weak keys, so a run that failed before `finish` leaves nothing behind.
        self._batches: WeakKeyDictionary[ViewRows, _Batch] = WeakKeyDictionary()
        self._lock = threading.Lock()

    @property
    def tables(self) -> tuple[str, ...]:
        return (VIEW_TABLE, STATE_TABLE)

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        trade = trade_from_event(event, decoded)
        if trade is None:
            return
        view = rows[VIEW_TABLE]
        with self._lock:
            batch = self._batches.get(view)
            if batch is None:
                batch = self._batches[view] = _Batch()
        # An onchain trade is its aggregate's first event (witnessed or migrated once);
        # a broker fill could in principle arrive by both offchain paths (sources.py).
        recorded = trade.venue is Venue.OFFCHAIN and view.get(trade.view_id) is not None
        if recorded or trade.view_id in batch.view_ids:
            log.warning(
                "pnl_trade_already_recorded view_id=%s aggregate_type=%s aggregate_id=%s "
                "sequence=%s",
                trade.view_id,
                event.aggregate_type,
                event.aggregate_id,
                event.sequence,
            )
            return
        batch.view_ids.add(trade.view_id)
        batch.by_symbol.setdefault(trade.symbol, []).append(trade)

    def finish(self, rows: Mapping[str, ViewRows]) -> None:
        view = rows[VIEW_TABLE]
        with self._lock:
            batch = self._batches.pop(view, None)
        if batch is None:
            return
        states = rows[STATE_TABLE]
        for symbol, trades in batch.by_symbol.items():
            trades.sort(key=lambda t: t.order_key)
            _book_symbol(view, states, symbol, trades)


def _book_symbol(view: ViewRows, states: ViewRows, symbol: str, trades: list[Trade]) -> None:
    """Book a symbol's new trades (sorted) into its stored rows and state."""
    # The cached state object is updated in place (its lot list is the book's), so
    # booking many trades of one symbol never copies its open lots.
    state = states.get(symbol) or _new_state(symbol)
    book = FifoBook(
        lots=state["lots"],
        cumulative_pnl=Decimal(state["cumulative_pnl"]),
        net_position=Decimal(state["net_position"]),
    )
    first_key = trades[0].order_key
    newest_key = state["newest_sort_key"]
    cursor = state["newest"]
    later: list[tuple[str, dict[str, Any]]] = []
    if newest_key is not None and first_key < newest_key:
        while cursor is not None:
            payload = view.get(cursor)
            if payload is None:
                raise LookupError(f"{VIEW_TABLE} row {cursor!r} is missing (rebuild the view)")
            if payload["sort_key"] < first_key:
                break
            book.undo(
                Direction.from_legacy(payload["trade_direction"]),
                Decimal(payload["quantity"]),
                _stored_booking(payload),
            )
            later.append((cursor, payload))
            cursor = payload["previous"]
        later.reverse()
    previous = cursor
    stored_index = 0
    for trade in trades:
        while stored_index < len(later) and later[stored_index][1]["sort_key"] < trade.order_key:
            previous = _rebook(view, book, *later[stored_index], previous)
            stored_index += 1
        booking = book.apply_trade(trade)
        view.put(trade.view_id, row_payload(trade, booking, previous), version=1)
        previous = trade.view_id
    for view_id, payload in later[stored_index:]:
        previous = _rebook(view, book, view_id, payload, previous)
    state["newest"] = previous  # the last booked in PnL order
    state["newest_sort_key"] = max(trades[-1].order_key, newest_key or "")
    state["trades"] += len(trades)
    state["cumulative_pnl"] = plain(book.cumulative_pnl)
    state["net_position"] = plain(book.net_position)
    # version = trades folded in: the same however the trades were batched
    states.put(symbol, state, version=state["trades"])


def _rebook(
    view: ViewRows, book: FifoBook, view_id: str, payload: Mapping[str, Any], previous: str | None
) -> str:
    booking = book.apply(
        Direction.from_legacy(payload["trade_direction"]),
        Decimal(payload["quantity"]),
        Decimal(payload["price_per_share"]),
    )
    view.put(view_id, _rebooked(payload, booking, previous), version=1)
    return view_id
