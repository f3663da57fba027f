"""The Pyth price a fill was priced with, read from the transaction's call trace.

``debug_traceTransaction(tx, {tracer: "callTracer"})`` gives the call tree. A frame is a
Pyth price read when it calls the configured Pyth contract with one of the four
``getPrice*`` selectors (`hedgebot.chain.abi.PYTH_PRICE_SELECTORS`), has at least the
feed id in its input and has an output. Frames are visited depth-first, each before its
sub-calls (the order the calls happened). Unlike the reference, a frame that reverted
(``error`` set) is not a price read: its output is revert data, not a ``Price``.

**Which call, when several** (reference/bot-behaviour.md §6, decided here):

* the base symbol has a known feed id (``DEFAULT_FEED_IDS`` plus configuration) → the
  first read of that feed; none → `NoMatchingFeed`;
* the symbol is unknown → the feed read in the transaction, if every read is of one
  feed; reads of several feeds → `AmbiguousFeed`. The reference took the first read
  and remembered its feed for the symbol in memory; a wrong guess then stuck for the
  life of the process, and differed between runs. Here the answer depends only on the
  transaction and the configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from hedgebot.chain.abi import PYTH_PRICE_SELECTORS, PYTH_PRICE_TYPES
from hedgebot.onchain_trade.events import PythPrice

#: Pyth feed ids of the reference's pre-seeded cache (Equity.US.<SYMBOL>/USD).
DEFAULT_FEED_IDS: dict[str, bytes] = {
    symbol: bytes.fromhex(feed)
    for symbol, feed in {
        "AAPL": "49f6b65cb1de6b10eaf75e7c03ca029c306d0357e91b5311b175084a5ad55688",
        "MSFT": "d0ca23c1cc005e004ccf1db5bf76aeb6a49218f43dac3d4b275e92de12ded4d1",
        "GOOG": "e65ff435be42630439c96396653a342829e877e2aafaeaf1a10d0ee5fd2cf3f2",
        "AMZN": "b5d0e0fa58a1f8b81498ae670ce93c872d14434b72c364885d4fa1b257cbb07a",
        "NVDA": "b1073854ed24cbc755dc527418f52b7d271f6cc967bbf8d8129112b18860a593",
        "META": "78a3e3b8e676a8f73c439f5d749737034b139bbbe899ba5775216fba596607fe",
        "TSLA": "16dad506d7db8da01c87581c87ca897a012a153557d4d578c3b9c9e1bc0632f1",
        "GME": "6f9cd89ef1b7fd39f667101a91ad578b6c6ace4579d5f7f285a4b06aa4504be6",
    }.items()
}


class PythError(ValueError):
    """No usable Pyth price in the trace (enrichment stays empty)."""


class NoPythCall(PythError):
    pass


class NoMatchingFeed(PythError):
    pass


class AmbiguousFeed(PythError):
    pass


class BadPythOutput(PythError):
    pass


@dataclass(frozen=True, slots=True)
class PythCall:
    feed_id: bytes
    method: str
    output: bytes


def pyth_calls(trace: Mapping[str, Any], pyth_address: str) -> list[PythCall]:
    """Every successful Pyth price read in the call tree, in call order."""
    target = pyth_address.lower()
    found: list[PythCall] = []
    for frame in _walk(trace):
        if str(frame.get("to", "")).lower() != target or frame.get("error"):
            continue
        call_input = _hex(frame.get("input"))
        output = _hex(frame.get("output"))
        if call_input is None or output is None or len(call_input) < 36 or not output:
            continue
        method = PYTH_PRICE_SELECTORS.get(call_input[:4])
        if method is not None:
            found.append(PythCall(feed_id=call_input[4:36], method=method, output=output))
    return found


def _walk(frame: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    stack = [frame]
    while stack:
        current = stack.pop()
        yield current
        children = current.get("calls") or []
        if isinstance(children, list):
            stack.extend(reversed([c for c in children if isinstance(c, Mapping)]))


def _hex(value: object) -> bytes | None:
    if not isinstance(value, str) or not value.startswith("0x"):
        return None
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        return None


def choose_call(
    calls: list[PythCall], base_symbol: str, feed_ids: Mapping[str, bytes] = DEFAULT_FEED_IDS
) -> PythCall:
    if not calls:
        raise NoPythCall("the transaction made no Pyth price read")
    feed = feed_ids.get(base_symbol)
    if feed is not None:
        for call in calls:
            if call.feed_id == feed:
                return call
        raise NoMatchingFeed(
            f"no Pyth read of the {base_symbol} feed 0x{feed.hex()} "
            f"(read: {', '.join(sorted({'0x' + c.feed_id.hex() for c in calls}))})"
        )
    feeds = {call.feed_id for call in calls}
    if len(feeds) > 1:
        raise AmbiguousFeed(
            f"{base_symbol} has no configured Pyth feed id and the transaction read "
            f"{len(feeds)} feeds; configure the feed id for {base_symbol}"
        )
    return calls[0]


def decode_price(output: bytes) -> PythPrice:
    """``Price(int64 price, uint64 conf, int32 expo, uint256 publishTime)`` → `PythPrice`."""
    if len(output) < 128:
        raise BadPythOutput(f"a Pyth Price is 128 bytes, the call returned {len(output)}")
    try:
        price, conf, expo, publish_time = abi_decode(list(PYTH_PRICE_TYPES), output[:128])
    except (DecodingError, ValueError, OverflowError) as exc:
        raise BadPythOutput(f"Pyth output does not decode as a Price: {exc}") from None
    try:
        published = datetime.fromtimestamp(int(publish_time), UTC)
    except (OverflowError, ValueError, OSError):
        raise BadPythOutput(f"Pyth publishTime {publish_time} is not a valid time") from None
    return PythPrice(
        value=Decimal(int(price)),
        expo=int(expo),
        conf=Decimal(int(conf)),
        publish_time=published,
    )


def pyth_price_from_trace(
    trace: Mapping[str, Any],
    pyth_address: str,
    base_symbol: str,
    feed_ids: Mapping[str, bytes] = DEFAULT_FEED_IDS,
) -> PythPrice:
    call = choose_call(pyth_calls(trace, pyth_address), base_symbol, feed_ids)
    return decode_price(call.output)
