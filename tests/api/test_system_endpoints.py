"""/health (liveness + readiness from the probes), /metrics (Prometheus), the dashboard page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from hedgebot.api import HealthProbes, bot_probes
from hedgebot.bootstrap import Core
from hedgebot.brokers.errors import BrokerUnavailable
from hedgebot.brokers.paper import PaperBroker
from hedgebot.brokers.protocol import MarketClock
from hedgebot.chain.service import build_chain_stack, follower_settings
from hedgebot.config import load_settings
from tests.api.conftest import TestClient

CHECKPOINT = "chain_follower:0x" + "ab" * 20


def set_checkpoint(core: Core, block: int) -> None:
    with core.store.transaction() as tx:
        tx.set_checkpoint(CHECKPOINT, block)


class Broker:
    """A broker probe that answers or fails as told and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def market_clock(self) -> MarketClock:
        self.calls += 1
        if self.fail:
            raise BrokerUnavailable("broker down: secret-ish detail")
        return MarketClock(datetime(2025, 1, 7, tzinfo=UTC), True, None, None)


def test_a_standalone_api_is_ready_and_says_what_it_cannot_check(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["live"], body["ready"]) == ("ok", True, True)
    assert body["timestamp"] == "2025-01-07T16:00:00Z"
    checks = body["checks"]
    assert checks["store"]["status"] == "ok"
    assert checks["store"]["last_position"] > 0
    assert checks["chain"]["status"] == "not_configured"
    assert checks["broker"]["status"] == "unknown"


def test_chain_lag_within_the_limit_is_ok_and_beyond_it_is_not_ready(
    make_client: Callable[..., TestClient], core: Core
) -> None:
    head = {"block": 1_005}
    probes = HealthProbes(
        chain_head=lambda: head["block"], chain_checkpoint=CHECKPOINT, max_chain_lag_blocks=10
    )
    set_checkpoint(core, 1_000)
    client = make_client(probes=probes)
    ok = client.get("/health")
    assert ok.status_code == 200
    assert ok.json()["checks"]["chain"] == {
        "status": "ok",
        "detail": None,
        "checkpoint_block": 1_000,
        "head_block": 1_005,
        "lag_blocks": 5,
        "max_lag_blocks": 10,
    }
    head["block"] = 1_050
    lagging = client.get("/health")
    assert lagging.status_code == 503
    body = lagging.json()
    assert (body["status"], body["ready"]) == ("degraded", False)
    assert body["checks"]["chain"]["status"] == "lagging"
    assert body["checks"]["chain"]["detail"] == "50 blocks behind the head"


def test_a_checkpoint_without_a_known_head_is_unknown_not_failing(
    make_client: Callable[..., TestClient], core: Core
) -> None:
    set_checkpoint(core, 77)
    client = make_client(probes=HealthProbes(chain_checkpoint=CHECKPOINT))
    response = client.get("/health")
    assert response.status_code == 200
    chain = response.json()["checks"]["chain"]
    assert (chain["status"], chain["checkpoint_block"], chain["head_block"]) == (
        "unknown",
        77,
        None,
    )


def test_an_unreachable_broker_makes_the_process_unready_and_is_asked_sparingly(
    make_client: Callable[..., TestClient],
) -> None:
    broker = Broker()
    now = {"t": 0.0}
    probes = HealthProbes(
        broker=broker.market_clock,
        broker_kind="paper",
        broker_cache_seconds=10,
        monotonic=lambda: now["t"],
    )
    client = make_client(probes=probes)
    first = client.get("/health").json()["checks"]["broker"]
    assert first == {"status": "ok", "detail": None, "kind": "paper", "market_open": True}
    broker.fail = True
    assert client.get("/health").status_code == 200  # cached answer
    assert broker.calls == 1
    now["t"] = 11.0
    failing = client.get("/health")
    assert failing.status_code == 503
    assert failing.json()["checks"]["broker"]["status"] == "failing"
    assert failing.json()["checks"]["broker"]["detail"] == "BrokerUnavailable"
    assert "secret-ish" not in failing.text
    assert broker.calls == 2


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_are_prometheus_text_with_exposure_suspension_and_chain_lag(
    make_client: Callable[..., TestClient], core: Core
) -> None:
    set_checkpoint(core, 900)
    core.metrics.hedges.labels("filled").inc(2)
    core.metrics.hedge_latency.observe(0.75)
    core.metrics.broker_errors.labels("RateLimited").inc()
    probes = HealthProbes(chain_head=lambda: 912, chain_checkpoint=CHECKPOINT)
    response = make_client(probes=probes).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = metric_samples(response.text)
    exposure = "hedgebot_unhedged_exposure_shares"
    assert samples[(exposure, (("symbol", "TSLA"),))] == -2.5
    assert samples[(exposure, (("symbol", "NVDA"),))] == 1.5
    assert samples[("hedgebot_hedging_suspended", (("symbol", "TSLA"),))] == 1
    assert samples[("hedgebot_hedging_suspended", (("symbol", "AAPL"),))] == 0
    assert samples[("hedgebot_chain_lag_blocks", ())] == 12
    assert samples[("hedgebot_hedges_total", (("outcome", "filled"),))] == 2
    assert samples[("hedgebot_broker_errors_total", (("kind", "RateLimited"),))] == 1
    assert samples[("hedgebot_hedge_latency_seconds_count", ())] == 1
    assert ("hedgebot_fills_ingested_total", ()) in samples


def test_the_dashboard_page_and_its_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/dashboard.js"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    script = client.get("/static/dashboard.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text
    assert "https://" not in script.text
    assert client.get("/static/dashboard.css").status_code == 200
    assert client.get("/static/secrets.txt").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/health",
        "/metrics",
        "/trades",
        "/trades/{tx_hash}/{log_index}",
        "/positions",
        "/positions/{symbol}",
        "/orders",
        "/orders/{execution_id}",
        "/pnl",
        "/events/stream",
        "/auth/schwab/refresh",
        "/positions/{symbol}/threshold",
    }
    assert "post" in paths["/orders"]
    assert client.get("/docs").status_code == 200


def test_the_bots_probes_read_the_followers_head_and_checkpoint(
    make_client: Callable[..., TestClient], core: Core, broker: PaperBroker
) -> None:
    settings = load_settings(
        None,
        environ={
            "HEDGEBOT_CHAIN__ORDERBOOK": "0x" + "ab" * 20,
            "HEDGEBOT_CHAIN__OWNER": "0x" + "cd" * 20,
            "HEDGEBOT_CHAIN__RPC_URL": "http://127.0.0.1:9",
        },
    )
    stack = build_chain_stack(
        follower_settings(settings.require_chain()),
        rpc_url=settings.chain.rpc_url,
        store=core.store,
        handler=core.onchain_trades,
    )
    try:
        set_checkpoint(core, 500)
        stack.follower.last_head = 503
        probes = bot_probes(settings, stack.follower, broker)
        checks = make_client(probes=probes).get("/health").json()["checks"]
    finally:
        asyncio.run(stack.aclose())
    assert (checks["chain"]["status"], checks["chain"]["lag_blocks"]) == ("ok", 3)
    assert checks["broker"] == {
        "status": "ok",
        "detail": None,
        "kind": "paper",
        "market_open": True,
    }
