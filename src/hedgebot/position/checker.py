"""Position checker: re-issues hedges the fill-time decision could not make (SPEC §6).

Every interval (60 s by default) it looks for positions with nothing pending whose
net meets the threshold — after a failed hedge, after fills that arrived while the
market was closed, after a threshold change — and sends `PlaceOffChainOrder`. The
aggregate re-checks everything in `decide`, so a stale read only produces a typed
rejection that is ignored. Positions whose hedging is suspended after repeated
failures are reported as an alert (log + metric) until an operator acts.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from hedgebot.eventstore import CommandHandler, EventStore
from hedgebot.metrics import Metrics
from hedgebot.position.commands import PlaceOffChainOrder, PositionCommand
from hedgebot.position.errors import HedgingSuspended, PendingExecution, ThresholdNotMet
from hedgebot.position.state import PositionState
from hedgebot.position.trade_manager import HedgePolicy
from hedgebot.position.view import all_positions, positions_ready_to_hedge

log = structlog.get_logger(__name__)


class PositionChecker:
    def __init__(
        self,
        store: EventStore,
        positions: CommandHandler[PositionState, PositionCommand],
        policy: HedgePolicy,
        *,
        hedging_allowed: Callable[[], bool] = lambda: True,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.positions = positions
        self.policy = policy
        self.hedging_allowed = hedging_allowed
        self.metrics = metrics

    def check(self) -> list[str]:
        """One sweep; returns the symbols for which a hedge was placed."""
        self._report()
        if not self.hedging_allowed():
            return []
        placed: list[str] = []
        command = PlaceOffChainOrder(
            broker=self.policy.broker, fractional_decimals=self.policy.fractional_decimals
        )
        for position in positions_ready_to_hedge(self.store, self.policy.fractional_decimals):
            assert position.symbol is not None
            try:
                result = self.positions.execute(position.symbol, command)
            except (PendingExecution, ThresholdNotMet, HedgingSuspended) as exc:
                log.info("position_check_skipped", symbol=position.symbol, reason=str(exc))
                continue
            if result.events:
                placed.append(position.symbol)
                log.info("position_check_placed_hedge", symbol=position.symbol)
        return placed

    def _report(self) -> None:
        for position in all_positions(self.store):
            symbol = str(position.symbol)
            if self.metrics is not None:
                self.metrics.unhedged_exposure.labels(symbol).set(float(position.net))
                self.metrics.hedging_suspended.labels(symbol).set(
                    1 if position.hedging_suspended else 0
                )
            if position.hedging_suspended:
                log.error(
                    "hedging_suspended_alert",
                    symbol=symbol,
                    consecutive_failures=position.consecutive_failures,
                    last_error=position.last_error,
                    action="run `hedgebot threshold set` or resume hedging after checking",
                )
