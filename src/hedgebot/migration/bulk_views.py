"""The import's projection: every view row of the imported events, in bulk.

The generic `Projector` folds each event into each view through `ViewRows`: one
payload dict per row, encoded at the flush. For the 100,000s of
``OnChainTradeEvent::Migrated`` of a large import that was the biggest part of the
write phase, so `ImportProjection` writes ``onchain_trade_view`` itself:

* each row's payload is written as JSON text in one formatting step, from the same
  event fields and with the same helpers as `hedgebot.onchain_trade.view` (a timestamp
  or a symbol met again reuses its text), and the rows go to the store in chunks of
  `CHUNK` (``view_put_many``: the port's upsert, version 1 as the view writes for a
  stream's first event);
* every other view (positions, orders, the PnL view and its state, the tokens, and any
  view added later) is applied by the projector as before, in one pass over all the
  events (the PnL view books each symbol once) — in a forked child meanwhile when the
  store had no events (`hedgebot.migration.forked`).

The rows must be exactly those the view writes (``rebuild`` included). Tests compare
them with a rebuild of the view; and at run time the first row of every *shape*
(which optional values are NULL, legacy NULL markers, tokenized or bare symbol) is also
projected by the view itself and compared byte for byte. Should they ever differ (the
view changed and this module was not updated), the import logs it and projects
``onchain_trade_view`` through the view instead: slower, never different.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from hedgebot.domain import Direction
from hedgebot.eventstore import Projector, StoreTransaction, codec
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.store import ViewRow
from hedgebot.eventstore.views import View, ViewRows
from hedgebot.migration.event_text import migrated_shape
from hedgebot.migration.forked import ForkedProjection, can_fork, deadline, replay
from hedgebot.onchain_trade.events import (
    AGGREGATE_TYPE as ONCHAIN_TRADE,
)
from hedgebot.onchain_trade.events import (
    LEGACY_NULL_BLOCK_TIMESTAMP,
    LEGACY_NULL_CREATED_AT,
    Migrated,
    PythPrice,
)
from hedgebot.onchain_trade.view import OnChainTradeView, sql_timestamp, view_base_symbol

log = logging.getLogger(__name__)

#: view rows written per ``view_put_many``
CHUNK = 5000


#: a trade id as `TradeId.parse` leaves it: 0x + 64 lowercase hex, ":", the log index
#: in ASCII digits without leading zeros (such an id is its own view id)
_NORMAL_TRADE_ID = re.compile(r"0x[0-9a-f]{64}:(?:0|[1-9][0-9]*)")


class _Unsupported(Exception):
    """A row this module does not format (the view itself projects it)."""


def _real(value: Decimal | None) -> str:
    """A REAL column: the JSON number of ``float(value)``, as the JSON encoder writes it."""
    if value is None:
        return "null"
    number = float(value)
    if not math.isfinite(number):
        raise _Unsupported("not a finite REAL")  # the codec refuses it: let the view say so
    return float.__repr__(number)


def _int(value: int | None) -> str:
    if value is None:
        return "null"
    if type(value) is not int:
        raise _Unsupported("not a plain int")
    return int.__repr__(value)


def _dec(value: Decimal | None) -> str:
    return "null" if value is None else '"' + codec.encode_decimal(value) + '"'


class OnChainRows:
    """``onchain_trade_view`` payloads of ``Migrated`` events, as JSON text."""

    def __init__(self) -> None:
        self._times: dict[datetime, tuple[str, str]] = {}
        self._symbols: dict[str, tuple[str, str]] = {}

    def _time(self, value: datetime | None) -> tuple[str, str]:
        """(SQL text, RFC 3339 text) as JSON values."""
        if value is None:
            return "null", "null"
        texts = self._times.get(value)
        if texts is None:
            texts = (
                '"' + sql_timestamp(value) + '"',
                '"' + codec.encode_datetime(value) + '"',
            )
            self._times[value] = texts
        return texts

    def _symbol(self, symbol: str) -> tuple[str, str]:
        texts = self._symbols.get(symbol)
        if texts is None:
            texts = (encode_basestring(symbol), encode_basestring(view_base_symbol(symbol)))
            self._symbols[symbol] = texts
        return texts

    @staticmethod
    def shape(event: Migrated) -> tuple[object, ...]:
        """What decides the row's layout beyond plain values (for the run-time check)."""
        return (*migrated_shape(event), event.symbol[:1] == "t", event.symbol[-2:])

    def payload(self, aggregate_id: str, event: Migrated) -> tuple[str, str]:
        """The row's view id and payload text (`hedgebot.onchain_trade.view`)."""
        tx_hash, _, log_index = aggregate_id.rpartition(":")
        if not _NORMAL_TRADE_ID.fullmatch(aggregate_id):
            raise _Unsupported("not a normalised trade id")  # `TradeId.parse` decides
        if type(event.direction) is not Direction:
            raise _Unsupported("unexpected direction")
        nulls = event.legacy_nulls or ()
        block_timestamp = None if LEGACY_NULL_BLOCK_TIMESTAMP in nulls else event.block_timestamp
        if LEGACY_NULL_CREATED_AT in nulls:
            created_at = None
        else:
            created_at = event.created_at or event.block_timestamp
        pyth_price: Decimal | None
        pyth_confidence: Decimal | None
        pyth_exponent: int | None
        pyth_time: datetime | None
        legacy = event.legacy_pyth
        if legacy is not None:
            pyth_price, pyth_confidence = legacy.price, legacy.confidence
            pyth_exponent, pyth_time = legacy.exponent, legacy.publish_time
        elif isinstance(event.pyth_price, PythPrice):
            pyth = event.pyth_price
            pyth_price, pyth_confidence = pyth.price, pyth.confidence
            pyth_exponent, pyth_time = pyth.expo, pyth.publish_time
        elif event.pyth_price is None:
            pyth_price = pyth_confidence = pyth_exponent = pyth_time = None
        else:
            raise _Unsupported("unexpected pyth_price")
        symbol, base = self._symbol(event.symbol)
        block_sql, block_rfc = self._time(block_timestamp)
        created_sql, created_rfc = self._time(created_at)
        pyth_sql, pyth_rfc = self._time(pyth_time)
        amount, price = event.amount, event.price_usdc
        return aggregate_id, (
            f'{{"id":{_int(event.legacy_id)},"tx_hash":"{tx_hash}",'
            f'"log_index":{log_index},"symbol":{symbol},"base_symbol":{base},'
            f'"amount":{_real(amount)},"direction":"{event.direction.name}",'
            f'"price_usdc":{_real(price)},"block_number":{_int(event.block_number)},'
            f'"block_timestamp":{block_sql},"created_at":{created_sql},'
            f'"gas_used":{_int(event.gas_used)},'
            f'"effective_gas_price":{_int(event.effective_gas_price)},'
            f'"pyth_price":{_real(pyth_price)},"pyth_confidence":{_real(pyth_confidence)},'
            f'"pyth_exponent":{_int(pyth_exponent)},"pyth_publish_time":{pyth_sql},'
            f'"exact":{{"amount":{_dec(amount)},"price_usdc":{_dec(price)},'
            f'"block_timestamp":{block_rfc},"created_at":{created_rfc},'
            f'"filled_at":{self._time(event.block_timestamp)[1]},"enriched_at":null,'
            f'"migrated":true,"pyth_price":{_dec(pyth_price)},'
            f'"pyth_confidence":{_dec(pyth_confidence)},"pyth_publish_time":{pyth_rfc}}}}}'
        )


