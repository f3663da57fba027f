"""Typed rejections of the Position aggregate, one class per reason."""

from __future__ import annotations

from decimal import Decimal

from hedgebot.domain import Direction, DomainError


class PositionError(DomainError):
    """Base of every Position rejection."""


class NotInitialized(PositionError):
    def __init__(self, command: str) -> None:
        super().__init__(f"cannot {command}: the position does not exist yet (initialize it first)")


class AlreadyInitialized(PositionError):
    def __init__(self, symbol: str) -> None:
        super().__init__(f"position {symbol} already exists")
        self.symbol = symbol


class SymbolMismatch(PositionError):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"command for symbol {actual!r} sent to position {expected!r}")
        self.expected = expected
        self.actual = actual


class InvalidSymbol(PositionError):
    def __init__(self, symbol: str) -> None:
        super().__init__(f"invalid symbol {symbol!r}: must be non-empty without surrounding space")
        self.symbol = symbol


class InvalidThreshold(PositionError):
    def __init__(self, value: Decimal) -> None:
        super().__init__(f"threshold must be positive, got {value}")
        self.value = value


class InvalidFill(PositionError):
    """An onchain fill that cannot be a trade (non-positive amount, negative price)."""


class InvalidOrderSizing(PositionError):
    def __init__(self, decimals: int) -> None:
        super().__init__(f"fractional_decimals must be between 0 and 18, got {decimals}")


class InvalidMigration(PositionError):
    """A legacy position that cannot be imported as given."""


class PendingExecution(PositionError):
    def __init__(self, execution_id: int) -> None:
        super().__init__(
            f"cannot place offchain order: already have pending execution {execution_id}"
        )
        self.execution_id = execution_id


class ThresholdNotMet(PositionError):
    def __init__(self, net_position: Decimal, threshold: object) -> None:
        super().__init__(
            f"cannot place offchain order: position {net_position} does not meet "
            f"threshold {threshold}"
        )
        self.net_position = net_position
        self.threshold = threshold


class HedgingSuspended(PositionError):
    def __init__(self, symbol: str, failures: int) -> None:
        super().__init__(
            f"automatic hedging of {symbol} is suspended after {failures} consecutive failed "
            "hedges; an operator must resume it (or update the threshold)"
        )
        self.symbol = symbol
        self.failures = failures


class HedgingNotSuspended(PositionError):
    def __init__(self, symbol: str) -> None:
        super().__init__(f"automatic hedging of {symbol} is not suspended")


class NoPendingExecution(PositionError):
    def __init__(self, execution_id: int) -> None:
        super().__init__(f"cannot complete offchain order {execution_id}: no pending execution")
        self.execution_id = execution_id


class ExecutionIdMismatch(PositionError):
    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"execution id mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class DirectionMismatch(PositionError):
    def __init__(self, execution_id: int, expected: Direction, actual: Direction) -> None:
        super().__init__(
            f"execution {execution_id} was placed as {expected.legacy}, not {actual.legacy}"
        )
        self.expected = expected
        self.actual = actual


class InvalidOrderFill(PositionError):
    """A broker fill that cannot be applied (non-positive quantity, negative price)."""
