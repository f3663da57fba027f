"""Validation of every legacy cell, before anything is written.

The legacy schema's CHECK constraints were not always there (older databases) and
SQLite's typing is loose, so nothing is assumed: each cell is checked for its type,
range and format, and each row for the legacy invariants (a FILLED order has an order
id, a price and a time, …). A bad cell becomes a `LegacyValueProblem` naming table,
row, column, value and reason; the import stops before its transaction opens if there
is any. Nothing is skipped silently and nothing gets a placeholder value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar, cast

from hedgebot.domain import Broker, Direction, NotTokenizedEquity, base_symbol
from hedgebot.migration import legacy
from hedgebot.migration.errors import LegacyDataError, LegacyValueProblem
from hedgebot.migration.legacy import LegacyLayout, Row
from hedgebot.migration.reals import NotFiniteReal, RealConverter, UnreadableReal
from hedgebot.migration.records import (
    LegacyAuth,
    LegacyOrder,
    LegacyPosition,
    LegacyTrade,
    OrderStatus,
)
from hedgebot.migration.timestamps import (
    TimestampError,
    had_sub_microsecond_digits,
    parse_legacy_timestamp,
)

T = TypeVar("T")

MAX_SHOWN = 20
I64_MAX = (1 << 63) - 1
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
#: AES-256-GCM token = 12-byte nonce ‖ ciphertext ‖ 16-byte tag
MIN_TOKEN_BYTES = 12 + 16

_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_BASE_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_HEX = re.compile(r"^[0-9a-fA-F]*$")
_BARE_MARKERS = ("t", "0x", "s1")
_DIRECTIONS = {"BUY": Direction.BUY, "SELL": Direction.SELL}


class Invalid(ValueError):
    """One bad cell; the message is the reason."""


def render(value: object) -> str:
    """A short printable rendering of a cell for error messages."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"BLOB of {len(value)} bytes"
    if isinstance(value, str):
        shown = value if len(value) <= 80 else value[:77] + "..."
        return repr(shown)
    return repr(value)


class Problems:
    """Collects problems; keeps the first `MAX_SHOWN` and counts the rest."""

    def __init__(self) -> None:
        self.shown: list[LegacyValueProblem] = []
        self.total = 0

    def add(self, table: str, row: str, column: str, value: str, reason: str) -> None:
        self.total += 1
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(LegacyValueProblem(table, row, column, value, reason))

    def raise_if_any(self) -> None:
        if self.total:
            raise LegacyDataError(self.shown, self.total)


# -- cell checks -------------------------------------------------------------------


def required(value: object) -> object:
    if value is None:
        raise Invalid("NULL in a required column")
    return value


def positive_int(value: object) -> int:
    number = integer(value)
    if number <= 0:
        raise Invalid("must be a positive integer")
    return number


def integer(value: object) -> int:
    value = required(value)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise Invalid(f"expected an INTEGER, got {_kind(value)}")
    return value


def non_negative_int(value: object, upper: int = I64_MAX) -> int:
    number = integer(value)
    if number < 0:
        raise Invalid("must not be negative")
    if number > upper:
        raise Invalid(f"must be at most {upper}")
    return number


def real(value: object) -> float:
    value = required(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "infinity"):
            raise Invalid("NaN or infinity is not a number")
        raise Invalid(f"expected a REAL, got {_kind(value)}")
    number = float(value)
    if isinstance(value, int) and int(number) != value:
        raise Invalid("integer too large to be an exact REAL")
    if math.isnan(number):
        raise Invalid("NaN is not a number")
    if math.isinf(number):
        raise Invalid("infinity is not a number")
    return number


def text(value: object) -> str:
    value = required(value)
    if not isinstance(value, str):
        raise Invalid(f"expected TEXT, got {_kind(value)}")
    return value


def timestamp(value: object) -> datetime:
    value = required(value)
    try:
        return parse_legacy_timestamp(value)
    except TimestampError as exc:
        raise Invalid(str(exc)) from None


def optional(check: Callable[[object], T], value: object) -> T | None:
    return None if value is None else check(value)


def _kind(value: object) -> str:
    if isinstance(value, str):
        return f"TEXT {render(value)}"
    if isinstance(value, bytes):
        return render(value)
    if isinstance(value, float):
        return f"REAL {value!r}"
    if isinstance(value, int):
        return f"INTEGER {value}"
    return type(value).__name__


