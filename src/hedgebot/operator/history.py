"""The history of one aggregate, decoded (``hedgebot events TYPE ID``).

Every event is decoded through its aggregate's registry (upcasters included), so an
event this version cannot read is reported as the store's `UnknownEventError` naming
the aggregate, id and sequence. SchwabAuth tokens are ciphertext, yet they are never
shown: the history says a token was stored, not which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hedgebot.domain import TradeId
from hedgebot.eventstore import EventRegistry, StoreReader, codec

#: aggregate type names as stored, by their lower-case spelling
AGGREGATE_TYPES = ("OnChainTrade", "Position", "OffchainOrder", "SchwabAuth")
REDACTED = "<encrypted, not shown>"


class UnknownAggregateType(ValueError):
    def __init__(self, given: str) -> None:
        super().__init__(f"unknown aggregate type {given!r} (one of {', '.join(AGGREGATE_TYPES)})")


@dataclass(frozen=True)
class HistoryEntry:
    sequence: int
    position: int
    event_type: str
    event_version: str
    payload: Any
    metadata: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "position": self.position,
            "event_type": self.event_type,
            "event_version": self.event_version,
            "payload": self.payload,
            "metadata": self.metadata,
        }


def canonical_type(aggregate_type: str) -> str:
    wanted = aggregate_type.strip().lower().replace("_", "").replace("-", "")
    for known in AGGREGATE_TYPES:
        if known.lower() == wanted:
            return known
    raise UnknownAggregateType(aggregate_type)


def canonical_id(aggregate_type: str, aggregate_id: str) -> str:
    """The id as the store writes it (``0x…:n`` lower-case, execution ids as integers)."""
    text = aggregate_id.strip()
    if aggregate_type == "OnChainTrade":
        return TradeId.parse(text).aggregate_id
    if aggregate_type == "OffchainOrder":
        if not text.isdigit() or int(text) <= 0:
            raise ValueError(f"invalid execution id {aggregate_id!r}: a positive integer")
        return str(int(text))
    if not text:
        raise ValueError("the aggregate id is empty")
    return text


def _redact(aggregate_type: str, payload: Any) -> Any:
    if aggregate_type != "SchwabAuth" or not isinstance(payload, dict):
        return payload
    redacted: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, dict):
            redacted[key] = {
                k: (REDACTED if "token" in k and not k.endswith("_at") else v)
                for k, v in value.items()
            }
        else:
            redacted[key] = value
    return redacted


def aggregate_history(
    store: StoreReader,
    registries: list[EventRegistry],
    aggregate_type: str,
    aggregate_id: str,
) -> tuple[str, str, list[HistoryEntry]]:
    """``(type, id, entries)`` with the canonical type and id; no events → empty list."""
    kind = canonical_type(aggregate_type)
    ident = canonical_id(kind, aggregate_id)
    registry = next((r for r in registries if r.aggregate_type == kind), None)
    if registry is None:
        raise UnknownAggregateType(aggregate_type)
    entries = []
    for stored in store.load_stream(kind, ident):
        decoded = registry.decode(stored)
        payload = codec.to_jsonable(registry.root, decoded)
        entries.append(
            HistoryEntry(
                sequence=stored.sequence,
                position=stored.position,
                event_type=stored.event_type,
                event_version=stored.event_version,
                payload=_redact(kind, payload),
                metadata=codec.loads(stored.metadata),
            )
        )
    return kind, ident, entries