def _by_the_view(
    view: View, tx: StoreTransaction, event: StoredEvent, decoded: Any, view_id: str
) -> str:
    """The row the view itself writes for one first event: ``version|payload``."""
    rows = {table: ViewRows(tx, table) for table in view.tables}
    for table_rows in rows.values():
        table_rows.mark_cleared()  # a first event's row is written without reading
    view.apply(rows, event, decoded)
    main = rows[view.table]
    return f"{main.version(view_id)}|{codec.dumps(main.get(view_id))}"


def _write_onchain_rows(
    view: View,
    tx: StoreTransaction,
    events: Sequence[StoredEvent],
    decoded: Sequence[Any],
    chunk_size: int = CHUNK,
) -> bool:
    """Write the view's rows of ``events``; False when the view must project them itself
    (then nothing of this table was left written)."""
    formatter = OnChainRows()
    checked: set[tuple[object, ...]] = set()
    written: list[str] = []
    chunk: list[ViewRow] = []
    try:
        for event, typed in zip(events, decoded, strict=True):
            if event.aggregate_type != ONCHAIN_TRADE:
                continue
            if type(typed) is not Migrated or event.sequence != 1:
                raise _Unsupported("not only an import's first events: the view does it all")
            view_id, text = formatter.payload(event.aggregate_id, typed)
            shape = formatter.shape(typed)
            if shape not in checked:
                # the first row of each shape is also projected by the view itself
                if _by_the_view(view, tx, event, typed, view_id) != f"1|{text}":
                    log.warning(
                        "migrate_bulk_view_mismatch table=%s view_id=%s: projecting the "
                        "table through its view instead",
                        view.table,
                        view_id,
                    )
                    raise _Unsupported("the view writes another row")
                checked.add(shape)
            chunk.append(ViewRow(view_id, 1, text))
            if len(chunk) == chunk_size:
                tx.view_put_many(view.table, chunk)
                written.extend(row.view_id for row in chunk)
                chunk = []
        if chunk:
            tx.view_put_many(view.table, chunk)
    except _Unsupported:
        if written:
            tx.view_delete(view.table, written)  # the view writes them all again
        return False
    return True


