"""One anvil process (the local EVM node from the project's npm install), over JSON-RPC.

anvil comes from ``node_tools/node_modules/.bin/anvil`` (``make`` installs it); it is
found through ``HEDGEBOT_ANVIL`` or by walking up from this package to the checkout.
Transactions are sent from anvil's unlocked, funded accounts with
``eth_sendTransaction``, so no key ever appears here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

ANVIL_ENV = "HEDGEBOT_ANVIL"
NODE_TOOLS_BIN = Path("node_tools") / "node_modules" / ".bin" / "anvil"
#: generous: anvil executes most test transactions in well under a million gas
TX_GAS = 29_000_000


class AnvilNotFound(RuntimeError):
    """No anvil binary: the message says where it was looked for and how to install it."""


class RpcFailure(RuntimeError):
    """The node answered a request with a JSON-RPC error, or a transaction reverted."""


def find_anvil(environ: Mapping[str, str] | None = None, start: Path | None = None) -> Path:
    """``$HEDGEBOT_ANVIL``, else ``node_tools/node_modules/.bin/anvil`` in a parent folder."""
    env = os.environ if environ is None else environ
    configured = env.get(ANVIL_ENV)
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise AnvilNotFound(
                f"{ANVIL_ENV}={configured} is not an executable file (unset it to use the "
                "anvil that `make demo` installs in node_tools)"
            )
        return path
    here = (start or Path(__file__)).resolve()
    for folder in here.parents:
        candidate = folder / NODE_TOOLS_BIN
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise AnvilNotFound(
        f"anvil (the local EVM node) was not found: looked for {NODE_TOOLS_BIN} above {here} "
        f"and in ${ANVIL_ENV}. Run `make demo` (or `make node`) in the hedgebot checkout to "
        f"install it, or set {ANVIL_ENV} to an anvil binary."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    """One anvil process on 127.0.0.1 with an ephemeral port (10 funded accounts)."""

    def __init__(
        self,
        *,
        block_time: int | None = None,
        binary: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        executable = binary or find_anvil()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(executable), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        if block_time is not None:
            args += ["--block-time", str(block_time)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.client = httpx.Client(timeout=30.0)
        try:
            self._wait_ready(startup_timeout)
            self.accounts: list[str] = [a.lower() for a in self.rpc("eth_accounts")]
        except BaseException:
            self.stop()
            raise

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
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

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
        """Send a transaction from an unlocked account (default: the first); its hash."""
        tx: dict[str, Any] = {
            "from": sender or self.accounts[0],
            "data": "0x" + data.hex(),
            "gas": hex(TX_GAS),
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
