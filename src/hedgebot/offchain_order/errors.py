"""Typed rejections of the OffchainOrder aggregate (SPEC §4.3)."""

from __future__ import annotations

from hedgebot.domain import DomainError


class OffchainOrderError(DomainError):
    """Base of the OffchainOrder aggregate's rejections."""


class AlreadyPlaced(OffchainOrderError):
    """Place or Migrate of an order that exists: callers treat it as already done."""


class NotPlaced(OffchainOrderError):
    """A lifecycle command for an execution id that has no order."""


class NotSubmitted(OffchainOrderError):
    """A fill reported for an order the broker has not acknowledged yet."""


class AlreadySubmitted(OffchainOrderError):
    """ConfirmSubmission of an order that already has its broker order id."""


class AlreadyCompleted(OffchainOrderError):
    """Any change to an order that is filled or failed (terminal states)."""


class InvalidOrderInput(OffchainOrderError):
    """Base of the input validation errors (nothing is recorded)."""


class InvalidSymbol(InvalidOrderInput):
    pass


class InvalidShares(InvalidOrderInput):
    pass


class InvalidPrice(InvalidOrderInput):
    pass


class InvalidFill(InvalidOrderInput):
    """A filled quantity that is not within (0, shares] or goes backwards."""


class InvalidBrokerOrderId(InvalidOrderInput):
    pass


class InvalidFailureReason(InvalidOrderInput):
    pass


class InvalidTimestamp(InvalidOrderInput):
    pass


class MissingBrokerOrderId(InvalidOrderInput):
    """A migrated SUBMITTED or FILLED order without its broker order id (never invented)."""


class MissingPrice(InvalidOrderInput):
    """A migrated FILLED order without its fill price (never invented as 0)."""


__all__ = [
    "AlreadyCompleted",
    "AlreadyPlaced",
    "AlreadySubmitted",
    "InvalidBrokerOrderId",
    "InvalidFailureReason",
    "InvalidFill",
    "InvalidOrderInput",
    "InvalidPrice",
    "InvalidShares",
    "InvalidSymbol",
    "InvalidTimestamp",
    "MissingBrokerOrderId",
    "MissingPrice",
    "NotPlaced",
    "NotSubmitted",
    "OffchainOrderError",
]
