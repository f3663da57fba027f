"""``hedgebot demo``: the whole bot on a local chain, with no configuration and no network.

anvil runs the mock Raindex V5 orderbook, USDC, several tokenized stocks and a mock
Pyth; seeded takers fill the desk's orders; the real `hedgebot run` services
(chain follower, enricher, TradeManager, OrderManager, position checker) hedge on the
paper broker into a SQLite store in a temporary folder. A live table shows positions,
hedges and recent fills; the run ends after ``--fills`` fills (or Ctrl-C) with a
summary and the FIFO PnL per symbol.
"""

from hedgebot.demo.runner import run_demo

__all__ = ["run_demo"]
