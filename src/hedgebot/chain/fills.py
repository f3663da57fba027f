"""Fill → trade: pure functions from decoded orderbook events to owner trades (SPEC §1, §7).

No I/O and no floats. The steps, each of which can end in a typed `Skip` instead of a
trade:

1. **Owner filter** after decoding (no event field is indexed). A take-order counts when
   its order is the owner's; a clear yields one fill per side whose order is the
   owner's — *both* sides when both orders are the owner's (the reference only took
   alice).
2. **Clear pairing**: a clear's amounts are in the next ``AfterClear*`` log of the same
   transaction with a strictly greater log index. The real orderbook emits the pair
   from one non-reentrant call, so another clear in between means the logs are not
   what they claim to be: the clear is skipped rather than paired with a stranger.
3. **Amounts from the order's side.** The take-order event's ``input``/``output`` are
   documented from the taker's side in *both* IOrderBookV4 and V5 (and the Raindex
   subgraph debits the order's output vault by ``input``), so the order received
   ``output`` and gave ``input``. The V4 reference read them the other way round (a
   bug fixed in its V5 port); hedgebot uses the documented meaning for both versions.
   V4 amounts are scaled by the IO's ``decimals``; V5 Floats are exact values.
4. **Stock vs USDC** by the tokens' ERC-20 ``symbol()`` (exactly ``"USDC"``); the stock
   side must be a tokenized equity symbol (`hedgebot.domain.base_symbol`).
5. ``amount`` = stock quantity, ``price_usdc`` = USDC / stock, direction from the
   owner's side (the order received stock → BUY). A zero amount is no trade.

**Trade ids.** A trade is ``tx_hash:log_index`` of the log that carried it; a clear's
trade uses the clear's log index (as the reference does). When both sides of one clear
are the owner's, alice keeps the clear's index and bob takes the index of the paired
``AfterClear*`` log — unique in the transaction and never a trade of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from enum import Enum

from hedgebot.chain.decoding import (
    IO,
    AfterClear,
    Amount,
    Clear,
    LogDecoder,
    MalformedLog,
    Order,
    OrderbookEvent,
    RawLog,
    TakeOrder,
    UnknownTopic,
)
from hedgebot.domain import Direction, NotTokenizedEquity, TradeId, base_symbol

USDC_SYMBOL = "USDC"

#: Exact arithmetic for scaling and normalising amounts (uint256 has 78 digits).
_EXACT = Context(prec=200, rounding=ROUND_HALF_EVEN)
#: ``price_usdc`` is a quotient, usually non-terminating: 40 significant digits.
PRICE_CONTEXT = Context(prec=40, rounding=ROUND_HALF_EVEN)


class SkipReason(Enum):
    """Why a log yielded no trade. Values are the ``reason`` of the log line."""

    UNKNOWN_TOPIC = "unknown_topic"
    MALFORMED = "malformed"
    REMOVED = "removed"
    NOT_OWNER = "not_owner"
    MISSING_AFTER_CLEAR = "missing_after_clear"
    IO_INDEX_OUT_OF_RANGE = "io_index_out_of_range"
    SYMBOL_UNAVAILABLE = "symbol_unavailable"
    NOT_USDC_PAIR = "not_usdc_pair"
    NOT_TOKENIZED_EQUITY = "not_tokenized_equity"
    ZERO_AMOUNT = "zero_amount"
    NEGATIVE_AMOUNT = "negative_amount"


class Side(Enum):
    """Which order of the event is the owner's."""

    TAKE = "take"
    ALICE = "alice"
    BOB = "bob"


@dataclass(frozen=True, slots=True)
class Skip:
    reason: SkipReason
    detail: str
    tx_hash: str
    log_index: int
    block_number: int
    side: Side | None = None


@dataclass(frozen=True, slots=True)
class OwnerFill:
    """One fill of an owner's order, from that order's perspective.

    ``input`` is what the order received, ``output`` what it gave.
    """

    trade_id: TradeId
    block_number: int
    block_timestamp: int | None
    side: Side
    input_io: IO
    input_amount: Decimal
    output_io: IO
    output_amount: Decimal


@dataclass(frozen=True, slots=True)
class ChainTrade:
    """A trade of the owner, ready to become ``OnChainTrade.Witness``."""

    trade_id: TradeId
    block_number: int
    block_timestamp: datetime | None
    side: Side
    symbol: str  # tokenized symbol as seen onchain, e.g. "AAPL0x"
    base_symbol: str  # broker ticker, e.g. "AAPL"
    amount: Decimal  # stock quantity, > 0
    direction: Direction
    price_usdc: Decimal  # USDC per share, > 0


