"""Event rows as they are stored (SPEC §3.1) and as they are appended."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def fast_frozen_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass a faster ``__init__`` with the same behaviour.

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__`` by name; this one calls each slot's descriptor directly
    (about half the cost: the store builds several row objects per event). Only for
    classes whose fields are all positional-or-keyword, with defaults that are plain
    values, and without ``__post_init__``: anything else is refused at import time.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} must be a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__")
    namespace: dict[str, object] = {}
    args: list[str] = []
    body: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.default_factory is not dataclasses.MISSING or field.kw_only or not field.init:
            raise TypeError(f"{cls.__name__}.{field.name}: unsupported field")
        name = field.name
        if field.default is dataclasses.MISSING:
            args.append(name)
        else:
            namespace[f"_default_{name}"] = field.default
            args.append(f"{name}=_default_{name}")
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
        body.append(f"    _set_{name}(self, {name})")
    source = f"def __init__(self, {', '.join(args)}):\n" + "\n".join(body)
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's field names only
    init: Any = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - replacing the generated method
    return cls


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event row about to be appended; the store assigns its global position."""

    aggregate_type: str
    aggregate_id: str
    sequence: int
    event_type: str
    event_version: str
    payload: str
    metadata: str = "{}"


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A committed event row with its global position (commit order across aggregates)."""

    position: int
    aggregate_type: str
    aggregate_id: str
    sequence: int
    event_type: str
    event_version: str
    payload: str
    metadata: str

    @classmethod
    def from_new(cls, event: NewEvent, position: int) -> StoredEvent:
        # positional: this runs once per appended row
        return cls(
            position,
            event.aggregate_type,
            event.aggregate_id,
            event.sequence,
            event.event_type,
            event.event_version,
            event.payload,
            event.metadata,
        )


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Snapshot:
    aggregate_type: str
    aggregate_id: str
    last_sequence: int
    payload: str
    timestamp: str
