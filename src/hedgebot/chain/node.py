"""Typed access to the few node methods the chain follower and enrichment use."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hedgebot.chain.rpc import RpcUnavailable


class RpcCaller(Protocol):
    async def call(self, method: str, params: Sequence[Any] = ()) -> Any: ...


def _quantity(value: object, what: str) -> int:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise RpcUnavailable(f"node returned a bad {what}: {value!r}")


class ChainNode:
    """``eth_*`` / ``debug_*`` calls with parsed results; block timestamps cached."""

    def __init__(self, rpc: RpcCaller, *, timestamp_cache_size: int = 4096) -> None:
        self.rpc = rpc
        self._timestamps: OrderedDict[int, int] = OrderedDict()
        self._cache_size = timestamp_cache_size

    async def block_number(self) -> int:
        return _quantity(await self.rpc.call("eth_blockNumber"), "block number")

    async def get_logs(
        self, address: str, topics: Sequence[str], from_block: int, to_block: int
    ) -> list[dict[str, Any]]:
        """Logs of ``address`` whose topic0 is any of ``topics``, in the inclusive range."""
        query = {
            "address": address,
            "topics": [list(topics)],
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
        }
        result = await self.rpc.call("eth_getLogs", [query])
        if not isinstance(result, list):
            raise RpcUnavailable(f"eth_getLogs returned {type(result).__name__}, not a list")
        return result

    async def block_timestamp(self, number: int) -> int:
        cached = self._timestamps.get(number)
        if cached is not None:
            self._timestamps.move_to_end(number)
            return cached
        block = await self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(block, Mapping):
            raise RpcUnavailable(f"block {number} is not available from the node")
        timestamp = _quantity(block.get("timestamp"), "block timestamp")
        self._timestamps[number] = timestamp
        if len(self._timestamps) > self._cache_size:
            self._timestamps.popitem(last=False)
        return timestamp

    async def receipt(self, tx_hash: str) -> Mapping[str, Any] | None:
        result = await self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        if result is not None and not isinstance(result, Mapping):
            raise RpcUnavailable("eth_getTransactionReceipt returned a non-object")
        return result

    async def call_trace(self, tx_hash: str) -> Mapping[str, Any]:
        result = await self.rpc.call("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])
        if not isinstance(result, Mapping):
            raise RpcUnavailable("debug_traceTransaction did not return a call frame")
        return result

    async def eth_call(self, to: str, data: bytes) -> bytes:
        result = await self.rpc.call("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
        if not isinstance(result, str) or not result.startswith("0x"):
            raise RpcUnavailable(f"eth_call returned {result!r}")
        try:
            return bytes.fromhex(result[2:])
        except ValueError:
            raise RpcUnavailable("eth_call returned non-hex data") from None
