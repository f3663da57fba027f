"""Runs the demo: anvil + contracts, seeded takers, the real bot services, the display.

The bot is `hedgebot.conductor.run_bot` itself, given settings built here (a SQLite
store in a temporary folder, the local chain, confirmations 0, short intervals) and a
paper broker that fills at the symbol's last onchain price. The only twist is
`RejectFirstOrder`: TSLA's first hedge is rejected once, so the summary shows a
failed hedge that was placed again and filled.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from rich.console import Console
from rich.live import Live

from hedgebot.bootstrap import build_core, last_price_source
from hedgebot.brokers.paper import PaperBroker
from hedgebot.conductor import Stop, run_bot
from hedgebot.config import Settings
from hedgebot.demo.broker import RejectFirstOrder
from hedgebot.demo.display import live_view, print_summary, progress_line
from hedgebot.demo.progress import Progress, Queryable, read_progress
from hedgebot.devnet.anvil import Anvil, find_anvil
from hedgebot.devnet.market import DEMO_STOCKS, StockMarket, Takers, deploy_market
from hedgebot.logs import configure_logging
from hedgebot.metrics_pnl.queries import pnl_summary

DEMO_SEED = 7
REJECTED_SYMBOL = "TSLA"
#: seconds between two simulated fills (so the live view has something to show)
DEFAULT_PACE = 0.03
#: how long the bot may take to hedge everything after the last fill
SETTLE_TIMEOUT = 60.0
REFRESH_SECONDS = 0.25
PLAIN_EVERY_SECONDS = 1.0


class DemoDidNotSettle(RuntimeError):
    pass


def demo_settings(database: Path, market: StockMarket) -> Settings:
    """The whole configuration of the demo, in code (nothing read from files or env)."""
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite://{database}", "sqlite_synchronous": "NORMAL"},
            "chain": {
                "rpc_url": market.node.url,
                "orderbook": market.orderbook.address,
                "orderbook_version": "v5",
                "owner": market.owner,
                "deployment_block": market.deployment_block,
                "confirmations": 0,
                "poll_interval_seconds": 0.1,
                "pyth_address": market.pyth.address,
            },
            "broker": {
                "kind": "paper",
                "order_poll_interval_seconds": 0.1,
                "paper": {"market_hours": "always"},
            },
            "managers": {
                "position_check_interval_seconds": 0.5,
                "shutdown_grace_seconds": 5.0,
            },
            "api": {"enabled": False},
        }
    )


@dataclass
class Emission:
    """The takers' progress, shared with the display (written by one thread only)."""

    emitted: int = 0
    finished: bool = False


def emit_fills(
    market: StockMarket,
    takers: Takers,
    count: int,
    pace: float,
    cancel: threading.Event,
    emission: Emission,
) -> None:
    """Send ``count`` fills (one transaction each), ``pace`` seconds apart, until cancelled."""
    last = None
    for fill in takers.fills(count):
        if cancel.is_set():
            break
        last = market.emit([fill])
        emission.emitted += 1
        if pace and cancel.wait(pace):
            break
    if last is not None:
        market.node.receipt(last)
    emission.finished = True


class Outcome(Enum):
    SETTLED = "settled"  # every fill recorded, acknowledged and hedged
    INTERRUPTED = "interrupted"  # Ctrl-C / SIGTERM
    TIMED_OUT = "timed out"  # the bot did not settle in time
    TAKERS_FAILED = "takers failed"
    BOT_STOPPED = "bot stopped"


async def watch(
    store: Queryable,
    *,
    stop: Stop,
    bot: asyncio.Task[None],
    emitter: asyncio.Task[None],
    emission: Emission,
    show: Callable[[Progress], None],
    show_every: float,
    fractional_decimals: int | None,
    settle_timeout: float,
) -> Outcome:
    """Refresh the display until the bot has settled every fill, or something ends the run."""
    loop = asyncio.get_running_loop()
    last_shown = -show_every
    settle_deadline: float | None = None
    while True:
        progress = read_progress(store, fractional_decimals=fractional_decimals)
        now = loop.time()
        finished = emission.finished
        if finished and progress.settled(emission.emitted):
            show(progress)
            return Outcome.SETTLED
        if now - last_shown >= show_every:
            show(progress)
            last_shown = now
        if bot.done():
            return Outcome.BOT_STOPPED
        if emitter.done() and not finished:
            return Outcome.TAKERS_FAILED
        if stop.is_set:
            return Outcome.INTERRUPTED
        if finished:
            settle_deadline = settle_deadline or now + settle_timeout
            if now > settle_deadline:
                return Outcome.TIMED_OUT
        await stop.wait(REFRESH_SECONDS)


