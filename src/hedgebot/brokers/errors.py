"""hedgebot's own broker errors (SPEC §8).

Adapters translate every library or HTTP failure into one of these at the boundary,
so callers (the order manager, the CLI) never see ``httpx`` exceptions and can act
on the kind of failure alone:

* `BrokerUnavailable` (and its `RateLimited` subclass) is transient: retry later
  with backoff; nothing is known to have changed at the broker.
* `OrderRejected` is permanent for that order: do not retry it, mark it failed.
* `MarketClosed` is neither: the order was not sent; place it again after
  ``next_open``.
* `AuthExpired` needs an operator: its message says what to run.

Messages never contain a token, a key or a request's headers.
"""

from __future__ import annotations

from datetime import datetime


class BrokerError(Exception):
    """Base of every broker failure."""


class BrokerUnavailable(BrokerError):
    """Transient: timeout, connection failure, 5xx. Safe to retry with backoff."""


class RateLimited(BrokerUnavailable):
    """HTTP 429. ``retry_after`` (seconds) is the broker's own hint, when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OrderRejected(BrokerError):
    """The broker (or the adapter, for an order it cannot express) refused the order."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MarketClosed(BrokerError):
    """The market is closed: the order was not sent. ``next_open`` is when to try again."""

    def __init__(self, message: str, next_open: datetime | None) -> None:
        super().__init__(message)
        self.next_open = next_open


class AuthExpired(BrokerError):
    """Credentials no longer work; ``instructions`` tell the operator what to do."""

    def __init__(self, message: str, instructions: str) -> None:
        super().__init__(f"{message}. {instructions}")
        self.instructions = instructions


class OrderNotFound(BrokerError):
    """The broker does not know the order id."""


class CannotCancel(BrokerError):
    """The order is already final (filled, cancelled, rejected) and cannot be cancelled."""


class BrokerProtocolError(BrokerError):
    """The broker answered something the adapter does not understand.

    Not retried automatically and never turned into a failed order: an order whose
    status we cannot read is left as it is, to be polled again, rather than risk a
    second hedge for an order that may have filled.
    """


def is_transient(error: BaseException) -> bool:
    """True for broker errors that a retry may cure."""
    return isinstance(error, BrokerUnavailable)
