"""One raw orderbook log → a typed event, with eth_abi directly (no web3 contract objects).

Every way a log can be unusable raises `MalformedLog` (a `ValueError`) with a message
that says what was wrong; the ingest pipeline turns it into a typed skip and a log
line, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_abi import decoding as abi_decoding
from eth_abi import encoding as abi_encoding
from eth_abi.codec import ABICodec
from eth_abi.exceptions import DecodingError
from eth_abi.registry import BaseEquals, registry

from hedgebot.chain.abi import EventAbi, EventKind, OrderbookVersion, events_by_topic
from hedgebot.chain.floats import FloatError, decode_float

#: Latest block timestamp accepted (year 9999): anything later is garbage, not a block.
MAX_TIMESTAMP = 253_402_300_799


class MalformedLog(ValueError):
    """A log that cannot be decoded as the event its topic announces."""


class UnknownTopic(MalformedLog):
    """A log whose topic0 is none of the watched orderbook events."""


@dataclass(frozen=True, slots=True)
class RawLog:
    """The fields of an ``eth_getLogs`` entry that hedgebot uses, parsed."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: str
    log_index: int
    block_timestamp: int | None = None
    removed: bool = False

    @classmethod
    def from_rpc(cls, entry: Mapping[str, Any]) -> RawLog:
        """Parse a JSON-RPC log object; missing or bad fields raise `MalformedLog`."""
        try:
            tx_hash = str(entry["transactionHash"]).lower()
            if len(tx_hash) != 66 or not tx_hash.startswith("0x"):
                raise MalformedLog(f"bad transactionHash {tx_hash!r}")
            int(tx_hash, 16)
            timestamp = entry.get("blockTimestamp")
            seconds = None if timestamp is None else _hex_int(timestamp)
            if seconds is not None and not 0 <= seconds <= MAX_TIMESTAMP:
                raise MalformedLog(f"blockTimestamp {seconds} is out of range")
            return cls(
                address=str(entry["address"]).lower(),
                topics=tuple(_hex_bytes(t) for t in entry.get("topics") or ()),
                data=_hex_bytes(entry.get("data") or "0x"),
                block_number=_hex_int(entry["blockNumber"]),
                tx_hash=tx_hash,
                log_index=_hex_int(entry["logIndex"]),
                block_timestamp=seconds,
                removed=bool(entry.get("removed", False)),
            )
        except MalformedLog:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedLog(f"log is missing or has a bad field: {exc!r}") from None

    @property
    def ordering(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)


def _hex_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise ValueError(f"expected a 0x hex quantity, got {value!r}")


def _hex_bytes(value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"expected 0x hex data, got {value!r}")
    return bytes.fromhex(value[2:])


# -- typed events -----------------------------------------------------------------

#: An amount as it appears in the event: V4 a raw ``uint256`` in token units (scaled by
#: the IO's decimals later, once the IO is known); V5 the exact value of the Float.
Amount = int | Decimal


@dataclass(frozen=True, slots=True)
class IO:
    token: str
    decimals: int | None  # V4 only; V5's IOV2 has no decimals field


@dataclass(frozen=True, slots=True)
class Order:
    owner: str
    valid_inputs: tuple[IO, ...]
    valid_outputs: tuple[IO, ...]


@dataclass(frozen=True, slots=True)
class TakeOrder:
    """``TakeOrderV2``/``V3``. ``taker_input``/``taker_output`` are the event's
    ``input``/``output``: the interface documents them from the taker's side."""

    log: RawLog
    version: OrderbookVersion
    sender: str
    order: Order
    input_io_index: int
    output_io_index: int
    taker_input: Amount
    taker_output: Amount


@dataclass(frozen=True, slots=True)
class Clear:
    log: RawLog
    version: OrderbookVersion
    sender: str
    alice: Order
    bob: Order
    alice_input_io_index: int
    alice_output_io_index: int
    bob_input_io_index: int
    bob_output_io_index: int


@dataclass(frozen=True, slots=True)
class AfterClear:
    """Vault-balance deltas of a clear: each order's output moved out, input moved in."""

    log: RawLog
    version: OrderbookVersion
    sender: str
    alice_output: Amount
    bob_output: Amount
    alice_input: Amount
    bob_input: Amount


