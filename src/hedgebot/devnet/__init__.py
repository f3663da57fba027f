"""A local chain for the demo and the tests: anvil, the test contracts, simulated fills.

Nothing here is used by `hedgebot run` against a real chain. The contracts are mock
Raindex orderbooks (the real IOrderBookV4/V5 event layouts), ERC-20 tokens with
``symbol()`` and a mock Pyth oracle, compiled by solc from
``tests/contracts/MockOrderBook.sol`` into the package's ``artifacts.json`` (the one
compiled copy; ``python -m tests.contracts.build`` regenerates it and a test proves it
is current).
"""

from hedgebot.devnet.anvil import Anvil, AnvilNotFound, RpcFailure, find_anvil, free_port
from hedgebot.devnet.contracts import Artifacts, Contract, abi_types, deploy, load_artifacts

__all__ = [
    "Anvil",
    "AnvilNotFound",
    "Artifacts",
    "Contract",
    "RpcFailure",
    "abi_types",
    "deploy",
    "find_anvil",
    "free_port",
    "load_artifacts",
]