async def run_session(
    market: StockMarket,
    database: Path,
    fills: int,
    console: Console,
    *,
    seed: int = DEMO_SEED,
    pace: float = DEFAULT_PACE,
    settle_timeout: float = SETTLE_TIMEOUT,
) -> Outcome:
    """One demo run on a deployed market; prints the summary; returns how it ended."""
    settings = demo_settings(database, market)
    core = build_core(settings)
    broker = RejectFirstOrder(
        PaperBroker(clock=core.clock, price_source=last_price_source(core)), REJECTED_SYMBOL
    )
    stop = Stop()
    emission = Emission()
    cancel = threading.Event()
    plain = not console.is_terminal
    decimals = core.policy.fractional_decimals
    header = (
        f"hedgebot demo · anvil {market.node.url} · orderbook {market.orderbook.address} · "
        f"paper broker · store {database}"
    )
    console.print(header, markup=False, highlight=False, soft_wrap=True)
    bot = asyncio.create_task(run_bot(settings, core=core, broker=broker, stop=stop))
    emitter = asyncio.create_task(
        asyncio.to_thread(
            emit_fills, market, Takers(DEMO_STOCKS, seed=seed), fills, pace, cancel, emission
        )
    )

    async def watching(show: Callable[[Progress], None], every: float) -> Outcome:
        return await watch(
            core.store,
            stop=stop,
            bot=bot,
            emitter=emitter,
            emission=emission,
            show=show,
            show_every=every,
            fractional_decimals=decimals,
            settle_timeout=settle_timeout,
        )

    try:
        if plain:

            def line(progress: Progress) -> None:
                text = progress_line(progress, emission.emitted, fills)
                console.print(text, markup=False, highlight=False, soft_wrap=True)

            outcome = await watching(line, PLAIN_EVERY_SECONDS)
        else:
            with Live(console=console, refresh_per_second=4, transient=True) as live:

                def frame(progress: Progress) -> None:
                    live.update(
                        live_view(progress, emitted=emission.emitted, fills=fills, header=header)
                    )

                outcome = await watching(frame, 0.0)
    finally:
        stop.set()
        cancel.set()
        await asyncio.gather(emitter, return_exceptions=True)
        try:
            await bot  # a failed service raises here, after the summary's data is safe
        finally:
            progress = read_progress(core.store, fractional_decimals=decimals)
            pnl = pnl_summary(core.store)
            core.close()
            await broker.aclose()
            print_summary(
                console, progress, pnl, emitted=emission.emitted, fills=fills, plain=plain
            )
    if outcome is Outcome.TAKERS_FAILED:
        failure = emitter.exception()
        raise RuntimeError(f"the simulated takers failed: {failure}") from failure
    if outcome is Outcome.TIMED_OUT:
        raise DemoDidNotSettle(
            f"the bot did not hedge everything within {settle_timeout:g} s of the last fill"
        )
    if outcome is Outcome.BOT_STOPPED:
        raise RuntimeError("the bot stopped on its own before the demo ended")
    return outcome


def run_demo(
    fills: int,
    console: Console,
    *,
    seed: int = DEMO_SEED,
    pace: float = DEFAULT_PACE,
    settle_timeout: float = SETTLE_TIMEOUT,
) -> None:
    """``hedgebot demo``: everything local and temporary; exit 0 after the summary."""
    if fills < 1:
        raise ValueError(f"--fills must be at least 1, got {fills}")
    configure_logging("ERROR", json_output=False)
    binary = find_anvil()
    with (
        tempfile.TemporaryDirectory(prefix="hedgebot-demo-") as folder,
        Anvil(binary=binary) as node,
    ):
        market = deploy_market(node, DEMO_STOCKS)
        asyncio.run(
            run_session(
                market,
                Path(folder) / "demo.db",
                fills,
                console,
                seed=seed,
                pace=pace,
                settle_timeout=settle_timeout,
            )
        )
