"""The test contracts deployed on anvil, and helpers to emit real fills through them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.chain.floats import encode_decimal
from hedgebot.chain.pyth import DEFAULT_FEED_IDS
from tests.chain.anvil import Anvil, Contract, deploy
from tests.contracts.build import Artifacts

AAPL_FEED = DEFAULT_FEED_IDS["AAPL"]
TSLA_FEED = DEFAULT_FEED_IDS["TSLA"]
USDC_FEED = bytes.fromhex("eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a")
PUBLISH_TIME = 1_733_400_000


@dataclass
class Deployment:
    node: Anvil
    usdc: Contract
    aapl: Contract  # "AAPL0x", 18 decimals
    tsla: Contract  # "tTSLA", 18 decimals
    weth: Contract  # "WETH": not a stock
    pyth: Contract
    orderbook_v4: Contract
    orderbook_v5: Contract
    deployment_block: int

    @property
    def owner(self) -> str:
        return self.node.accounts[1]

    @property
    def stranger(self) -> str:
        return self.node.accounts[2]

    def orderbook(self, version: OrderbookVersion) -> Contract:
        return self.orderbook_v5 if version is OrderbookVersion.V5 else self.orderbook_v4

    # -- orders ------------------------------------------------------------------------------

    def order(
        self,
        version: OrderbookVersion,
        owner: str,
        stock: Contract | None = None,
    ) -> tuple[Any, ...]:
        """An order trading ``stock`` (default AAPL0x) against USDC: IO 0 = USDC, 1 = stock."""
        stock = stock or self.aapl
        if version is OrderbookVersion.V5:
            ios: list[Any] = [
                (self.usdc.address, (1).to_bytes(32, "big")),
                (stock.address, (2).to_bytes(32, "big")),
            ]
        else:
            ios = [(self.usdc.address, 6, 1), (stock.address, 18, 2)]
        evaluable = (self.node.accounts[5], self.node.accounts[6], b"\x01\x02")
        return (owner, evaluable, ios, ios, b"\x07" * 32)

    # -- fills --------------------------------------------------------------------------------

    def take_orders(
        self,
        version: OrderbookVersion,
        order: tuple[Any, ...],
        input_index: int,
        output_index: int,
        amounts: Sequence[tuple[Decimal, Decimal]],
        *,
        feeds: Sequence[bytes] = (AAPL_FEED,),
    ) -> str:
        """One transaction with a take-order per ``(taker_input, taker_output)`` pair, in
        token units (scaled by 10^decimals on V4, Floats on V5). Returns the tx hash."""
        order_decimals = (6, 18)
        if version is OrderbookVersion.V5:
            inputs: list[Any] = [encode_decimal(a) for a, _ in amounts]
            outputs: list[Any] = [encode_decimal(b) for _, b in amounts]
        else:
            # The taker receives the order's output token and gives its input token.
            out_dec, in_dec = order_decimals[output_index], order_decimals[input_index]
            inputs = [_units(a, out_dec) for a, _ in amounts]
            outputs = [_units(b, in_dec) for _, b in amounts]
        signed: list[Any] = [(self.node.accounts[3], [b"\x05" * 32], b"\xaa" * 65)]
        config = (order, input_index, output_index, signed)
        return self.orderbook(version).transact(
            "takeOrders", config, inputs, outputs, self.pyth.address, list(feeds)
        )

    def clear(
        self,
        version: OrderbookVersion,
        alice: tuple[Any, ...],
        bob: tuple[Any, ...],
        indexes: tuple[int, int, int, int],
        change: tuple[Decimal, Decimal, Decimal, Decimal],
        *,
        change_decimals: tuple[int, int, int, int] = (18, 6, 6, 18),
        feeds: Sequence[bytes] = (AAPL_FEED,),
    ) -> str:
        """A clear; ``change`` = (aliceOutput, bobOutput, aliceInput, bobInput)."""
        if version is OrderbookVersion.V5:
            config: tuple[Any, ...] = (*indexes, b"\x0b" * 32, b"\x0c" * 32)
            state: tuple[Any, ...] = tuple(encode_decimal(v) for v in change)
        else:
            config = (*indexes, 11, 12)
            state = tuple(_units(v, d) for v, d in zip(change, change_decimals, strict=True))
        return self.orderbook(version).transact(
            "clear", alice, bob, config, state, self.pyth.address, list(feeds)
        )


def _units(amount: Decimal, decimals: int) -> int:
    value = amount.scaleb(decimals)
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimals")
    return int(value)


def deploy_all(node: Anvil, artifacts: Artifacts) -> Deployment:
    start = node.block_number() + 1
    usdc = deploy(node, artifacts, "MockERC20", "USD Coin", "USDC", 6)
    aapl = deploy(node, artifacts, "MockERC20", "Apple xStock", "AAPL0x", 18)
    tsla = deploy(node, artifacts, "MockERC20", "Tokenized Tesla", "tTSLA", 18)
    weth = deploy(node, artifacts, "MockERC20", "Wrapped Ether", "WETH", 18)
    pyth = deploy(node, artifacts, "MockPyth")
    for feed, price, conf, expo in (
        (AAPL_FEED, 18250, 5, -2),
        (TSLA_FEED, 34512345678, 1234567, -8),
        (USDC_FEED, 99990000, 2000, -8),
    ):
        node.receipt(pyth.transact("setPrice", feed, price, conf, expo, PUBLISH_TIME))
    v4 = deploy(node, artifacts, "MockOrderBookV4")
    v5 = deploy(node, artifacts, "MockOrderBookV5")
    return Deployment(node, usdc, aapl, tsla, weth, pyth, v4, v5, start)
