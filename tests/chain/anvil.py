"""A real local node for tests: anvil from node_tools, driven over JSON-RPC.

The implementation lives in `hedgebot.devnet` (the demo uses it at run time); this
module keeps the names the chain tests import.
"""

from __future__ import annotations

from hedgebot.devnet.anvil import Anvil, RpcFailure, free_port
from hedgebot.devnet.contracts import Contract, deploy
from hedgebot.devnet.contracts import abi_types as _types

__all__ = ["Anvil", "Contract", "RpcFailure", "_types", "deploy", "free_port"]