# -- step 0: decoding ----------------------------------------------------------------------


def decode_logs(
    logs: Iterable[RawLog], decoder: LogDecoder
) -> tuple[list[OrderbookEvent], list[Skip]]:
    """Decode ``logs`` in chain order, once each; undecodable ones become skips.

    Logs are deduplicated on (tx_hash, log_index) (overlapping ranges, a node repeating
    itself) and sorted by (block, log index), which keeps a transaction's logs together.
    """
    unique = {(log.tx_hash, log.log_index): log for log in logs}
    events: list[OrderbookEvent] = []
    skips: list[Skip] = []
    for log in sorted(unique.values(), key=lambda item: item.ordering):
        if log.removed:
            skips.append(_log_skip(SkipReason.REMOVED, "log was removed by a reorg", log))
            continue
        try:
            events.append(decoder.decode(log))
        except UnknownTopic as exc:
            skips.append(_log_skip(SkipReason.UNKNOWN_TOPIC, str(exc), log))
        except MalformedLog as exc:
            skips.append(_log_skip(SkipReason.MALFORMED, str(exc), log))
    return events, skips


def _log_skip(reason: SkipReason, detail: str, log: RawLog) -> Skip:
    return Skip(reason, detail, log.tx_hash, log.log_index, log.block_number)


# -- step 1–3: owner fills ------------------------------------------------------------


def owner_fills(events: Sequence[OrderbookEvent], owner: str) -> list[OwnerFill | Skip]:
    """The owner's fills among ``events`` (sorted by block and log index).

    ``AfterClear*`` events produce nothing by themselves: they are consumed by the clear
    they belong to.
    """
    owner = owner.lower()
    out: list[OwnerFill | Skip] = []
    for position, event in enumerate(events):
        if isinstance(event, TakeOrder):
            out.append(_take_order_fill(event, owner))
        elif isinstance(event, Clear):
            out.extend(_clear_fills(events, position, event, owner))
    return out


def _take_order_fill(event: TakeOrder, owner: str) -> OwnerFill | Skip:
    log = event.log
    if event.order.owner.lower() != owner:
        return _skip(SkipReason.NOT_OWNER, f"order owner {event.order.owner}", event, Side.TAKE)
    # The event is from the taker's side: the order received `output`, gave `input`.
    return _fill(
        TradeId(log.tx_hash, log.log_index),
        event,
        Side.TAKE,
        event.order,
        event.input_io_index,
        event.taker_output,
        event.output_io_index,
        event.taker_input,
    )


def _clear_fills(
    events: Sequence[OrderbookEvent], position: int, clear: Clear, owner: str
) -> list[OwnerFill | Skip]:
    alice_ours = clear.alice.owner.lower() == owner
    bob_ours = clear.bob.owner.lower() == owner
    if not alice_ours and not bob_ours:
        detail = f"alice {clear.alice.owner}, bob {clear.bob.owner}"
        return [_skip(SkipReason.NOT_OWNER, detail, clear, None)]
    after = _paired_after_clear(events, position, clear)
    if isinstance(after, Skip):
        return [after]
    log = clear.log
    fills: list[OwnerFill | Skip] = []
    if alice_ours:
        fills.append(
            _fill(
                TradeId(log.tx_hash, log.log_index),
                clear,
                Side.ALICE,
                clear.alice,
                clear.alice_input_io_index,
                after.alice_input,
                clear.alice_output_io_index,
                after.alice_output,
            )
        )
    if bob_ours:
        bob_index = after.log.log_index if alice_ours else log.log_index
        fills.append(
            _fill(
                TradeId(log.tx_hash, bob_index),
                clear,
                Side.BOB,
                clear.bob,
                clear.bob_input_io_index,
                after.bob_input,
                clear.bob_output_io_index,
                after.bob_output,
            )
        )
    return fills


def _paired_after_clear(
    events: Sequence[OrderbookEvent], position: int, clear: Clear
) -> AfterClear | Skip:
    tx_hash = clear.log.tx_hash
    for later in events[position + 1 :]:
        if later.log.tx_hash != tx_hash:
            break
        if isinstance(later, Clear):
            break
        if isinstance(later, AfterClear):
            if later.log.log_index <= clear.log.log_index:
                break
            return later
    return _skip(
        SkipReason.MISSING_AFTER_CLEAR,
        "no AfterClear log follows the clear in its transaction",
        clear,
        None,
    )


