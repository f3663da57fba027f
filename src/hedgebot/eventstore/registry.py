"""Stable event-type names and the payload codec of one aggregate's events.

Each aggregate registers its event enum once with the wire names of SPEC §3.3
(`PositionEvent::Initialized`, bare `TokensStored` for SchwabAuth). Names never
derive from Python module paths. Decoding follows the payload's variant tag, as the
reference does; `event_version` drives upcasters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hedgebot.eventstore import codec
from hedgebot.eventstore.codec import CodecError, Tagged
from hedgebot.eventstore.envelope import StoredEvent
from hedgebot.eventstore.errors import UnknownEventError

CURRENT_EVENT_VERSION = "1.0"

Upcaster = Callable[[Any], Any]


@dataclass
class EventRegistry:
    """The codec of one aggregate's event enum.

    ``prefix`` is the enum name put in front of the variant in `event_type`
    (``PositionEvent::Filled``); ``None`` writes the bare variant name.
    """

    aggregate_type: str
    root: type[Tagged]
    prefix: str | None
    version: str = CURRENT_EVENT_VERSION
    _upcasters: dict[tuple[str, str], tuple[str, Upcaster]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.root.is_root():
            raise TypeError(f"{self.root.__name__} is not a Tagged root")

    def event_type(self, event: Tagged) -> str:
        name = type(event).__variant_name__
        return f"{self.prefix}::{name}" if self.prefix else name

    def type_of(self, variant: type[Tagged]) -> str:
        """The stored event type of one variant class (``PositionEvent::Filled``)."""
        if (
            not issubclass(variant, self.root)
            or variant.__variant_name__ not in self.root.__variants__
        ):
            raise CodecError(f"{variant.__name__} is not a variant of {self.root.__name__}")
        name = variant.__variant_name__
        return f"{self.prefix}::{name}" if self.prefix else name

    def event_types(self) -> list[str]:
        names = list(self.root.__variants__)
        return [f"{self.prefix}::{n}" if self.prefix else n for n in names]

    def encode(self, event: Tagged) -> str:
        if not isinstance(event, self.root):
            raise CodecError(f"{type(event).__name__} is not a {self.root.__name__}")
        return codec.to_json(self.root, event)

    def register_upcaster(
        self, event_type: str, from_version: str, to_version: str, upcast: Upcaster
    ) -> None:
        """Register a payload transform from one stored version to the next."""
        self._upcasters[(event_type, from_version)] = (to_version, upcast)

    def decode_payload(self, event_type: str, event_version: str, payload: str) -> Any:
        raw = codec.loads(payload)
        version = event_version
        seen: set[str] = set()
        while version != self.version:
            step = self._upcasters.get((event_type, version))
            if step is None or version in seen:
                raise CodecError(
                    f"no upcaster for {event_type} version {version} (current {self.version})"
                )
            seen.add(version)
            to_version, upcast = step
            try:
                raw = upcast(raw)
            except Exception as exc:
                raise CodecError(
                    f"upcaster of {event_type} from version {version} to {to_version} "
                    f"failed: {type(exc).__name__}: {exc}"
                ) from exc
            version = to_version
        return codec.from_jsonable(self.root, raw)

    def decode(self, row: StoredEvent) -> Any:
        """Decode a stored row, naming aggregate, id and sequence on any failure."""
        try:
            return self.decode_payload(row.event_type, row.event_version, row.payload)
        except CodecError as exc:
            raise UnknownEventError(
                row.aggregate_type, row.aggregate_id, row.sequence, str(exc)
            ) from None
