"""The import's ``OnChainTradeEvent::Migrated`` rows, encoded in one formatting step.

An import encodes one ``Migrated`` event per legacy trade (100,000s). The codec
(`hedgebot.eventstore.codec`) encodes any event type field by field; `TradeEventRows`
writes this one type's payload as one f-string, with the codec's own scalar encoders
(`encode_decimal`, `encode_datetime`, its JSON string quoting) and a text remembered per
timestamp (the import's single ``migrated_at``, a trade's times). The codec stays the
definition of the wire format (SPEC §2.3/§3.3):

* the layout of a payload (key order, optional keys left out, nested structs) only
  depends on which optional fields are None and on the legacy NULL markers: its
  *shape*. The first event of every shape is also encoded by the codec
  (`encode_events`, the row the command handler would append) and compared byte for
  byte; a shape that differs (the event type changed and this module was not
  updated) is logged and left to the codec for the rest of the import;
* values are written by the codec's own functions, so a value the codec refuses is
  refused with the codec's error; any value of an unexpected type goes to the codec.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring

from hedgebot.domain import Direction
from hedgebot.eventstore import NewEvent, Tagged, codec, encode_events
from hedgebot.onchain_trade.events import ONCHAIN_TRADE_EVENTS, LegacyPyth, Migrated, PythPrice
from hedgebot.onchain_trade.state import ONCHAIN_TRADE

log = logging.getLogger(__name__)

_DIRECTIONS = {member: codec.dumps(member.value) for member in Direction}


class _Unsupported(Exception):
    """A value of a type this module does not write (the codec encodes the event)."""


def _dec(value: Decimal) -> str:
    if type(value) is not Decimal:
        raise _Unsupported
    return '"' + codec.encode_decimal(value) + '"'


def _opt_dec(value: Decimal | None) -> str:
    return "null" if value is None else _dec(value)


def _int(value: int) -> str:
    if type(value) is not int:
        raise _Unsupported
    return int.__repr__(value)


def _opt_int(value: int | None) -> str:
    return "null" if value is None else _int(value)


class TradeEventRows:
    """Event rows of ``OnChainTradeEvent::Migrated`` for the import."""

    def __init__(self) -> None:
        self._times: dict[datetime, str] = {}
        self._shapes: dict[tuple[object, ...], bool] = {}
        #: shapes found to differ from the codec (encoded by the codec since)
        self.mismatches = 0
        self._event_type = ONCHAIN_TRADE_EVENTS.type_of(Migrated)
        self._version = ONCHAIN_TRADE_EVENTS.version

    def _time(self, value: datetime) -> str:
        if type(value) is not datetime:
            raise _Unsupported
        text = self._times.get(value)
        if text is None:
            text = self._times[value] = '"' + codec.encode_datetime(value) + '"'
        return text

    def _opt_time(self, value: datetime | None) -> str:
        return "null" if value is None else self._time(value)

    @staticmethod
    def shape(event: Migrated) -> tuple[object, ...]:
        return migrated_shape(event)

    def payload(self, event: Migrated) -> str:
        """The codec's JSON text of ``event`` (raises `_Unsupported` for odd values)."""
        pyth = event.pyth_price
        if pyth is None:
            pyth_text = "null"
        elif type(pyth) is PythPrice:
            pyth_text = (
                f'{{"value":{_dec(pyth.value)},"expo":{_int(pyth.expo)},'
                f'"conf":{_dec(pyth.conf)},"publish_time":{self._time(pyth.publish_time)}}}'
            )
        else:
            raise _Unsupported
        symbol = event.symbol
        direction = _DIRECTIONS.get(event.direction)
        if type(symbol) is not str or direction is None:
            raise _Unsupported
        text = (
            f'{{"Migrated":{{"symbol":{encode_basestring(symbol)},"amount":{_dec(event.amount)},'
            f'"direction":{direction},"price_usdc":{_dec(event.price_usdc)},'
            f'"block_number":{_int(event.block_number)},'
            f'"block_timestamp":{self._time(event.block_timestamp)},'
            f'"gas_used":{_opt_int(event.gas_used)},"pyth_price":{pyth_text},'
            f'"migrated_at":{self._time(event.migrated_at)}'
        )
        if event.legacy_id is not None:
            text += f',"legacy_id":{_int(event.legacy_id)}'
        if event.created_at is not None:
            text += f',"created_at":{self._time(event.created_at)}'
        if event.effective_gas_price is not None:
            text += f',"effective_gas_price":{_int(event.effective_gas_price)}'
        legacy = event.legacy_pyth
        if legacy is not None:
            if type(legacy) is not LegacyPyth:
                raise _Unsupported
            text += (
                f',"legacy_pyth":{{"price":{_opt_dec(legacy.price)},'
                f'"confidence":{_opt_dec(legacy.confidence)},'
                f'"exponent":{_opt_int(legacy.exponent)},'
                f'"publish_time":{self._opt_time(legacy.publish_time)}}}'
            )
        nulls = event.legacy_nulls
        if nulls is not None:
            if type(nulls) is not tuple or any(type(n) is not str for n in nulls):
                raise _Unsupported
            text += ',"legacy_nulls":[' + ",".join(map(encode_basestring, nulls)) + "]"
        return text + "}}"

    def rows(self, aggregate_id: str, events: Sequence[Tagged]) -> list[NewEvent]:
        """The rows `encode_events` gives for an aggregate's decided events."""
        if len(events) != 1 or type(events[0]) is not Migrated:
            return encode_events(ONCHAIN_TRADE, aggregate_id, events)
        event = events[0]
        shape = self.shape(event)
        usable = self._shapes.get(shape)
        if usable is False:
            return encode_events(ONCHAIN_TRADE, aggregate_id, events)
        try:
            text = self.payload(event)
        except _Unsupported:
            return encode_events(ONCHAIN_TRADE, aggregate_id, events)
        row = NewEvent(
            ONCHAIN_TRADE.aggregate_type,
            aggregate_id,
            1,
            self._event_type,
            self._version,
            text,
            "{}",
        )
        if usable is None:
            expected = encode_events(ONCHAIN_TRADE, aggregate_id, events)
            usable = self._shapes[shape] = expected == [row]
            if not usable:
                self.mismatches += 1
                log.warning(
                    "migrate_event_text_mismatch aggregate_id=%s: this payload shape is "
                    "encoded by the codec instead",
                    aggregate_id,
                )
                return expected
        return [row]


def migrated_shape(event: Migrated) -> tuple[object, ...]:
    """Which optional parts of a Migrated trade are present: what decides the layout of
    its payload (and, with the symbol's form, of its view row) beyond plain values."""
    legacy = event.legacy_pyth
    return (
        event.gas_used is None,
        event.pyth_price is None,
        event.legacy_id is None,
        event.created_at is None,
        event.effective_gas_price is None,
        None
        if legacy is None
        else (
            legacy.price is None,
            legacy.confidence is None,
            legacy.exponent is None,
            legacy.publish_time is None,
        ),
        event.legacy_nulls,
    )
