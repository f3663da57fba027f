"""``position_view``: one row per base symbol, replacing the legacy ``trade_accumulators``.

The payload is the Position state as the aggregate folds it (the same `evolve`), minus
the window of recent fill ids, so the view can never disagree with the aggregate.
The generated columns (migration 0003) expose the legacy column names and formats
(REAL quantities, ``YYYY-MM-DD HH:MM:SS`` UTC text) for SQL and Grafana users.

The query functions read the exact decimals from the payload, not the REAL columns,
and use the columns only to narrow the rows.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from hedgebot.eventstore import StoredEvent, View, ViewRows, codec
from hedgebot.position.state import PositionState, evolve

POSITION_VIEW_TABLE = "position_view"


class PositionView(View):
    table = POSITION_VIEW_TABLE
    aggregate_types = frozenset({"Position"})
    state_of = "Position"

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        table = rows[self.table]
        current = table.get(event.aggregate_id)
        state = PositionState() if current is None else payload_to_state(current)
        # row version = the position's version, as `state_row` writes it
        table.put(
            event.aggregate_id,
            state_to_payload(evolve(state, decoded)),
            version=event.sequence,
        )

    def state_row(self, aggregate_id: str, state: Any) -> Any:
        return state_to_payload(state)


@functools.cache
def _payload_fields() -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """(field, codec encoder) of every PositionState field but ``recent_fills``."""
    hints = typing.get_type_hints(PositionState)
    return tuple(
        (field.name, codec.encoder_for(hints[field.name]))
        for field in dataclasses.fields(PositionState)
        if field.name != "recent_fills"
    )


def state_to_payload(state: PositionState) -> dict[str, Any]:
    """``to_jsonable(PositionState, state)`` without ``recent_fills``, field by field.

    Equal to encoding the whole state and deleting the key, without copying the state
    or encoding its window of fill ids (this runs once per Position event projected).
    """
    if not isinstance(state, PositionState):
        raise codec.CodecError(f"expected PositionState, got {type(state).__name__}")
    return {name: encode(getattr(state, name)) for name, encode in _payload_fields()}


def payload_to_state(payload: Any) -> PositionState:
    if isinstance(payload, bytes | bytearray | memoryview):
        payload = bytes(payload).decode()
    if isinstance(payload, str):
        payload = json.loads(payload)
    return codec.from_jsonable(PositionState, payload, "$.position_view")


# ---------------------------------------------------------------------------
# typed queries (SQLite and PostgreSQL; ``?`` placeholders)


class QueryStore(Protocol):
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


_SELECT = "SELECT payload FROM position_view "
_ALL = _SELECT + "ORDER BY symbol"
_BY_SYMBOL = _SELECT + "WHERE symbol = ?"
_PENDING = _SELECT + "WHERE pending_execution_id IS NOT NULL ORDER BY symbol"
_UNHEDGED = _SELECT + "WHERE pending_execution_id IS NULL AND net_position <> 0 ORDER BY symbol"


def _positions(store: QueryStore, sql: str, params: Sequence[object] = ()) -> list[PositionState]:
    return [payload_to_state(row[0]) for row in store.query(sql, params)]


def all_positions(store: QueryStore) -> list[PositionState]:
    """Every position, by symbol (``recent_fills`` is always empty in the view)."""
    return _positions(store, _ALL)


def position_by_symbol(store: QueryStore, symbol: str) -> PositionState | None:
    found = _positions(store, _BY_SYMBOL, (symbol,))
    return found[0] if found else None


def positions_with_pending_execution(store: QueryStore) -> list[PositionState]:
    """Positions waiting for a broker order (to reconcile at startup or report)."""
    return _positions(store, _PENDING)


def positions_ready_to_hedge(
    store: QueryStore, fractional_decimals: int | None = None
) -> list[PositionState]:
    """What the position checker hedges: nothing pending, not suspended, threshold met.

    The threshold is checked with the aggregate's own rule on exact decimals, so a
    position listed here is one `PlaceOffChainOrder` accepts (unless it changed in
    between, which `decide` then reports as a typed error).
    """
    candidates = _positions(store, _UNHEDGED)
    return [
        p
        for p in candidates
        if not p.hedging_suspended and p.hedge_plan(fractional_decimals) is not None
    ]


def suspended_positions(store: QueryStore) -> list[PositionState]:
    """Positions whose automatic hedging stopped after repeated failures (to alert on)."""
    return [p for p in all_positions(store) if p.hedging_suspended]
