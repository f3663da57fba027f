"""A small tokenized-stock market on anvil: USDC, several stocks, Pyth and a V5 orderbook,
with one order per stock owned by the desk, and takers that fill those orders.

Used by ``hedgebot demo`` and the end-to-end tests. Every fill is a real
``TakeOrderV3`` log of the mock orderbook, so the bot reads it through its real chain
follower exactly as it would read Base.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.chain.pyth import DEFAULT_FEED_IDS
from hedgebot.devnet.anvil import Anvil
from hedgebot.devnet.contracts import Artifacts, Contract, deploy, load_artifacts
from hedgebot.devnet.deployment import (
    STOCK_INDEX,
    USDC_INDEX,
    order_struct,
    set_pyth_price,
    take_orders,
)
from hedgebot.domain import Direction, base_symbol

V5 = OrderbookVersion.V5
CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")


@dataclass(frozen=True)
class Stock:
    """A tokenized stock as it appears onchain (``symbol()``) and its starting price."""

    symbol: str
    name: str
    reference_price: Decimal

    @property
    def base(self) -> str:
        return base_symbol(self.symbol)


DEMO_STOCKS: tuple[Stock, ...] = (
    Stock("tAAPL", "Tokenized Apple", Decimal("227.50")),
    Stock("TSLA0x", "Tesla xStock", Decimal("345.10")),
    Stock("tNVDA", "Tokenized NVIDIA", Decimal("138.25")),
    Stock("MSFTs1", "Microsoft s1", Decimal("415.80")),
)


@dataclass(frozen=True)
class Fill:
    """One taker fill of a desk order, from the desk's side (BUY = the desk bought)."""

    symbol: str
    direction: Direction
    shares: Decimal
    price: Decimal

    @property
    def usdc(self) -> Decimal:
        return self.shares * self.price

    @property
    def signed_shares(self) -> Decimal:
        return self.direction.sign * self.shares


@dataclass
class StockMarket:
    node: Anvil
    usdc: Contract
    stocks: dict[str, Contract]
    pyth: Contract
    orderbook: Contract
    deployment_block: int
    orders: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        """The desk: the owner of the orders the takers fill."""
        return self.node.accounts[1]

    @property
    def taker(self) -> str:
        return self.node.accounts[4]

    def emit(self, fills: Sequence[Fill]) -> str:
        """One transaction taking the desk's order once per fill; its hash.

        The fills of one transaction share a symbol and a direction (one order config).
        """
        if not fills:
            raise ValueError("emit needs at least one fill")
        first = fills[0]
        if any((f.symbol, f.direction) != (first.symbol, first.direction) for f in fills):
            raise ValueError("the fills of one transaction must share symbol and direction")
        order = self.orders[first.symbol]
        if first.direction is Direction.SELL:
            # the desk's order gives the stock (output) for USDC (input)
            indexes = (USDC_INDEX, STOCK_INDEX)
            amounts = [(f.shares, f.usdc) for f in fills]
        else:
            indexes = (STOCK_INDEX, USDC_INDEX)
            amounts = [(f.usdc, f.shares) for f in fills]
        feed = DEFAULT_FEED_IDS.get(base_symbol(first.symbol))
        return take_orders(
            self.orderbook,
            V5,
            order,
            *indexes,
            amounts,
            pyth=self.pyth,
            feeds=() if feed is None else (feed,),
            signer=self.node.accounts[3],
            sender=self.taker,
        )

    def trade_ids(self, tx_hash: str) -> list[str]:
        """``tx_hash:log_index`` of every orderbook log of the mined transaction."""
        receipt = self.node.receipt(tx_hash)
        return [
            f"{tx_hash}:{int(entry['logIndex'], 16)}"
            for entry in receipt["logs"]
            if str(entry["address"]).lower() == self.orderbook.address
        ]


def deploy_market(
    node: Anvil,
    stocks: Sequence[Stock] = DEMO_STOCKS,
    artifacts: Artifacts | None = None,
) -> StockMarket:
    """Deploy USDC, the stocks, Pyth (priced at the reference prices) and a V5 orderbook,
    and lay out one desk order per stock."""
    artifacts = artifacts or load_artifacts()
    start = node.block_number() + 1
    usdc = deploy(node, artifacts, "MockERC20", "USD Coin", "USDC", 6)
    tokens = {s.symbol: deploy(node, artifacts, "MockERC20", s.name, s.symbol, 18) for s in stocks}
    pyth = deploy(node, artifacts, "MockPyth")
    latest = node.rpc("eth_getBlockByNumber", "latest", False)
    publish_time = int(latest["timestamp"], 16)
    last = ""
    for stock in stocks:
        feed = DEFAULT_FEED_IDS.get(stock.base)
        if feed is not None:
            price = int(stock.reference_price / CENT)
            last = set_pyth_price(pyth, feed, price, 5, -2, publish_time)
    if last:
        node.receipt(last)
    orderbook = deploy(node, artifacts, "MockOrderBookV5")
    market = StockMarket(node, usdc, tokens, pyth, orderbook, start)
    for index, stock in enumerate(stocks):
        nonce = (index + 1).to_bytes(32, "big")
        market.orders[stock.symbol] = order_struct(
            V5, node, market.owner, usdc, tokens[stock.symbol], nonce
        )
    return market


class Takers:
    """Seeded takers: fills of random stocks, both directions, priced around a drifting
    reference price (a random walk of a few basis points per fill)."""

    def __init__(
        self,
        stocks: Sequence[Stock] = DEMO_STOCKS,
        *,
        seed: int = 7,
        spread_bps: int = 40,
        drift_bps: int = 15,
        max_shares: Decimal = Decimal("2.50"),
    ) -> None:
        self.stocks = list(stocks)
        self.random = random.Random(seed)
        self.spread_bps = spread_bps
        self.drift_bps = drift_bps
        self.max_cents = int(max_shares / CENT)
        self.prices = {s.symbol: s.reference_price for s in stocks}

    def next_fill(self) -> Fill:
        rng = self.random
        stock = rng.choice(self.stocks)
        reference = self.prices[stock.symbol]
        reference = _cents(
            reference * (1 + rng.randint(-self.drift_bps, self.drift_bps) * BASIS_POINT)
        )
        self.prices[stock.symbol] = reference
        price = _cents(
            reference * (1 + rng.randint(-self.spread_bps, self.spread_bps) * BASIS_POINT)
        )
        shares = Decimal(rng.randint(1, self.max_cents)) * CENT
        direction = rng.choice((Direction.BUY, Direction.SELL))
        return Fill(stock.symbol, direction, shares, price)

    def fills(self, count: int) -> Iterator[Fill]:
        for _ in range(count):
            yield self.next_fill()


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