def base_ticker(value: object) -> str:
    symbol = text(value)
    if symbol == "":
        raise Invalid("empty symbol")
    if not _BASE_SYMBOL.match(symbol):
        raise Invalid("malformed symbol (expected a ticker such as AAPL or BRK.B)")
    return symbol


def tokenized_symbol(value: object) -> tuple[str, str]:
    """(symbol as onchain, base ticker). Early legacy rows stored the base ticker itself."""
    symbol = text(value)
    if symbol == "":
        raise Invalid("empty symbol")
    try:
        base = base_symbol(symbol)
    except NotTokenizedEquity:
        if symbol in _BARE_MARKERS:
            raise Invalid("malformed symbol: a tokenized marker without a ticker") from None
        base = symbol
    if not _BASE_SYMBOL.match(base):
        raise Invalid(
            "malformed symbol (expected a tokenized equity such as tAAPL, AAPL0x or AAPLs1, "
            "or a ticker such as AAPL)"
        )
    return symbol, base


def direction(value: object) -> Direction:
    found = _DIRECTIONS.get(text(value))
    if found is None:
        raise Invalid("unknown direction (expected 'BUY' or 'SELL')")
    return found


def tx_hash(value: object) -> str:
    hash_text = text(value)
    if not _TX_HASH.match(hash_text):
        raise Invalid("bad hex: a transaction hash is 0x followed by 64 hex digits")
    return hash_text.lower()


def token_hex(value: object) -> bytes:
    token = text(value)
    digits = token[2:] if token[:2] in ("0x", "0X") else token
    if not digits:
        raise Invalid("empty token")
    if len(digits) % 2 or not _HEX.match(digits):
        raise Invalid("bad hex: an encrypted token is an even number of hex digits")
    raw = bytes.fromhex(digits)
    if len(raw) < MIN_TOKEN_BYTES:
        raise Invalid(
            f"too short for an AES-256-GCM token ({len(raw)} bytes; nonce and tag "
            f"alone are {MIN_TOKEN_BYTES})"
        )
    return raw


