"""Anvil and the compiled test contracts, shared by the chain integration tests.

The tests skip only when node_tools is not installed (`make node` installs it, and CI
runs `make test`, which does): then there is no anvil to run them against.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chain.anvil import Anvil
from tests.chain.deployment import Deployment, deploy_all
from tests.contracts.build import Artifacts, compile_contracts, node_tools_missing


@pytest.fixture(scope="session")
def compiled_contracts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """The Solidity test contracts, compiled afresh by solc (proves the sources compile)."""
    reason = node_tools_missing()
    if reason is not None:
        pytest.skip(reason)
    return compile_contracts(tmp_path_factory.mktemp("solc") / "artifacts.json")


@pytest.fixture(scope="session")
def anvil(compiled_contracts: Artifacts) -> Iterator[Anvil]:
    node = Anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def chain(anvil: Anvil, compiled_contracts: Artifacts) -> Deployment:
    """Fresh tokens, Pyth and orderbooks for each test (the node is shared)."""
    anvil.set_automine(True)
    return deploy_all(anvil, compiled_contracts)
