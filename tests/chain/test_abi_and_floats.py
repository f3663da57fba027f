"""Topic hashes against the published values; Rain Float decoding, exact in Decimal."""

from __future__ import annotations

from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgebot.chain import abi
from hedgebot.chain.decoding import MalformedLog, RawLog
from hedgebot.chain.floats import FloatError, decode_float, encode_decimal, pack, unpack

# reference/bot-behaviour.md §1.1
PUBLISHED_TOPICS = {
    abi.TAKE_ORDER_V2: "0xdb6a7f7c95db17afba67ed8b030afd2d087b130ec173b9f15ccde01097dd9353",
    abi.CLEAR_V2: "0x692ee69af2843c70772be93470669f3c73e583316a047b6bfefdae5629de37ce",
    abi.AFTER_CLEAR: "0x3f20e55919cca701abb2a40ab72542b25ea7eed63a50f979dd2cd3231e5f488d",
    abi.TAKE_ORDER_V3: "0x194f1feb3b4d7076a2c272e774e792e0c48bb8c7aa1a9a3671c1cd6da9e6b4c1",
    abi.CLEAR_V3: "0x6fa7f4c28634b0a9d6831401c45ae468195fb63aed07308935c35374ff5d9e39",
    abi.AFTER_CLEAR_V2: "0xd9fa84dd790c969daa5c33d8050dc06b4a9b59d5b42e2be5f5e8ae20447f618d",
}


@pytest.mark.parametrize("event", list(PUBLISHED_TOPICS), ids=lambda e: e.name)
def test_topic0_of_each_event_is_the_published_hash(event: abi.EventAbi) -> None:
    assert event.topic0_hex == PUBLISHED_TOPICS[event]


def test_each_version_watches_its_three_events() -> None:
    assert abi.topics_for(abi.OrderbookVersion.V5) == [
        PUBLISHED_TOPICS[abi.TAKE_ORDER_V3],
        PUBLISHED_TOPICS[abi.CLEAR_V3],
        PUBLISHED_TOPICS[abi.AFTER_CLEAR_V2],
    ]
    assert set(abi.topics_for(abi.OrderbookVersion.V4)) == {
        PUBLISHED_TOPICS[abi.TAKE_ORDER_V2],
        PUBLISHED_TOPICS[abi.CLEAR_V2],
        PUBLISHED_TOPICS[abi.AFTER_CLEAR],
    }


def test_pyth_selectors_are_the_four_price_getters() -> None:
    assert {s.hex() for s in abi.PYTH_PRICE_SELECTORS} == {
        "a4ae35e0",
        "96834ad3",
        "711a2e28",
        "9474f45b",
    }


WIDE = Context(prec=200)

# -- Float ------------------------------------------------------------------------------------


def test_production_float_two_shares_decodes_to_exactly_two() -> None:
    raw = bytes.fromhex("ffffffee" + "00" * 20 + "1bc16d674ec80000")
    assert unpack(raw) == (2 * 10**18, -18)
    assert decode_float(raw) == Decimal(2)


def test_production_float_usdc_amount_decodes_to_160_15507752() -> None:
    raw = bytes.fromhex("ffffffe5" + "00" * 15 + "02057d2cd516a29b6174400000")
    assert decode_float(raw) == Decimal("160.15507752")


def test_negative_coefficient_is_twos_complement_in_224_bits() -> None:
    raw = pack(-5, -1)
    assert raw[:4] == bytes.fromhex("ffffffff")
    assert raw[4:] == ((1 << 224) - 5).to_bytes(28, "big")
    assert decode_float(raw) == Decimal("-0.5")


def test_zero_float_is_zero() -> None:
    assert decode_float(b"\x00" * 32) == 0


def test_decimal_with_more_digits_than_int224_holds_cannot_be_packed() -> None:
    with pytest.raises(FloatError, match="int224"):
        encode_decimal(Decimal("1" * 70))


def test_float_of_the_wrong_length_is_an_error() -> None:
    with pytest.raises(FloatError, match="32 bytes"):
        decode_float(b"\x00" * 31)


def test_float_far_outside_token_amounts_is_an_error() -> None:
    with pytest.raises(FloatError, match="range"):
        decode_float(pack(1, -1000))


@given(
    coefficient=st.integers(min_value=-(10**60), max_value=10**60),
    exponent=st.integers(min_value=-60, max_value=10),
)
def test_float_decoding_is_exact_for_any_coefficient_and_exponent(
    coefficient: int, exponent: int
) -> None:
    raw = pack(coefficient, exponent)
    assert unpack(raw) == (coefficient, exponent)
    assert decode_float(raw) == Decimal(coefficient).scaleb(exponent, WIDE)


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30, places=30
    )
)
def test_decimal_round_trips_through_a_float(value: Decimal) -> None:
    assert decode_float(encode_decimal(value)) == value


# -- raw logs ------------------------------------------------------------------------------------


def rpc_log(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "address": "0x52CEB8eBEf648744fFDDE89F7Bc9C3aC35944775",
        "topics": [abi.TAKE_ORDER_V3.topic0_hex],
        "data": "0x00",
        "blockNumber": "0x10",
        "transactionHash": "0x" + "AB" * 32,
        "logIndex": "0x3",
        "blockTimestamp": "0x6751a4c0",
        "removed": False,
    }
    entry.update(overrides)
    return entry


def test_rpc_log_is_parsed_with_lowercase_hashes_and_integer_quantities() -> None:
    log = RawLog.from_rpc(rpc_log())
    assert log.address == "0x52ceb8ebef648744ffdde89f7bc9c3ac35944775"
    assert log.tx_hash == "0x" + "ab" * 32
    assert (log.block_number, log.log_index, log.block_timestamp) == (16, 3, 0x6751A4C0)
    assert log.topics == (abi.TAKE_ORDER_V3.topic0,)


def test_rpc_log_without_block_timestamp_has_none() -> None:
    entry = rpc_log()
    del entry["blockTimestamp"]
    assert RawLog.from_rpc(entry).block_timestamp is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"transactionHash": None},
        {"transactionHash": "0x1234"},
        {"logIndex": None},
        {"blockNumber": "sixteen"},
        {"data": "0xzz"},
        {"blockTimestamp": hex(10**15)},
    ],
)
def test_rpc_log_with_a_missing_or_bad_field_is_malformed(overrides: dict[str, object]) -> None:
    with pytest.raises(MalformedLog):
        RawLog.from_rpc(rpc_log(**overrides))
