"""ERC-20 ``symbol()`` per token address, cached for the life of the process.

A token's symbol does not change, so answers (including "this token has no readable
symbol": a revert, no code, undecodable bytes) are cached. A transient RPC failure is
*not* cached: it propagates, the block range is not ingested, and the next attempt asks
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from hedgebot.chain.abi import ERC20_SYMBOL_SELECTOR
from hedgebot.chain.node import ChainNode
from hedgebot.chain.rpc import RpcRequestError

log = structlog.get_logger(__name__)


def decode_symbol(output: bytes) -> str | None:
    """An ABI ``string`` return, or the ``bytes32`` some old tokens return; else None."""
    if len(output) >= 64:
        try:
            (text,) = abi_decode(["string"], output)
        except (DecodingError, ValueError, UnicodeDecodeError, OverflowError):
            pass
        else:
            return str(text)
    if len(output) == 32:
        raw = output.rstrip(b"\x00")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return text if text.isprintable() and text else None
    return None


class SymbolCache:
    def __init__(self, node: ChainNode, *, concurrency: int = 8) -> None:
        self._node = node
        self._symbols: dict[str, str | None] = {}
        self._limit = asyncio.Semaphore(concurrency)

    def known(self) -> dict[str, str | None]:
        return dict(self._symbols)

    def seed(self, token: str, symbol: str | None) -> None:
        """Pre-load an answer (the demo and tests know their tokens)."""
        self._symbols[token.lower()] = symbol

    async def resolve(self, tokens: Iterable[str]) -> dict[str, str | None]:
        """Symbols of ``tokens`` (lowercase address → symbol, None when unreadable)."""
        wanted = {token.lower() for token in tokens}
        missing = [token for token in wanted if token not in self._symbols]
        if missing:
            await asyncio.gather(*(self._fetch(token) for token in missing))
        return {token: self._symbols[token] for token in wanted}

    async def _fetch(self, token: str) -> None:
        async with self._limit:
            try:
                output = await self._node.eth_call(token, ERC20_SYMBOL_SELECTOR)
            except RpcRequestError as exc:
                log.warning("token_symbol_unreadable", token=token, error=exc.message)
                self._symbols[token] = None
                return
        symbol = decode_symbol(output)
        if symbol is None:
            log.warning("token_symbol_unreadable", token=token, output_bytes=len(output))
        self._symbols[token] = symbol