def order_id_text(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    order = text(value)
    if order == "" or order != order.strip():
        raise Invalid("an order id must be non-empty text without surrounding spaces")
    return order


def _redacted(value: object) -> str:
    if isinstance(value, str):
        return f"<redacted, {len(value)} characters>"
    return render(value) if value is None else f"<redacted {type(value).__name__}>"


# -- the validator -------------------------------------------------------------------


class Validator:
    """Validates all legacy rows into records, collecting every problem."""

    def __init__(self, layout: LegacyLayout, reals: RealConverter) -> None:
        self.layout = layout
        self.reals = reals
        self.problems = Problems()
        self.truncated_timestamps = 0
        self._times: dict[str, datetime] = {}
        self._symbols: dict[str, tuple[str, str]] = {}

    def _decimal(self, number: float) -> Decimal:
        try:
            return self.reals.convert(number)
        except (NotFiniteReal, UnreadableReal) as exc:
            raise Invalid(str(exc)) from None

    def _cell(
        self, table: str, row: str, column: str, value: object, check: Callable[[object], T]
    ) -> T | None:
        try:
            return check(value)
        except Invalid as exc:
            self.problems.add(table, row, column, render(value), str(exc))
            return None

    def _timestamp(self, value: object) -> datetime:
        """A required timestamp; texts are cached (a row often repeats its time)."""
        if isinstance(value, str):
            cached = self._times.get(value)
            if cached is not None:
                return cached
            parsed = timestamp(value)
            if "." in value and had_sub_microsecond_digits(value):
                self.truncated_timestamps += 1
            if len(self._times) < 100_000:
                self._times[value] = parsed
            return parsed
        return timestamp(value)

    def _optional_timestamp(self, value: object) -> datetime | None:
        return None if value is None else self._timestamp(value)

    def _real(
        self, table: str, row: str, column: str, value: object, *, allow: str = "any"
    ) -> Decimal | None:
        def check(cell: object) -> Decimal:
            number = real(cell)
            if allow == "positive" and not number > 0:
                raise Invalid("must be greater than zero")
            if allow == "non_negative" and number < 0:
                raise Invalid("must not be negative")
            return self._decimal(number)

        return self._cell(table, row, column, value, check)

    def prepare_reals(self, rows: Iterable[Row], positions: Iterable[int]) -> None:
        """Convert all REAL cells in one pass (SQLite is consulted per batch)."""
        index = list(positions)
        cells = {row[i] for row in rows for i in index}  # distinct cells, deduplicated in C
        self.reals.prepare(
            float(cell)
            for cell in cells
            if type(cell) is float or (isinstance(cell, int) and not isinstance(cell, bool))
        )

    # -- onchain_trades --------------------------------------------------------------

    def _fast_decimal(self, cell: object, *, positive: bool) -> Decimal | None:
        """A prepared REAL cell's decimal; None when it needs the full check."""
        if type(cell) is not float:
            return None
        if positive and not cell > 0:
            return None
        return self.reals.cached(cell)

    def _fast_time(self, cell: object) -> datetime | None:
        if type(cell) is not str:
            return None
        try:
            return self._timestamp(cell)
        except Invalid:
            return None

    def _fast_trade(self, row: Row) -> LegacyTrade | None:
        """The common, valid row without per-cell bookkeeping; None sends it to the full
        checks. Every condition here is at least as strict as the full check's."""
        (
            _rowid,
            legacy_id,
            hash_cell,
            log_cell,
            symbol_cell,
            amount_cell,
            direction_cell,
            price_cell,
            created_cell,
            block_ts_cell,
            gas_cell,
            gas_price_cell,
            pyth_price_cell,
            pyth_conf_cell,
            pyth_expo_cell,
            pyth_time_cell,
            block_number_cell,
        ) = row
        if type(legacy_id) is not int or legacy_id <= 0:
            return None
        if type(hash_cell) is not str or not _TX_HASH.match(hash_cell):
            return None
        if type(log_cell) is not int or log_cell < 0 or log_cell > I64_MAX:
            return None
        symbols = self._symbols.get(symbol_cell) if type(symbol_cell) is str else None
        if symbols is None:
            try:
                symbols = tokenized_symbol(symbol_cell)
            except Invalid:
                return None
            self._symbols[str(symbol_cell)] = symbols
        side = _DIRECTIONS.get(direction_cell) if type(direction_cell) is str else None
        amount = self._fast_decimal(amount_cell, positive=True)
        price = self._fast_decimal(price_cell, positive=True)
        if side is None or amount is None or price is None:
            return None
        created = None if created_cell is None else self._fast_time(created_cell)
        block_ts = None if block_ts_cell is None else self._fast_time(block_ts_cell)
        if (created is None and created_cell is not None) or (
            block_ts is None and block_ts_cell is not None
        ):
            return None
        if created is None and block_ts is None:
            return None
        for count in (gas_cell, gas_price_cell, block_number_cell):
            if count is not None and (type(count) is not int or not 0 <= count <= I64_MAX):
                return None
        pyth_price = pyth_conf = None
        if pyth_price_cell is not None:
            pyth_price = self._fast_decimal(pyth_price_cell, positive=False)
            if pyth_price is None:
                return None
        if pyth_conf_cell is not None:
            if type(pyth_conf_cell) is not float or pyth_conf_cell < 0:
                return None
            pyth_conf = self.reals.cached(pyth_conf_cell)
            if pyth_conf is None:
                return None
        if pyth_expo_cell is not None and (
            type(pyth_expo_cell) is not int or not I32_MIN <= pyth_expo_cell <= I32_MAX
        ):
            return None
        pyth_time = None
        if pyth_time_cell is not None:
            pyth_time = self._fast_time(pyth_time_cell)
            if pyth_time is None:
                return None
        return LegacyTrade(
            legacy_id=legacy_id,
            tx_hash=hash_cell.lower(),
            log_index=log_cell,
            symbol=symbols[0],
            base_symbol=symbols[1],
            amount=amount,
            direction=side,
            price_usdc=price,
            created_at=created,
            block_timestamp=block_ts,
            # checked above: None or an int in range
            block_number=cast(int | None, block_number_cell),
            gas_used=cast(int | None, gas_cell),
            effective_gas_price=cast(int | None, gas_price_cell),
            pyth_price=pyth_price,
            pyth_confidence=pyth_conf,
            pyth_exponent=pyth_expo_cell,
            pyth_publish_time=pyth_time,
        )

    def trades(self, rows: list[Row]) -> list[LegacyTrade]:
        table = legacy.ONCHAIN_TRADES
        self.prepare_reals(rows, (5, 7, 12, 13))
        seen: dict[str, int] = {}
        out: list[LegacyTrade] = []
        cell = self._cell
        for row in rows:
            fast = self._fast_trade(row)
            if fast is not None:
                key = fast.aggregate_id
                if key not in seen:
                    seen[key] = fast.legacy_id
                    out.append(fast)
                    continue
            (
                rowid,
                legacy_id,
                hash_cell,
                log_cell,
                symbol_cell,
                amount_cell,
                direction_cell,
                price_cell,
                created_cell,
                block_ts_cell,
                gas_cell,
                gas_price_cell,
                pyth_price_cell,
                pyth_conf_cell,
                pyth_expo_cell,
                pyth_time_cell,
                block_number_cell,
            ) = row
            before = self.problems.total
            name = f"id={legacy_id}" if isinstance(legacy_id, int) else f"rowid={rowid}"
            the_id = cell(table, name, "id", legacy_id, positive_int)
            the_hash = cell(table, name, "tx_hash", hash_cell, tx_hash)
            the_log = cell(table, name, "log_index", log_cell, non_negative_int)
            symbols = cell(table, name, "symbol", symbol_cell, tokenized_symbol)
            amount = self._real(table, name, "amount", amount_cell, allow="positive")
            side = cell(table, name, "direction", direction_cell, direction)
            price = self._real(table, name, "price_usdc", price_cell, allow="positive")
            created = cell(table, name, "created_at", created_cell, self._optional_timestamp)
            block_ts = cell(table, name, "block_timestamp", block_ts_cell, self._optional_timestamp)
            if created_cell is None and block_ts_cell is None:
                self.problems.add(
                    table,
                    name,
                    "created_at",
                    "NULL",
                    "NULL in a required column (block_timestamp is NULL too, so the trade "
                    "has no time)",
                )
            gas = cell(table, name, "gas_used", gas_cell, lambda v: optional(non_negative_int, v))
            gas_price = cell(
                table,
                name,
                "effective_gas_price",
                gas_price_cell,
                lambda v: optional(non_negative_int, v),
            )
            pyth_price = (
                None
                if pyth_price_cell is None
                else self._real(table, name, "pyth_price", pyth_price_cell)
            )
            pyth_conf = (
                None
                if pyth_conf_cell is None
                else self._real(
                    table, name, "pyth_confidence", pyth_conf_cell, allow="non_negative"
                )
            )
            pyth_expo = cell(
                table,
                name,
                "pyth_exponent",
                pyth_expo_cell,
                lambda v: optional(_i32, v),
            )
            pyth_time = cell(
                table,
                name,
                "pyth_publish_time",
                pyth_time_cell,
                self._optional_timestamp,
            )
            block_number = cell(
                "event_queue",
                f"of {table} {name}",
                "block_number",
                block_number_cell,
                lambda v: optional(non_negative_int, v),
            )
            if self.problems.total != before:
                continue
            assert the_id is not None and the_hash is not None and the_log is not None
            assert symbols is not None and amount is not None and side is not None
            assert price is not None
            key = f"{the_hash}:{the_log}"
            if key in seen:
                self.problems.add(
                    table,
                    name,
                    "tx_hash",
                    render(hash_cell),
                    f"duplicate trade: row id={seen[key]} has the same transaction hash "
                    "and log index",
                )
                continue
            seen[key] = the_id
            out.append(
                LegacyTrade(
                    legacy_id=the_id,
                    tx_hash=the_hash,
                    log_index=the_log,
                    symbol=symbols[0],
                    base_symbol=symbols[1],
                    amount=amount,
                    direction=side,
                    price_usdc=price,
                    created_at=created,
                    block_timestamp=block_ts,
                    block_number=block_number,
                    gas_used=gas,
                    effective_gas_price=gas_price,
                    pyth_price=pyth_price,
                    pyth_confidence=pyth_conf,
                    pyth_exponent=pyth_expo,
                    pyth_publish_time=pyth_time,
                )
            )
        return out

    # -- offchain_trades / schwab_executions -----------------------------------------

    def orders(self, rows: list[Row]) -> list[LegacyOrder]:
        table = self.layout.offchain_table
        has_broker = self.layout.offchain.has("broker")
        out: list[LegacyOrder] = []
        cell = self._cell
        for row in rows:
            (
                rowid,
                legacy_id,
                symbol_cell,
                shares_cell,
                direction_cell,
                price_cell,
                status_cell,
                executed_cell,
                broker_cell,
                broker_order_cell,
                order_cell,
            ) = row
            before = self.problems.total
            name = f"id={legacy_id}" if isinstance(legacy_id, int) else f"rowid={rowid}"
            the_id = cell(table, name, "id", legacy_id, positive_int)
            symbol = cell(table, name, "symbol", symbol_cell, base_ticker)
            shares = cell(table, name, "shares", shares_cell, _shares)
            side = cell(table, name, "direction", direction_cell, direction)
            price = cell(
                table, name, "price_cents", price_cell, lambda v: optional(non_negative_int, v)
            )
            status = cell(table, name, "status", status_cell, _status)
            executed = cell(table, name, "executed_at", executed_cell, self._optional_timestamp)
            broker = (
                cell(table, name, "broker", broker_cell, _broker) if has_broker else Broker.SCHWAB
            )
            broker_order = cell(
                table,
                name,
                "broker_order_id",
                broker_order_cell,
                lambda v: optional(order_id_text, v),
            )
            order = cell(table, name, "order_id", order_cell, lambda v: optional(order_id_text, v))
            if broker_order is not None and order is not None and broker_order != order:
                self.problems.add(
                    table,
                    name,
                    "order_id",
                    render(order_cell),
                    f"differs from broker_order_id {broker_order!r} (they must name the same "
                    "broker order)",
                )
            if self.problems.total != before:
                continue
            assert the_id is not None and symbol is not None and shares is not None
            assert side is not None and status is not None
            order_ref = broker_order if broker_order is not None else order
            id_column = "broker_order_id" if has_broker else "order_id"
            rule = _status_rule(status, order_ref, price, executed)
            if rule is not None:
                column, reason = rule
                raw = {"price_cents": price_cell, "executed_at": executed_cell}.get(column)
                if column == "order_id":
                    column = id_column
                self.problems.add(table, name, column, render(raw), reason)
                continue
            assert broker is not None
            out.append(
                LegacyOrder(
                    legacy_id=the_id,
                    symbol=symbol,
                    shares=shares,
                    direction=side,
                    broker=broker,
                    broker_order_id=order_ref,
                    price_cents=price,
                    status=status,
                    executed_at=executed,
                )
            )
        return out

    # -- trade_accumulators ---------------------------------------------------------

    def positions(self, rows: list[Row], orders: list[LegacyOrder]) -> list[LegacyPosition]:
        table = legacy.TRADE_ACCUMULATORS
        has_net = self.layout.accumulators.has("net_position")
        by_id = {o.legacy_id: o for o in orders}
        self.prepare_reals(rows, (2, 3, 6))
        out: list[LegacyPosition] = []
        cell = self._cell
        for row in rows:
            rowid, symbol_cell, long_cell, short_cell, pending_cell, updated_cell, net_cell = row
            before = self.problems.total
            name = (
                f"symbol={symbol_cell!r}"
                if isinstance(symbol_cell, str) and symbol_cell
                else f"rowid={rowid}"
            )
            symbol = cell(table, name, "symbol", symbol_cell, base_ticker)
            long_ = self._real(table, name, "accumulated_long", long_cell, allow="non_negative")
            short = self._real(table, name, "accumulated_short", short_cell, allow="non_negative")
            net = self._real(table, name, "net_position", net_cell) if has_net else None
            pending = cell(
                table,
                name,
                "pending_execution_id",
                pending_cell,
                lambda v: optional(positive_int, v),
            )
            updated = cell(table, name, "last_updated", updated_cell, self._timestamp)
            if self.problems.total != before:
                continue
            assert symbol is not None and long_ is not None and short is not None
            assert updated is not None
            if pending is not None:
                reason = _pending_problem(symbol, pending, by_id, self.layout.offchain_table)
                if reason is not None:
                    self.problems.add(table, name, "pending_execution_id", str(pending), reason)
                    continue
            out.append(
                LegacyPosition(
                    symbol=symbol,
                    net_position=net,
                    accumulated_long=long_,
                    accumulated_short=short,
                    pending_execution_id=pending,
                    last_updated=updated,
                )
            )
        return out

    # -- schwab_auth ----------------------------------------------------------------

    def auth(self, rows: list[Row]) -> tuple[LegacyAuth | None, list[str]]:
        """The token row, or None; plaintext-era rows are skipped with a note."""
        table = legacy.SCHWAB_AUTH
        notes: list[str] = []
        if not rows:
            return None, notes
        if not self.layout.auth.has("encryption_version"):
            notes.append(
                "schwab_auth predates token encryption (no encryption_version column): its "
                "plaintext tokens are not imported; run `hedgebot auth schwab` afterwards"
            )
            return None, notes
        if len(rows) > 1:
            ids = ", ".join(render(r[1]) for r in rows)
            self.problems.add(
                table,
                f"id={render(rows[1][1])}",
                "id",
                ids,
                "schwab_auth must hold a single row (id = 1)",
            )
            return None, notes
        (rowid, auth_id, access_cell, access_at_cell, refresh_cell, refresh_at_cell, version) = (
            rows[0]
        )
        name = f"id={auth_id}" if isinstance(auth_id, int) else f"rowid={rowid}"
        before = self.problems.total
        if auth_id != 1:
            self.problems.add(table, name, "id", render(auth_id), "the singleton row has id = 1")
        access = self._secret(table, name, "access_token", access_cell)
        refresh = self._secret(table, name, "refresh_token", refresh_cell)
        access_at = self._cell(
            table, name, "access_token_fetched_at", access_at_cell, self._timestamp
        )
        refresh_at = self._cell(
            table, name, "refresh_token_fetched_at", refresh_at_cell, self._timestamp
        )
        self._cell(table, name, "encryption_version", version, _encryption_version)
        if self.problems.total != before:
            return None, notes
        assert access is not None and refresh is not None
        assert access_at is not None and refresh_at is not None
        return LegacyAuth(access, access_at, refresh, refresh_at), notes

    def _secret(self, table: str, row: str, column: str, value: object) -> bytes | None:
        try:
            return token_hex(value)
        except Invalid as exc:
            self.problems.add(table, row, column, _redacted(value), str(exc))
            return None


def _i32(value: object) -> int:
    number = integer(value)
    if not I32_MIN <= number <= I32_MAX:
        raise Invalid("out of the 32-bit range of a Pyth exponent")
    return number


def _shares(value: object) -> int:
    value = required(value)
    if isinstance(value, float) and not value.is_integer():
        raise Invalid("not a whole number of shares")
    shares = integer(value)
    if shares <= 0:
        raise Invalid("must be greater than zero")
    return shares


def _status(value: object) -> str:
    status = text(value)
    if status not in OrderStatus.ALL:
        raise Invalid("unknown status (expected PENDING, SUBMITTED, FILLED or FAILED)")
    return status


def _broker(value: object) -> Broker:
    try:
        return Broker.from_legacy(text(value))
    except ValueError:
        raise Invalid("unknown broker (expected 'schwab', 'alpaca' or 'dry_run')") from None


def _encryption_version(value: object) -> int:
    version = integer(value)
    if version != 1:
        raise Invalid("unknown encryption_version (only 1 = AES-256-GCM exists)")
    return version


def _status_rule(
    status: str, order_ref: str | None, price: int | None, executed: datetime | None
) -> tuple[str, str] | None:
    """The legacy table's per-status invariant; (column, reason) when broken."""
    if status in (OrderStatus.SUBMITTED, OrderStatus.FILLED) and order_ref is None:
        return "order_id", f"a {status} order must have a broker order id"
    if status == OrderStatus.FILLED:
        if price is None:
            return "price_cents", "a FILLED order must have a fill price"
        if price == 0:
            return "price_cents", "a FILLED order cannot have a fill price of zero"
        if executed is None:
            return "executed_at", "a FILLED order must have an execution time"
    if status == OrderStatus.FAILED and executed is None:
        return "executed_at", "a FAILED order must have the time it failed"
    if status in (OrderStatus.PENDING, OrderStatus.SUBMITTED) and executed is not None:
        return "executed_at", f"a {status} order cannot have an execution time"
    return None


def _pending_problem(
    symbol: str, pending: int, orders: dict[int, LegacyOrder], table: str
) -> str | None:
    order = orders.get(pending)
    if order is None:
        return f"no {table} row has id {pending}"
    if order.symbol != symbol:
        return f"{table} row id={pending} is for {order.symbol}, not {symbol}"
    if order.status not in (OrderStatus.PENDING, OrderStatus.SUBMITTED):
        return (
            f"{table} row id={pending} is {order.status}; a pending execution must be "
            "PENDING or SUBMITTED"
        )
    return None
