"""A tiny aggregate used only by the framework tests: a ledger with deposits and limits.

It exercises every codec shape the real aggregates use: struct, unit and newtype
variants, Decimal, datetime, Optional, enums, nested structs and tagged fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from hedgebot.domain import Direction, DomainError
from hedgebot.eventstore import Aggregate, DecideContext, EventRegistry, StoredEvent, Tagged
from hedgebot.eventstore.views import View, ViewRows


class Limit(Tagged, root=True):
    pass


@dataclass(frozen=True)
class Unlimited(Limit):
    pass


@dataclass(frozen=True)
class MaxBalance(Limit, newtype=True):
    value: Decimal


@dataclass(frozen=True)
class Note:
    text: str
    at: datetime


class LedgerEvent(Tagged, root=True):
    pass


@dataclass(frozen=True)
class Opened(LedgerEvent):
    name: str
    limit: Limit
    opened_at: datetime


@dataclass(frozen=True)
class Moved(LedgerEvent):
    amount: Decimal
    direction: Direction
    transfer_id: int
    note: Note | None
    moved_at: datetime


@dataclass(frozen=True)
class Frozen(LedgerEvent):
    pass


class LedgerCommand:
    pass


@dataclass(frozen=True)
class Open(LedgerCommand):
    name: str
    limit: Limit = Unlimited()


@dataclass(frozen=True)
class Move(LedgerCommand):
    amount: Decimal
    direction: Direction
    note: str | None = None


@dataclass(frozen=True)
class Freeze(LedgerCommand):
    pass


class AlreadyOpen(DomainError):
    pass


class NotOpen(DomainError):
    pass


class LimitExceeded(DomainError):
    pass


class IsFrozen(DomainError):
    pass


@dataclass(frozen=True)
class LedgerState:
    name: str | None = None
    balance: Decimal = Decimal(0)
    limit: Limit = Unlimited()
    moves: int = 0
    frozen: bool = False
    last_at: datetime | None = None


def decide(state: LedgerState, command: LedgerCommand, ctx: DecideContext) -> Sequence[Tagged]:
    if isinstance(command, Open):
        if state.name is not None:
            raise AlreadyOpen(state.name)
        return [Opened(command.name, command.limit, ctx.now)]
    if state.name is None:
        raise NotOpen("ledger is not open")
    if state.frozen:
        raise IsFrozen(state.name)
    if isinstance(command, Move):
        new_balance = state.balance + command.direction.sign * command.amount
        if isinstance(state.limit, MaxBalance) and new_balance > state.limit.value:
            raise LimitExceeded(f"{new_balance} > {state.limit.value}")
        note = Note(command.note, ctx.now) if command.note is not None else None
        return [Moved(command.amount, command.direction, ctx.next_id("transfer"), note, ctx.now)]
    if isinstance(command, Freeze):
        return [Frozen()]
    raise TypeError(f"unknown command {command!r}")


def evolve(state: LedgerState, event: Any) -> LedgerState:
    if isinstance(event, Opened):
        return replace(state, name=event.name, limit=event.limit, last_at=event.opened_at)
    if isinstance(event, Moved):
        return replace(
            state,
            balance=state.balance + event.direction.sign * event.amount,
            moves=state.moves + 1,
            last_at=event.moved_at,
        )
    if isinstance(event, Frozen):
        return replace(state, frozen=True)
    return state


LEDGER_EVENTS = EventRegistry("Ledger", LedgerEvent, prefix="LedgerEvent")

LEDGER = Aggregate[LedgerState, LedgerCommand](
    aggregate_type="Ledger",
    events=LEDGER_EVENTS,
    state_type=LedgerState,
    initial_state=LedgerState,
    decide=decide,
    evolve=evolve,
)

LEDGER_VIEW_DDL = """
CREATE TABLE IF NOT EXISTS ledger_view (
    view_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    payload JSON NOT NULL,
    name TEXT GENERATED ALWAYS AS (json_extract(payload, '$.name')) STORED,
    balance REAL GENERATED ALWAYS AS (CAST(json_extract(payload, '$.balance') AS REAL)) STORED
)
"""


class LedgerView(View):
    table = "ledger_view"
    aggregate_types = frozenset({"Ledger"})

    def __init__(self, fail_on: Decimal | None = None) -> None:
        self.fail_on = fail_on

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        table = rows[self.table]
        current = table.get(event.aggregate_id)
        if isinstance(decoded, Opened):
            table.put(event.aggregate_id, {"name": decoded.name, "balance": "0", "moves": 0})
        elif isinstance(decoded, Moved):
            if self.fail_on is not None and decoded.amount == self.fail_on:
                raise RuntimeError("projection refuses this amount")
            assert current is not None
            balance = Decimal(current["balance"]) + decoded.direction.sign * decoded.amount
            table.put(
                event.aggregate_id,
                {**current, "balance": str(balance), "moves": current["moves"] + 1},
            )
        elif isinstance(decoded, Frozen):
            table.delete(event.aggregate_id)


LEDGER_VIEW_DDL_POSTGRES = """
CREATE TABLE IF NOT EXISTS ledger_view (
    view_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    payload JSONB NOT NULL,
    name TEXT GENERATED ALWAYS AS (payload->>'name') STORED
)
"""
