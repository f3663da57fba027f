"""Raindex orderbook event layouts (IOrderBookV5 and IOrderBookV4) and Pyth selectors.

The layouts follow ``rain.orderbook.interface`` (reference/bot-behaviour.md §1.1). No
event parameter is ``indexed``, so topic0 is the only topic and everything else is in
the log's data, decoded with `eth_abi` from the type strings below. Topic hashes are
computed from the canonical signatures at import time (pure, no I/O); the tests assert
them against the published values.

V4 amounts are ``uint256`` in token units (scaled by the IO's ``decimals``); V5 amounts
are Rain ``Float`` (``bytes32``, see `hedgebot.chain.floats`) and its ``IOV2`` has no
decimals field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from eth_utils.crypto import keccak

# -- shared structs -----------------------------------------------------------

#: EvaluableV3 / EvaluableV4: (interpreter, store, bytecode)
EVALUABLE = "(address,address,bytes)"
#: SignedContextV1: (signer, context, signature)
SIGNED_CONTEXT = "(address,bytes32[],bytes)"

# -- IOrderBookV4 -------------------------------------------------------------

#: IO (from IOrderBookV2): (token, decimals, vaultId)
IO_V4 = "(address,uint8,uint256)"
#: OrderV3: (owner, evaluable, validInputs, validOutputs, nonce)
ORDER_V3 = f"(address,{EVALUABLE},{IO_V4}[],{IO_V4}[],bytes32)"
#: TakeOrderConfigV3: (order, inputIOIndex, outputIOIndex, signedContext)
TAKE_ORDER_CONFIG_V3 = f"({ORDER_V3},uint256,uint256,{SIGNED_CONTEXT}[])"
#: ClearConfig: alice in/out, bob in/out IO indexes, alice/bob bounty vault ids
CLEAR_CONFIG = "(uint256,uint256,uint256,uint256,uint256,uint256)"
#: ClearStateChange: (aliceOutput, bobOutput, aliceInput, bobInput)
CLEAR_STATE_CHANGE = "(uint256,uint256,uint256,uint256)"

# -- IOrderBookV5 -------------------------------------------------------------

#: IOV2: (token, vaultId) — no decimals
IO_V5 = "(address,bytes32)"
#: OrderV4: (owner, evaluable, validInputs, validOutputs, nonce)
ORDER_V4 = f"(address,{EVALUABLE},{IO_V5}[],{IO_V5}[],bytes32)"
#: TakeOrderConfigV4: (order, inputIOIndex, outputIOIndex, signedContext)
TAKE_ORDER_CONFIG_V4 = f"({ORDER_V4},uint256,uint256,{SIGNED_CONTEXT}[])"
#: ClearConfigV2: 4 × IO index, then alice/bob bounty vault ids as bytes32
CLEAR_CONFIG_V2 = "(uint256,uint256,uint256,uint256,bytes32,bytes32)"
#: ClearStateChangeV2: (aliceOutput, bobOutput, aliceInput, bobInput) as Float
CLEAR_STATE_CHANGE_V2 = "(bytes32,bytes32,bytes32,bytes32)"


class EventKind(Enum):
    TAKE_ORDER = "take_order"
    CLEAR = "clear"
    AFTER_CLEAR = "after_clear"


class OrderbookVersion(Enum):
    V4 = "v4"
    V5 = "v5"


@dataclass(frozen=True)
class EventAbi:
    """One event: its name, kind, orderbook version and the types of its data."""

    name: str
    kind: EventKind
    version: OrderbookVersion
    data_types: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.data_types)})"

    @property
    def topic0(self) -> bytes:
        return keccak(text=self.signature)

    @property
    def topic0_hex(self) -> str:
        return "0x" + self.topic0.hex()


TAKE_ORDER_V2 = EventAbi(
    "TakeOrderV2",
    EventKind.TAKE_ORDER,
    OrderbookVersion.V4,
    ("address", TAKE_ORDER_CONFIG_V3, "uint256", "uint256"),
)
CLEAR_V2 = EventAbi(
    "ClearV2",
    EventKind.CLEAR,
    OrderbookVersion.V4,
    ("address", ORDER_V3, ORDER_V3, CLEAR_CONFIG),
)
AFTER_CLEAR = EventAbi(
    "AfterClear",
    EventKind.AFTER_CLEAR,
    OrderbookVersion.V4,
    ("address", CLEAR_STATE_CHANGE),
)
TAKE_ORDER_V3 = EventAbi(
    "TakeOrderV3",
    EventKind.TAKE_ORDER,
    OrderbookVersion.V5,
    ("address", TAKE_ORDER_CONFIG_V4, "bytes32", "bytes32"),
)
CLEAR_V3 = EventAbi(
    "ClearV3",
    EventKind.CLEAR,
    OrderbookVersion.V5,
    ("address", ORDER_V4, ORDER_V4, CLEAR_CONFIG_V2),
)
AFTER_CLEAR_V2 = EventAbi(
    "AfterClearV2",
    EventKind.AFTER_CLEAR,
    OrderbookVersion.V5,
    ("address", CLEAR_STATE_CHANGE_V2),
)

EVENTS_BY_VERSION: dict[OrderbookVersion, tuple[EventAbi, ...]] = {
    OrderbookVersion.V4: (TAKE_ORDER_V2, CLEAR_V2, AFTER_CLEAR),
    OrderbookVersion.V5: (TAKE_ORDER_V3, CLEAR_V3, AFTER_CLEAR_V2),
}


def topics_for(version: OrderbookVersion) -> list[str]:
    """The topic0 values (0x hex) of the three events a follower of ``version`` watches."""
    return [event.topic0_hex for event in EVENTS_BY_VERSION[version]]


def events_by_topic(version: OrderbookVersion) -> dict[bytes, EventAbi]:
    return {event.topic0: event for event in EVENTS_BY_VERSION[version]}


# -- ERC-20 and Pyth ------------------------------------------------------------

ERC20_SYMBOL_SELECTOR = keccak(text="symbol()")[:4]

#: Pyth getters whose return value is ``Price(int64 price, uint64 conf, int32 expo,
#: uint256 publishTime)``; the first argument of each is the bytes32 feed id.
PYTH_PRICE_SELECTORS: dict[bytes, str] = {
    keccak(text=sig)[:4]: sig
    for sig in (
        "getPriceNoOlderThan(bytes32,uint256)",
        "getPriceUnsafe(bytes32)",
        "getEmaPriceNoOlderThan(bytes32,uint256)",
        "getEmaPriceUnsafe(bytes32)",
    )
}
PYTH_PRICE_TYPES = ("int64", "uint64", "int32", "uint256")