OrderbookEvent = TakeOrder | Clear | AfterClear


class LogDecoder:
    """Decodes the logs of one orderbook version."""

    def __init__(self, version: OrderbookVersion) -> None:
        self.version = version
        self._by_topic = events_by_topic(version)

    def decode(self, log: RawLog) -> OrderbookEvent:
        if not log.topics:
            raise UnknownTopic("log has no topics")
        event = self._by_topic.get(log.topics[0])
        if event is None:
            topic = "0x" + log.topics[0].hex()
            raise UnknownTopic(f"topic0 {topic} is not a {self.version.value} orderbook event")
        if len(log.topics) != 1:
            raise MalformedLog(
                f"{event.name} has no indexed fields but the log has {len(log.topics)} topics"
            )
        values = _abi_decode(event, log.data)
        try:
            if event.kind is EventKind.TAKE_ORDER:
                return self._take_order(log, values)
            if event.kind is EventKind.CLEAR:
                return self._clear(log, values)
            return self._after_clear(log, values)
        except FloatError as exc:
            raise MalformedLog(f"{event.name}: {exc}") from None

    def _amount(self, raw: Any) -> Amount:
        if self.version is OrderbookVersion.V5:
            return decode_float(bytes(raw))
        return int(raw)

    def _order(self, raw: Any) -> Order:
        owner, _evaluable, inputs, outputs, _nonce = raw
        return Order(
            owner=str(owner), valid_inputs=self._ios(inputs), valid_outputs=self._ios(outputs)
        )

    def _ios(self, raw: Any) -> tuple[IO, ...]:
        if self.version is OrderbookVersion.V5:
            return tuple(IO(token=str(io[0]), decimals=None) for io in raw)
        return tuple(IO(token=str(io[0]), decimals=int(io[1])) for io in raw)

    def _take_order(self, log: RawLog, values: tuple[Any, ...]) -> TakeOrder:
        sender, config, taker_input, taker_output = values
        order, input_index, output_index, _signed_context = config
        return TakeOrder(
            log=log,
            version=self.version,
            sender=str(sender),
            order=self._order(order),
            input_io_index=int(input_index),
            output_io_index=int(output_index),
            taker_input=self._amount(taker_input),
            taker_output=self._amount(taker_output),
        )

    def _clear(self, log: RawLog, values: tuple[Any, ...]) -> Clear:
        sender, alice, bob, config = values
        return Clear(
            log=log,
            version=self.version,
            sender=str(sender),
            alice=self._order(alice),
            bob=self._order(bob),
            alice_input_io_index=int(config[0]),
            alice_output_io_index=int(config[1]),
            bob_input_io_index=int(config[2]),
            bob_output_io_index=int(config[3]),
        )

    def _after_clear(self, log: RawLog, values: tuple[Any, ...]) -> AfterClear:
        sender, change = values
        alice_output, bob_output, alice_input, bob_input = change
        return AfterClear(
            log=log,
            version=self.version,
            sender=str(sender),
            alice_output=self._amount(alice_output),
            bob_output=self._amount(bob_output),
            alice_input=self._amount(alice_input),
            bob_input=self._amount(bob_input),
        )


class _LowercaseAddressDecoder(abi_decoding.AddressDecoder):
    """Addresses as lowercase ``0x`` hex: eth_abi's default normalises each one through
    several eth_utils conversions, a third of the decoding time of an orderbook event."""

    decoder_fn = staticmethod(lambda data: "0x" + data.hex())  # type: ignore[assignment]


def _codec() -> ABICodec:
    fast = registry.copy()  # type: ignore[no-untyped-call]
    fast.unregister("address")
    fast.register(
        BaseEquals("address"),  # type: ignore[no-untyped-call]
        abi_encoding.AddressEncoder,
        _LowercaseAddressDecoder,
        label="address",
    )
    return ABICodec(fast)


#: eth_abi with the fast address decoder (strict mode: padding and pointers checked)
CODEC = _codec()


def _abi_decode(event: EventAbi, data: bytes) -> tuple[Any, ...]:
    try:
        return tuple(CODEC.decode(list(event.data_types), data))
    except (DecodingError, ValueError, OverflowError, TypeError) as exc:
        raise MalformedLog(f"{event.name} data does not decode: {exc}") from None