def _fill(
    trade_id: TradeId,
    event: TakeOrder | Clear,
    side: Side,
    order: Order,
    input_index: int,
    input_amount: Amount,
    output_index: int,
    output_amount: Amount,
) -> OwnerFill | Skip:
    if input_index >= len(order.valid_inputs):
        detail = f"input IO index {input_index} but the order has {len(order.valid_inputs)} inputs"
        return _skip(SkipReason.IO_INDEX_OUT_OF_RANGE, detail, event, side)
    if output_index >= len(order.valid_outputs):
        detail = (
            f"output IO index {output_index} but the order has {len(order.valid_outputs)} outputs"
        )
        return _skip(SkipReason.IO_INDEX_OUT_OF_RANGE, detail, event, side)
    input_io = order.valid_inputs[input_index]
    output_io = order.valid_outputs[output_index]
    return OwnerFill(
        trade_id=trade_id,
        block_number=event.log.block_number,
        block_timestamp=event.log.block_timestamp,
        side=side,
        input_io=input_io,
        input_amount=to_decimal(input_amount, input_io),
        output_io=output_io,
        output_amount=to_decimal(output_amount, output_io),
    )


def to_decimal(amount: Amount, io: IO) -> Decimal:
    """A V4 raw ``uint256`` scaled by the IO's decimals, or a V5 Float value, exactly."""
    if isinstance(amount, Decimal):
        return amount
    if io.decimals is None:
        raise ValueError(f"raw amount {amount} for token {io.token} without decimals")
    return Decimal(amount).scaleb(-io.decimals, _EXACT)


def _skip(reason: SkipReason, detail: str, event: OrderbookEvent, side: Side | None) -> Skip:
    log = event.log
    return Skip(reason, detail, log.tx_hash, log.log_index, log.block_number, side)


# -- step 4–5: trades ---------------------------------------------------------------------


def tokens_of(fills: Iterable[OwnerFill | Skip]) -> set[str]:
    """Token addresses whose symbols are needed to turn ``fills`` into trades."""
    tokens: set[str] = set()
    for fill in fills:
        if isinstance(fill, OwnerFill):
            tokens.add(fill.input_io.token.lower())
            tokens.add(fill.output_io.token.lower())
    return tokens


def to_trade(fill: OwnerFill, symbols: Mapping[str, str | None]) -> ChainTrade | Skip:
    """The trade of one owner fill; ``symbols`` maps lowercase token address → symbol
    (``None`` or absent: the token has no readable ``symbol()``)."""
    input_symbol = symbols.get(fill.input_io.token.lower())
    output_symbol = symbols.get(fill.output_io.token.lower())
    if input_symbol is None or output_symbol is None:
        missing = fill.input_io.token if input_symbol is None else fill.output_io.token
        return _trade_skip(fill, SkipReason.SYMBOL_UNAVAILABLE, f"no symbol() for token {missing}")
    if input_symbol == USDC_SYMBOL and output_symbol != USDC_SYMBOL:
        # The order received USDC and gave stock: the owner sold.
        direction, stock_symbol = Direction.SELL, output_symbol
        stock, usdc = fill.output_amount, fill.input_amount
    elif output_symbol == USDC_SYMBOL and input_symbol != USDC_SYMBOL:
        direction, stock_symbol = Direction.BUY, input_symbol
        stock, usdc = fill.input_amount, fill.output_amount
    else:
        detail = f"input {input_symbol!r} / output {output_symbol!r} is not a stock/USDC pair"
        return _trade_skip(fill, SkipReason.NOT_USDC_PAIR, detail)
    try:
        base = base_symbol(stock_symbol)
    except NotTokenizedEquity as exc:
        return _trade_skip(fill, SkipReason.NOT_TOKENIZED_EQUITY, str(exc))
    if stock < 0 or usdc < 0:
        detail = f"stock {stock} {stock_symbol}, usdc {usdc}"
        return _trade_skip(fill, SkipReason.NEGATIVE_AMOUNT, detail)
    if stock == 0 or usdc == 0:
        detail = f"stock {stock} {stock_symbol}, usdc {usdc}"
        return _trade_skip(fill, SkipReason.ZERO_AMOUNT, detail)
    return ChainTrade(
        trade_id=fill.trade_id,
        block_number=fill.block_number,
        block_timestamp=timestamp_to_datetime(fill.block_timestamp),
        side=fill.side,
        symbol=stock_symbol,
        base_symbol=base,
        amount=stock.normalize(_EXACT),
        direction=direction,
        price_usdc=PRICE_CONTEXT.divide(usdc, stock).normalize(PRICE_CONTEXT),
    )


def _trade_skip(fill: OwnerFill, reason: SkipReason, detail: str) -> Skip:
    return Skip(
        reason,
        detail,
        fill.trade_id.tx_hash,
        fill.trade_id.log_index,
        fill.block_number,
        fill.side,
    )


def timestamp_to_datetime(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
