"""A real local node for tests: anvil from node_tools, driven over JSON-RPC.

Calls to the test contracts are ABI-encoded from the *compiled* artifacts' ABI (not from
hedgebot's own type strings), so a layout mistake in `hedgebot.chain.abi` cannot be
mirrored by the test's encoder.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from eth_abi.abi import encode
from eth_utils.abi import collapse_if_tuple
from eth_utils.crypto import keccak

from tests.contracts.build import ANVIL, Artifacts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RpcFailure(RuntimeError):
    pass


class Anvil:
    """One anvil process on 127.0.0.1 with an ephemeral port."""

    def __init__(self, *, block_time: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(ANVIL), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        if block_time is not None:
            args += ["--block-time", str(block_time)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.client = httpx.Client(timeout=30.0)
        self._wait_ready(timeout=30.0)
        self.accounts: list[str] = [a.lower() for a in self.rpc("eth_accounts")]

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"anvil exited with {self.process.returncode}: {stderr}")
            try:
                self.rpc("eth_chainId")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"anvil did not answer on {self.url}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # -- JSON-RPC --------------------------------------------------------------------------

    def rpc(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = self.client.post(self.url, json=body).json()
        if "error" in answer:
            raise RpcFailure(f"{method}: {answer['error']}")
        return answer["result"]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", snapshot_id):
            raise RpcFailure(f"evm_revert({snapshot_id}) failed")

    def set_automine(self, enabled: bool) -> None:
        self.rpc("evm_setAutomine", enabled)

    def send(self, to: str | None, data: bytes, sender: str | None = None) -> str:
        tx: dict[str, Any] = {
            "from": sender or self.accounts[0],
            "data": "0x" + data.hex(),
            "gas": hex(29_000_000),
        }
        if to is not None:
            tx["to"] = to
        return str(self.rpc("eth_sendTransaction", tx))

    def receipt(self, tx_hash: str, timeout: float = 30.0) -> dict[str, Any]:
        """The receipt once the transaction is mined (anvil mines asynchronously)."""
        deadline = time.monotonic() + timeout
        while (receipt := self.rpc("eth_getTransactionReceipt", tx_hash)) is None:
            if time.monotonic() > deadline:
                raise RpcFailure(f"no receipt for {tx_hash} after {timeout}s (not mined?)")
            time.sleep(0.01)
        if receipt.get("status") != "0x1":
            raise RpcFailure(f"transaction {tx_hash} reverted")
        return dict(receipt)


# -- contracts ---------------------------------------------------------------------------------


def _types(inputs: Sequence[dict[str, Any]]) -> list[str]:
    return [collapse_if_tuple(dict(item)) for item in inputs]


@dataclass
class Contract:
    node: Anvil
    name: str
    address: str
    abi: list[dict[str, Any]]

    def calldata(self, function: str, *args: Any) -> bytes:
        entry = next(e for e in self.abi if e.get("type") == "function" and e["name"] == function)
        types = _types(entry["inputs"])
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
                signature = f"{entry['name']}({','.join(_types(entry['inputs']))})"
                out[entry["name"]] = "0x" + keccak(text=signature).hex()
        return out


def deploy(node: Anvil, artifacts: Artifacts, name: str, *args: Any) -> Contract:
    artifact = artifacts[name]
    constructor = next((e for e in artifact["abi"] if e.get("type") == "constructor"), None)
    data = bytes.fromhex(artifact["bytecode"][2:])
    if constructor is not None:
        data += encode(_types(constructor["inputs"]), list(args))
    receipt = node.receipt(node.send(None, data))
    return Contract(node, name, str(receipt["contractAddress"]).lower(), artifact["abi"])
