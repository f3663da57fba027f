"""Layout descriptions of codec types, so that snapshots detect a changed state shape."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from hedgebot.eventstore.codec import Tagged, _fields, _optional_inner


def describe_type(tp: Any) -> str:
    """A stable text describing the JSON layout of ``tp``: field names, order, types.

    Two types with the same description encode and decode the same way, so a change
    to a state's shape (a field added, removed, renamed or retyped, a variant added)
    changes the description. Snapshots store a digest of it to detect stale layouts.
    """
    return _describe(tp, set())


def _describe(tp: Any, seen: set[Any]) -> str:
    if tp in (Decimal, datetime, int, str, bool):
        return str(tp.__name__)
    if tp is Any:
        return "Any"
    inner = _optional_inner(tp)
    if inner is not None:
        return f"Optional[{_describe(inner, seen)}]"
    origin = typing.get_origin(tp)
    if origin in (list, tuple, dict):
        args = ",".join("..." if a is Ellipsis else _describe(a, seen) for a in typing.get_args(tp))
        return f"{origin.__name__}[{args}]"
    if not isinstance(tp, type):
        raise TypeError(f"the codec does not support type {tp!r}")
    if tp in seen:
        return f"<{tp.__qualname__}>"
    seen = seen | {tp}
    if issubclass(tp, Enum):
        return f"{tp.__qualname__}({','.join(repr(m.value) for m in tp)})"
    if issubclass(tp, Tagged):
        root = tp.__tagged_root__
        seen = seen | {root}
        variants = []
        for name in sorted(root.__variants__):
            cls = root.__variants__[name]
            kind = "newtype" if cls.__newtype__ else "struct"
            variants.append(f"{name}:{kind}{_describe_fields(cls, seen)}")
        return f"{root.__qualname__}<{'|'.join(variants)}>"
    if dataclasses.is_dataclass(tp):
        return f"{tp.__qualname__}{_describe_fields(tp, seen)}"
    raise TypeError(f"the codec does not support type {tp!r}")


def _describe_fields(cls: type, seen: set[Any]) -> str:
    parts = [f"{name}:{_describe(tp, seen)}" for name, tp, _, _ in _fields(cls)]
    return "{" + ",".join(parts) + "}"
