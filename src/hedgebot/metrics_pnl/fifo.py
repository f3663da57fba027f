"""FIFO profit and loss per base symbol across both venues (SPEC §9). Pure: no I/O.

One inventory per **base** symbol: an onchain fill of ``tAAPL`` and a broker fill of
``AAPL`` net against each other (the reference reporter keyed inventories by the raw
symbol, so hedges never netted against their onchain legs; that bug is not repeated).

Order of trades (a total order, encoded as one sortable string, `Trade.order_key`):

1. time, in UTC to the microsecond: onchain = block timestamp, offchain = fill time;
2. venue: ONCHAIN before OFFCHAIN at the same instant;
3. id: onchain by (block number, log index, tx hash) — the chain's own order, since a
   log index is unique within its block — and offchain by the numeric execution id.

Rules: a trade on a flat position or in the position's direction opens or adds a lot
and realises nothing (``realized_pnl`` None); an opposite trade consumes the oldest
lots, realising ``(exit − entry) × qty`` against a long lot and ``(entry − exit) × qty``
against a short one; what is left of it after the position is closed opens a lot in
its own direction at its own price (a flip). A trade that closes at cost realises
``Decimal 0``, not None.

Exactness: arithmetic runs in a 120-digit context, far beyond any 18-decimal amount
times a price, so sums and products are exact; every stored number is normalised
(trailing zeros stripped, no ``-0``) so that a state reached by different paths (an
append, or a rewind and replay) has byte-identical text.

Lots are kept in their stored form, ``[[signed quantity, price], …]`` as decimal
strings, oldest first: the view folds a trade into a stored per-symbol state without
decoding and re-encoding every open lot, so appending costs the same however many
lots are open. Adjacent lots at the same price are merged (FIFO cannot tell them
apart), which makes the list canonical and lets `FifoBook.undo` restore it exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Context, Decimal
from enum import Enum

from hedgebot.domain import Direction

#: 120 significant digits: an 18-decimal quantity times a 28-digit price, summed over
#: any realistic history, never rounds.
PNL_CONTEXT = Context(prec=120)

ZERO = Decimal(0)

#: ``[signed quantity, price]`` as normalised decimal strings; positive = long lot.
Lot = list[str]


class InvalidTrade(ValueError):
    """A trade the PnL engine cannot book (non-positive quantity or price, bad id or time)."""


class Venue(Enum):
    """Where a trade happened; the value is the legacy ``trade_type`` column."""

    ONCHAIN = "ONCHAIN"
    OFFCHAIN = "OFFCHAIN"

    @property
    def rank(self) -> int:
        """Tie order at the same instant: onchain first."""
        return 0 if self is Venue.ONCHAIN else 1


_UNIT = Decimal(1)


def canonical(value: Decimal) -> Decimal:
    """The normalised form of a value: no trailing zeros, no exponent, no negative zero.

    ``Decimal("80.00")`` → ``Decimal("80")``, ``Decimal("1E+1")`` → ``Decimal("10")``.
    """
    if not value:
        return ZERO
    normal = value.normalize(PNL_CONTEXT)
    if normal == normal.to_integral_value():
        return normal.quantize(_UNIT, context=PNL_CONTEXT)
    return normal


def plain(value: Decimal) -> str:
    """Plain-notation text of a value already in `canonical` form."""
    text = str(value)
    return format(value, "f") if "E" in text else text


def decimal_text(value: Decimal) -> str:
    """Plain-notation text of the normalised value (``"100"``, ``"0.5"``, ``"-30"``)."""
    return plain(canonical(value))


#: length of a `time_key`: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
TIME_KEY_LENGTH = 27


def time_key(moment: datetime) -> str:
    """Fixed-width UTC text that sorts like the instant (``2025-01-02T03:04:05.000006Z``)."""
    if moment.tzinfo is None:
        raise InvalidTrade(f"trade time must be timezone-aware (UTC), got {moment.isoformat()}")
    # isoformat always writes a 4-digit year and, with this timespec, 6 fraction digits
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def legacy_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, the text of SQLite's ``datetime()``."""
    moment = moment.astimezone(UTC)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def _positive(name: str, value: Decimal, trade_id: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise InvalidTrade(f"trade {trade_id}: {name} must be a positive decimal, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill as the PnL engine sees it; build it with `onchain` or `offchain`."""

    symbol: str
    venue: Venue
    trade_id: str
    direction: Direction
    quantity: Decimal
    price: Decimal
    traded_at: datetime
    #: the total PnL order as sortable text; it starts with `time_key` of ``traded_at``
    order_key: str
    #: ``ONCHAIN:<tx_hash:log_index>`` or ``OFFCHAIN:<execution id>``
    view_id: str

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.direction is Direction.BUY else -self.quantity

    @classmethod
    def onchain(
        cls,
        *,
        symbol: str,
        tx_hash: str,
        log_index: int,
        block_number: int,
        direction: Direction,
        quantity: Decimal,
        price: Decimal,
        traded_at: datetime,
    ) -> Trade:
        """An onchain fill at its block timestamp; ``symbol`` is already the base symbol."""
        trade_id = f"{tx_hash}:{log_index}"
        if log_index < 0 or block_number < 0:
            raise InvalidTrade(f"trade {trade_id}: block number and log index must be >= 0")
        order_key = (
            f"{time_key(traded_at)}|{Venue.ONCHAIN.rank}|"
            f"{block_number:020d}|{log_index:010d}|{tx_hash}"
        )
        return cls(
            symbol=symbol,
            venue=Venue.ONCHAIN,
            trade_id=trade_id,
            direction=direction,
            quantity=canonical(_positive("quantity", quantity, trade_id)),
            price=canonical(_positive("price", price, trade_id)),
            traded_at=traded_at.astimezone(UTC),
            order_key=order_key,
            view_id=f"ONCHAIN:{trade_id}",
        )

    @classmethod
    def offchain(
        cls,
        *,
        symbol: str,
        execution_id: int,
        direction: Direction,
        quantity: Decimal,
        price_cents: int,
        traded_at: datetime,
    ) -> Trade:
        """A broker fill of ``quantity`` shares at ``price_cents / 100`` at its fill time."""
        trade_id = str(execution_id)
        if execution_id <= 0:
            raise InvalidTrade(f"execution id must be a positive integer, got {execution_id}")
        if price_cents <= 0:
            raise InvalidTrade(f"trade {trade_id}: price_cents must be positive, got {price_cents}")
        price = Decimal(price_cents).scaleb(-2)
        order_key = f"{time_key(traded_at)}|{Venue.OFFCHAIN.rank}|{execution_id:020d}"
        return cls(
            symbol=symbol,
            venue=Venue.OFFCHAIN,
            trade_id=trade_id,
            direction=direction,
            quantity=canonical(_positive("quantity", quantity, trade_id)),
            price=canonical(price),
            traded_at=traded_at.astimezone(UTC),
            order_key=order_key,
            view_id=f"OFFCHAIN:{trade_id}",
        )


@dataclass(frozen=True, slots=True)
class Booking:
    """What one trade did to its symbol's book.

    ``consumed`` lists the (signed quantity, price) taken from the oldest lots in order;
    ``opened`` is the signed quantity added at the trade's price (None when the trade
    only reduced). Together they make the trade reversible (`FifoBook.undo`).
    """

    realized_pnl: Decimal | None
    cumulative_pnl: Decimal
    net_position_after: Decimal
    consumed: tuple[tuple[Decimal, Decimal], ...]
    opened: Decimal | None


@dataclass
class FifoBook:
    """The open lots and running totals of one base symbol."""

    lots: list[Lot] = field(default_factory=list)
    cumulative_pnl: Decimal = ZERO
    net_position: Decimal = ZERO

    def apply(self, direction: Direction, quantity: Decimal, price: Decimal) -> Booking:
        """Book one trade (quantity and price already validated positive)."""
        return self._book(direction is Direction.BUY, canonical(quantity), canonical(price))

    def apply_trade(self, trade: Trade) -> Booking:
        """Book a `Trade` (its quantity and price are validated and canonical already)."""
        return self._book(trade.direction is Direction.BUY, trade.quantity, trade.price)

    def _book(self, buying: bool, quantity: Decimal, price: Decimal) -> Booking:
        """Arithmetic goes through `PNL_CONTEXT` explicitly (``copy_abs``/``copy_negate``
        never round), which is exact and cheaper than entering a local context per trade.
        """
        ctx = PNL_CONTEXT
        lots = self.lots
        price_text = plain(price)
        consumed: list[tuple[Decimal, Decimal]] = []
        realized: Decimal | None = None
        opened: Decimal | None = None
        remaining = quantity
        if lots and lots[0][0].startswith("-") == buying:
            total = ZERO
            while remaining > 0 and lots:
                lot_quantity = Decimal(lots[0][0])
                lot_price = Decimal(lots[0][1])
                size = lot_quantity.copy_abs()
                taken = remaining if remaining < size else size
                if lot_quantity > 0:
                    total = ctx.add(total, ctx.multiply(ctx.subtract(price, lot_price), taken))
                    consumed.append((taken, lot_price))
                    left = ctx.subtract(lot_quantity, taken)
                else:
                    total = ctx.add(total, ctx.multiply(ctx.subtract(lot_price, price), taken))
                    consumed.append((taken.copy_negate(), lot_price))
                    left = ctx.add(lot_quantity, taken)
                remaining = canonical(ctx.subtract(remaining, taken))
                if not left:
                    lots.pop(0)
                else:
                    lots[0] = [plain(canonical(left)), lots[0][1]]
            realized = canonical(total)
            self.cumulative_pnl = canonical(ctx.add(self.cumulative_pnl, realized))
        if remaining > 0:
            opened = remaining if buying else remaining.copy_negate()
            if lots and lots[-1][1] == price_text:
                merged = canonical(ctx.add(Decimal(lots[-1][0]), opened))
                lots[-1] = [plain(merged), price_text]
            else:
                lots.append([plain(opened), price_text])
        signed = quantity if buying else quantity.copy_negate()
        self.net_position = canonical(ctx.add(self.net_position, signed))
        return Booking(
            realized_pnl=realized,
            cumulative_pnl=self.cumulative_pnl,
            net_position_after=self.net_position,
            consumed=tuple(consumed),
            opened=opened,
        )

    def undo(self, direction: Direction, quantity: Decimal, booking: Booking) -> None:
        """Reverse the last trade booked: the exact inverse of `apply`.

        Used to rewind a symbol to the point where a late trade belongs, walking back
        from the newest trade, instead of replaying the symbol from its first trade.
        """
        ctx = PNL_CONTEXT
        lots = self.lots
        if booking.opened is not None:
            if not lots:
                raise ValueError("cannot undo: the book has no lot to take the opening from")
            back = canonical(ctx.subtract(Decimal(lots[-1][0]), booking.opened))
            if not back:
                lots.pop()
            else:
                lots[-1] = [plain(back), lots[-1][1]]
        for lot_quantity, lot_price in reversed(booking.consumed):
            price_text = plain(lot_price)
            if lots and lots[0][1] == price_text:
                restored = canonical(ctx.add(Decimal(lots[0][0]), lot_quantity))
                lots[0] = [plain(restored), price_text]
            else:
                lots.insert(0, [plain(lot_quantity), price_text])
        quantity = canonical(quantity)
        signed = quantity if direction is Direction.BUY else quantity.copy_negate()
        self.net_position = canonical(ctx.subtract(self.net_position, signed))
        if booking.realized_pnl is not None:
            self.cumulative_pnl = canonical(ctx.subtract(self.cumulative_pnl, booking.realized_pnl))

    def open_quantity(self) -> Decimal:
        """Σ signed lot quantities (equals ``net_position``)."""
        total = ZERO
        for quantity, _ in self.lots:
            total = PNL_CONTEXT.add(total, Decimal(quantity))
        return canonical(total)

    def mark_to_market(self, price: Decimal) -> Decimal:
        """Unrealised PnL of the open lots at ``price``."""
        ctx = PNL_CONTEXT
        total = ZERO
        for quantity, cost in self.lots:
            total = ctx.add(
                total, ctx.multiply(ctx.subtract(price, Decimal(cost)), Decimal(quantity))
            )
        return canonical(total)


@dataclass(frozen=True, slots=True)
class PnlRow:
    """One trade with its booking: a row of ``metrics_pnl_view``."""

    trade: Trade
    booking: Booking

    @property
    def realized_pnl(self) -> Decimal | None:
        return self.booking.realized_pnl

    @property
    def cumulative_pnl(self) -> Decimal:
        return self.booking.cumulative_pnl

    @property
    def net_position_after(self) -> Decimal:
        return self.booking.net_position_after


def sort_trades(trades: Iterable[Trade]) -> list[Trade]:
    """Trades in PnL order; two trades with the same view id are an error."""
    ordered = sorted(trades, key=lambda t: t.order_key)
    seen: set[str] = set()
    for trade in ordered:
        if trade.view_id in seen:
            raise InvalidTrade(f"trade {trade.view_id} appears twice")
        seen.add(trade.view_id)
    return ordered


def compute_pnl(trades: Iterable[Trade]) -> list[PnlRow]:
    """Full recompute: every trade booked in PnL order, one book per base symbol."""
    books: dict[str, FifoBook] = {}
    rows: list[PnlRow] = []
    for trade in sort_trades(trades):
        book = books.setdefault(trade.symbol, FifoBook())
        rows.append(PnlRow(trade, book.apply_trade(trade)))
    return rows


def final_books(trades: Sequence[Trade]) -> dict[str, FifoBook]:
    """The book of every symbol after all ``trades`` (for reports and invariants)."""
    books: dict[str, FifoBook] = {}
    for trade in sort_trades(trades):
        books.setdefault(trade.symbol, FifoBook()).apply_trade(trade)
    return books
