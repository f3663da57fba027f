"""Prometheus metrics of one bot process (served at ``GET /metrics``).

One `Metrics` object per process, with its own registry (so tests and the demo never
share global state). Managers and the chain follower update it; the API renders it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.fills_ingested = Counter(
            "hedgebot_fills_ingested",
            "Owner fills recorded from the chain",
            registry=self.registry,
        )
        self.fills_skipped = Counter(
            "hedgebot_chain_logs_skipped",
            "Orderbook logs skipped (foreign owner, malformed, not a USDC/stock pair)",
            ["reason"],
            registry=self.registry,
        )
        self.hedges = Counter(
            "hedgebot_hedges",
            "Hedge orders by outcome (placed, submitted, filled, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.hedge_latency = Histogram(
            "hedgebot_hedge_latency_seconds",
            "Time from a hedge's placement decision to its broker fill",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
            registry=self.registry,
        )
        self.unhedged_exposure = Gauge(
            "hedgebot_unhedged_exposure_shares",
            "Net position per symbol not yet hedged",
            ["symbol"],
            registry=self.registry,
        )
        self.chain_lag_blocks = Gauge(
            "hedgebot_chain_lag_blocks",
            "Blocks between the chain head and the last ingested block",
            registry=self.registry,
        )
        self.broker_errors = Counter(
            "hedgebot_broker_errors",
            "Broker call failures by kind",
            ["kind"],
            registry=self.registry,
        )
        self.hedging_suspended = Gauge(
            "hedgebot_hedging_suspended",
            "1 when automatic hedging of a symbol is suspended after repeated failures",
            ["symbol"],
            registry=self.registry,
        )
        self.manager_errors = Counter(
            "hedgebot_manager_errors",
            "Unexpected errors in a manager step",
            ["manager"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
