"""The test contracts deployed on anvil, and real fills emitted through them.

`Deployment` is what the chain integration tests use: USDC, two tokenized stocks, a
token that is not a stock, Pyth, and a V4 and a V5 orderbook. `take_orders` and
`clear` emit the fills of any order, amounts given in token units from the taker's
side (Floats on V5, integers scaled by the IO's decimals on V4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.chain.floats import encode_decimal
from hedgebot.chain.pyth import DEFAULT_FEED_IDS
from hedgebot.devnet.anvil import Anvil
from hedgebot.devnet.contracts import Artifacts, Contract, deploy

AAPL_FEED = DEFAULT_FEED_IDS["AAPL"]
TSLA_FEED = DEFAULT_FEED_IDS["TSLA"]
USDC_FEED = bytes.fromhex("eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a")
PUBLISH_TIME = 1_733_400_000

#: the decimals of an order's IOs as `v5_order` / `v4_order` lay them out: USDC, stock
ORDER_DECIMALS = (6, 18)
USDC_INDEX = 0
STOCK_INDEX = 1


def order_struct(
    version: OrderbookVersion,
    node: Anvil,
    owner: str,
    usdc: Contract,
    stock: Contract,
    nonce: bytes = b"\x07" * 32,
) -> tuple[Any, ...]:
    """An order trading ``stock`` against USDC: IO 0 = USDC, IO 1 = the stock."""
    if version is OrderbookVersion.V5:
        ios: list[Any] = [
            (usdc.address, (1).to_bytes(32, "big")),
            (stock.address, (2).to_bytes(32, "big")),
        ]
    else:
        ios = [(usdc.address, ORDER_DECIMALS[0], 1), (stock.address, ORDER_DECIMALS[1], 2)]
    evaluable = (node.accounts[5], node.accounts[6], b"\x01\x02")
    return (owner, evaluable, ios, ios, nonce)


def take_orders(
    orderbook: Contract,
    version: OrderbookVersion,
    order: tuple[Any, ...],
    input_index: int,
    output_index: int,
    amounts: Sequence[tuple[Decimal, Decimal]],
    *,
    pyth: Contract,
    feeds: Sequence[bytes],
    signer: str,
    sender: str | None = None,
) -> str:
    """One transaction with a take-order per ``(taker_input, taker_output)`` pair.

    The taker receives the order's output token (``taker_input``) and gives its input
    token (``taker_output``). The orderbook reads ``feeds`` from ``pyth`` first, as a
    real order's expression would. Returns the transaction hash (not waited for).
    """
    if version is OrderbookVersion.V5:
        inputs: list[Any] = [encode_decimal(a) for a, _ in amounts]
        outputs: list[Any] = [encode_decimal(b) for _, b in amounts]
    else:
        out_dec, in_dec = ORDER_DECIMALS[output_index], ORDER_DECIMALS[input_index]
        inputs = [units(a, out_dec) for a, _ in amounts]
        outputs = [units(b, in_dec) for _, b in amounts]
    signed: list[Any] = [(signer, [b"\x05" * 32], b"\xaa" * 65)]
    config = (order, input_index, output_index, signed)
    return orderbook.transact(
        "takeOrders", config, inputs, outputs, pyth.address, list(feeds), sender=sender
    )


def units(amount: Decimal, decimals: int) -> int:
    """A token amount as the integer of its smallest unit; refuses to round."""
    value = amount.scaleb(decimals)
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimals")
    return int(value)


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

    def order(
        self,
        version: OrderbookVersion,
        owner: str,
        stock: Contract | None = None,
    ) -> tuple[Any, ...]:
        """An order trading ``stock`` (default AAPL0x) against USDC: IO 0 = USDC, 1 = stock."""
        return order_struct(version, self.node, owner, self.usdc, stock or self.aapl)

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
        """See `take_orders`; the taker's signed context is signed by account 3."""
        return take_orders(
            self.orderbook(version),
            version,
            order,
            input_index,
            output_index,
            amounts,
            pyth=self.pyth,
            feeds=feeds,
            signer=self.node.accounts[3],
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
            state = tuple(units(v, d) for v, d in zip(change, change_decimals, strict=True))
        return self.orderbook(version).transact(
            "clear", alice, bob, config, state, self.pyth.address, list(feeds)
        )


def set_pyth_price(
    pyth: Contract, feed: bytes, price: int, conf: int, expo: int, publish_time: int
) -> str:
    return pyth.transact("setPrice", feed, price, conf, expo, publish_time)


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
        node.receipt(set_pyth_price(pyth, feed, price, conf, expo, PUBLISH_TIME))
    v4 = deploy(node, artifacts, "MockOrderBookV4")
    v5 = deploy(node, artifacts, "MockOrderBookV5")
    return Deployment(node, usdc, aapl, tsla, weth, pyth, v4, v5, start)
