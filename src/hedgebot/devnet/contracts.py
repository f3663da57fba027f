"""The compiled test contracts (package data) and calls to them, ABI-encoded.

Calls are encoded from the *compiled* artifacts' ABI, not from hedgebot's own type
strings in `hedgebot.chain.abi`, so a layout mistake there cannot be mirrored here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.abi import collapse_if_tuple
from eth_utils.crypto import keccak

from hedgebot.devnet.anvil import Anvil

Artifacts = dict[str, Any]

ARTIFACTS_RESOURCE = "artifacts.json"


def artifacts_path() -> Path:
    """Where the package's compiled artifacts live (the file the build writes)."""
    return Path(str(resources.files("hedgebot.devnet").joinpath(ARTIFACTS_RESOURCE)))


def load_artifacts(path: Path | None = None) -> Artifacts:
    """``{ContractName: {abi, bytecode}, "compiler": version}`` from ``path`` or the package."""
    if path is None:
        text = resources.files("hedgebot.devnet").joinpath(ARTIFACTS_RESOURCE).read_text()
    else:
        text = path.read_text()
    data: Artifacts = json.loads(text)
    return data


def abi_types(inputs: Sequence[dict[str, Any]]) -> list[str]:
    """Canonical ABI type strings of a function's or event's inputs (tuples expanded)."""
    return [collapse_if_tuple(dict(item)) for item in inputs]


@dataclass
class Contract:
    node: Anvil
    name: str
    address: str
    abi: list[dict[str, Any]]

    def calldata(self, function: str, *args: Any) -> bytes:
        entry = next(e for e in self.abi if e.get("type") == "function" and e["name"] == function)
        types = abi_types(entry["inputs"])
        selector = keccak(text=f"{function}({','.join(types)})")[:4]
        return selector + encode(types, list(args))

    def transact(self, function: str, *args: Any, sender: str | None = None) -> str:
        return self.node.send(self.address, self.calldata(function, *args), sender)

    def call(self, function: str, *args: Any) -> bytes:
        data = "0x" + self.calldata(function, *args).hex()
        result = self.node.rpc("eth_call", {"to": self.address, "data": data}, "latest")
        return bytes.fromhex(result[2:])

    def event_topics(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for entry in self.abi:
            if entry.get("type") == "event":
                signature = f"{entry['name']}({','.join(abi_types(entry['inputs']))})"
                out[entry["name"]] = "0x" + keccak(text=signature).hex()
        return out


def deploy(node: Anvil, artifacts: Artifacts, name: str, *args: Any) -> Contract:
    """Deploy ``name`` with constructor ``args`` and wait until it is mined."""
    artifact = artifacts[name]
    constructor = next((e for e in artifact["abi"] if e.get("type") == "constructor"), None)
    data = bytes.fromhex(artifact["bytecode"][2:])
    if constructor is not None:
        data += encode(abi_types(constructor["inputs"]), list(args))
    receipt = node.receipt(node.send(None, data))
    return Contract(node, name, str(receipt["contractAddress"]).lower(), artifact["abi"])
