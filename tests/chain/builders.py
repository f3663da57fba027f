"""Raw orderbook logs for unit tests, ABI-encoded like the real contracts emit them.

The integration tests (`test_follower_anvil.py`) check the same layouts against logs
emitted by Solidity contracts compiled with solc, so these builders are not the only
witness of the layout.
"""

from __future__ import annotations

from decimal import Decimal

from eth_abi.abi import encode

from hedgebot.chain import abi
from hedgebot.chain.decoding import RawLog
from hedgebot.chain.floats import encode_decimal

OWNER = "0x" + "dd" * 20
STRANGER = "0x" + "ee" * 20
TAKER = "0x" + "cc" * 20
USDC = "0x" + "aa" * 20
AAPL0X = "0x" + "bb" * 20
ORDERBOOK = "0x" + "0b" * 20
ZERO = "0x" + "00" * 20
TX = "0x" + "11" * 32
TIMESTAMP = 1_733_400_000  # 2024-12-05T12:00:00Z

SYMBOLS: dict[str, str | None] = {USDC: "USDC", AAPL0X: "AAPL0x"}

IoV4 = tuple[str, int, int]
IoV5 = tuple[str, bytes]


def io_v4(token: str, decimals: int, vault: int = 1) -> IoV4:
    return (token, decimals, vault)


def io_v5(token: str, vault: int = 1) -> IoV5:
    return (token, vault.to_bytes(32, "big"))


def order(owner: str, inputs: list[object], outputs: list[object]) -> tuple[object, ...]:
    evaluable = (ZERO, ZERO, b"\x01")
    return (owner, evaluable, inputs, outputs, b"\x07" * 32)


def reference_order_v4(owner: str = OWNER) -> tuple[object, ...]:
    """bot-behaviour §1.6 `get_test_order`: [USDC@6, AAPL0x@18] both ways."""
    ios: list[object] = [io_v4(USDC, 6), io_v4(AAPL0X, 18)]
    return order(owner, ios, ios)


def reference_order_v5(owner: str = OWNER) -> tuple[object, ...]:
    ios: list[object] = [io_v5(USDC), io_v5(AAPL0X)]
    return order(owner, ios, ios)


def raw_log(
    event: abi.EventAbi,
    values: list[object],
    *,
    tx: str = TX,
    log_index: int = 0,
    block: int = 100,
    timestamp: int | None = TIMESTAMP,
) -> RawLog:
    return RawLog(
        address=ORDERBOOK,
        topics=(event.topic0,),
        data=encode(list(event.data_types), values),
        block_number=block,
        tx_hash=tx,
        log_index=log_index,
        block_timestamp=timestamp,
    )


def take_order_v4(
    order_value: tuple[object, ...],
    input_index: int,
    output_index: int,
    taker_input: int,
    taker_output: int,
    **kw: object,
) -> RawLog:
    config = (order_value, input_index, output_index, [(TAKER, [b"\x02" * 32], b"\xaa" * 65)])
    return raw_log(abi.TAKE_ORDER_V2, [TAKER, config, taker_input, taker_output], **kw)  # type: ignore[arg-type]


def take_order_v5(
    order_value: tuple[object, ...],
    input_index: int,
    output_index: int,
    taker_input: Decimal | bytes,
    taker_output: Decimal | bytes,
    **kw: object,
) -> RawLog:
    config = (order_value, input_index, output_index, [])
    return raw_log(
        abi.TAKE_ORDER_V3,
        [TAKER, config, _float(taker_input), _float(taker_output)],
        **kw,  # type: ignore[arg-type]
    )


def clear_v4(
    alice: tuple[object, ...],
    bob: tuple[object, ...],
    indexes: tuple[int, int, int, int],
    **kw: object,
) -> RawLog:
    config = (*indexes, 11, 12)
    return raw_log(abi.CLEAR_V2, [TAKER, alice, bob, config], **kw)  # type: ignore[arg-type]


def after_clear_v4(
    alice_output: int, bob_output: int, alice_input: int, bob_input: int, **kw: object
) -> RawLog:
    change = (alice_output, bob_output, alice_input, bob_input)
    return raw_log(abi.AFTER_CLEAR, [TAKER, change], **kw)  # type: ignore[arg-type]


def clear_v5(
    alice: tuple[object, ...],
    bob: tuple[object, ...],
    indexes: tuple[int, int, int, int],
    **kw: object,
) -> RawLog:
    config = (*indexes, b"\x0b" * 32, b"\x0c" * 32)
    return raw_log(abi.CLEAR_V3, [TAKER, alice, bob, config], **kw)  # type: ignore[arg-type]


def after_clear_v5(
    alice_output: Decimal,
    bob_output: Decimal,
    alice_input: Decimal,
    bob_input: Decimal,
    **kw: object,
) -> RawLog:
    change = tuple(_float(v) for v in (alice_output, bob_output, alice_input, bob_input))
    return raw_log(abi.AFTER_CLEAR_V2, [TAKER, change], **kw)  # type: ignore[arg-type]


def _float(value: Decimal | bytes) -> bytes:
    return value if isinstance(value, bytes) else encode_decimal(value)
