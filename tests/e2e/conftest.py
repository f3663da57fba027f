"""The local chain of the end-to-end tests: one anvil per session, a fresh market per test.

Like the chain tests, these skip only when node_tools is not installed (`make` installs
it, and CI runs `make test`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hedgebot.devnet.anvil import Anvil, AnvilNotFound, find_anvil
from hedgebot.devnet.market import StockMarket, deploy_market


@pytest.fixture(scope="session")
def e2e_anvil() -> Iterator[Anvil]:
    try:
        binary = find_anvil()
    except AnvilNotFound as exc:
        pytest.skip(str(exc))
    node = Anvil(binary=binary)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def market(e2e_anvil: Anvil) -> StockMarket:
    """USDC, the demo's four stocks, Pyth and a V5 orderbook, deployed afresh."""
    e2e_anvil.set_automine(True)
    return deploy_market(e2e_anvil)
