"""Value types shared by several feature packages (SPEC §1, §3.3).

Wire forms follow the reference: `Direction` is ``"Buy"``/``"Sell"`` in event JSON and
``'BUY'``/``'SELL'`` in the legacy tables and views; `Broker` is
``"Schwab"``/``"Alpaca"``/``"DryRun"`` in JSON and ``'schwab'``/``'alpaca'``/``'dry_run'``
in tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class DomainError(Exception):
    """Base of every typed rejection raised by an aggregate's `decide`."""


class Direction(Enum):
    BUY = "Buy"
    SELL = "Sell"

    @property
    def legacy(self) -> str:
        """``'BUY'`` / ``'SELL'`` as in the legacy tables and the views."""
        return self.name

    @property
    def opposite(self) -> Direction:
        return Direction.SELL if self is Direction.BUY else Direction.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Direction.BUY else -1

    @classmethod
    def from_legacy(cls, text: str) -> Direction:
        try:
            return cls[text]
        except KeyError:
            raise ValueError(f"invalid direction {text!r} (expected 'BUY' or 'SELL')") from None


class Broker(Enum):
    SCHWAB = "Schwab"
    ALPACA = "Alpaca"
    DRY_RUN = "DryRun"

    @property
    def legacy(self) -> str:
        """``'schwab'`` / ``'alpaca'`` / ``'dry_run'`` as in the legacy tables and views."""
        return self.name.lower()

    @classmethod
    def from_legacy(cls, text: str) -> Broker:
        for member in cls:
            if member.legacy == text:
                return member
        raise ValueError(f"invalid broker {text!r} (expected 'schwab', 'alpaca' or 'dry_run')")


class NotTokenizedEquity(ValueError):
    """A token symbol that is not a tokenized stock (no ``t`` prefix, ``0x``/``s1`` suffix)."""


def base_symbol(tokenized: str) -> str:
    """The broker ticker of a tokenized stock symbol.

    ``tAAPL`` → ``AAPL`` (lowercase ``t`` prefix), ``AAPL0x`` → ``AAPL``, ``NVDAs1`` →
    ``NVDA``; tried in that order. Anything else raises `NotTokenizedEquity`.
    """
    if tokenized.startswith("t") and len(tokenized) > 1:
        base = tokenized[1:]
    elif tokenized.endswith("0x") or tokenized.endswith("s1"):
        base = tokenized[:-2]
    else:
        raise NotTokenizedEquity(f"{tokenized!r} is not a tokenized equity symbol")
    if not base:
        raise NotTokenizedEquity(f"{tokenized!r} has an empty base symbol")
    return base


def validate_symbol(symbol: str) -> str:
    if not symbol or symbol != symbol.strip():
        raise ValueError(f"invalid symbol {symbol!r}: must be non-empty without surrounding space")
    return symbol


_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")


def normalize_tx_hash(tx_hash: str) -> str:
    """``0x`` + 64 lowercase hex, as the reference writes aggregate ids."""
    value = tx_hash.strip().lower()
    if not value.startswith("0x"):
        value = "0x" + value
    if not _TX_HASH.match(value):
        raise ValueError(f"invalid transaction hash {tx_hash!r} (expected 0x + 64 hex digits)")
    return value


@dataclass(frozen=True)
class TradeId:
    """An onchain fill: the log that carried it. Also the OnChainTrade aggregate id."""

    tx_hash: str
    log_index: int

    def __post_init__(self) -> None:
        if self.log_index < 0:
            raise ValueError(f"log_index must be >= 0, got {self.log_index}")

    @property
    def aggregate_id(self) -> str:
        return f"{self.tx_hash}:{self.log_index}"

    @classmethod
    def parse(cls, aggregate_id: str) -> TradeId:
        tx_hash, sep, index = aggregate_id.rpartition(":")
        if not sep or not index.isdigit():
            raise ValueError(f"invalid trade id {aggregate_id!r}: expected 'tx_hash:log_index'")
        return cls(normalize_tx_hash(tx_hash), int(index))