class ImportProjection:
    """The import's projection: started before the events are appended, finished after.

    ``onchain_trade_view`` is written in bulk by `finish`; the other views are projected
    by the projector — in a forked child from the start when that is possible
    (`hedgebot.migration.forked`), so that they are computed while the parent appends
    the events and writes the on-chain rows; else in-process by `finish`. ``events``
    are the stored events the append will return (their positions are known in
    advance: see `StoreTransaction.append`); the caller checks that and calls
    `abandon` when they differ.
    """

    def __init__(
        self,
        tx: StoreTransaction,
        projector: Projector,
        events: Sequence[StoredEvent],
        decoded: Sequence[Any],
        *,
        fork: bool = True,
    ) -> None:
        self._tx, self._projector = tx, projector
        self._events, self._decoded = events, decoded
        self._onchain = [v for v in projector.views if isinstance(v, OnChainTradeView)]
        self._others = [v for v in projector.views if not isinstance(v, OnChainTradeView)]
        self._child: ForkedProjection | None = None
        if fork and self._others and can_fork() and _all_empty(tx, self._others):
            self._child = ForkedProjection(projector, self._others, events, decoded)

    @property
    def forked(self) -> bool:
        return self._child is not None

    def finish(self, timings: dict[str, float] | None = None) -> None:
        """Write every view's rows into the transaction.

        ``timings``, when given, receives the wall seconds spent on the on-chain rows
        (``on-chain rows``), waiting for the child and reading its rows (``child wait``)
        and writing the other views' rows (``other views``).
        """
        tx, projector, events, decoded = self._tx, self._projector, self._events, self._decoded
        spent = {} if timings is None else timings
        try:
            started = time.perf_counter()
            for view in self._onchain:
                if not _write_onchain_rows(view, tx, events, decoded):
                    projector.apply(tx, events, decoded, views=[view])
            waiting = time.perf_counter()
            spent["on-chain rows"] = waiting - started
            child, self._child = self._child, None
            writes = child.result(deadline(len(events))) if child is not None else None
        except BaseException:
            self.abandon()
            raise
        writing = time.perf_counter()
        spent["child wait"] = writing - waiting
        if writes is not None:
            replay(tx, writes)
        elif self._others:
            projector.apply(tx, events, decoded, views=self._others)
        spent["other views"] = time.perf_counter() - writing

    def abandon(self) -> None:
        """End the child, if any (the import failed, or its events are not these)."""
        child, self._child = self._child, None
        if child is not None:
            child.abandon()


def _all_empty(tx: StoreTransaction, views: Sequence[View]) -> bool:
    """Whether every table of ``views`` is empty in ``tx`` (reads them whole: call it
    where they should be empty, e.g. in a store without events)."""
    return not any(tx.view_all(table) for view in views for table in view.tables)
