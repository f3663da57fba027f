"""Pyth extraction from call traces, receipt gas, ERC-20 symbol decoding (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import encode

from hedgebot.chain.enrichment import EnrichmentFailed, receipt_gas
from hedgebot.chain.pyth import (
    DEFAULT_FEED_IDS,
    AmbiguousFeed,
    BadPythOutput,
    NoMatchingFeed,
    NoPythCall,
    choose_call,
    decode_price,
    pyth_calls,
    pyth_price_from_trace,
)
from hedgebot.chain.symbols import decode_symbol

PYTH = "0x8250f4aF4B972684F7b336503E2D6dFeDeB1487a"
AAPL = DEFAULT_FEED_IDS["AAPL"]
OTHER = b"\x42" * 32


def price_output(price: int, conf: int, expo: int, publish_time: int) -> str:
    return (
        "0x"
        + encode(["int64", "uint64", "int32", "uint256"], [price, conf, expo, publish_time]).hex()
    )


def frame(
    to: str,
    selector: str,
    feed: bytes,
    output: str | None,
    calls: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "STATICCALL",
        "from": "0x" + "01" * 20,
        "to": to,
        "input": "0x" + selector + feed.hex() + "00" * 32,
        **extra,
    }
    if output is not None:
        data["output"] = output
    if calls:
        data["calls"] = calls
    return data


def root(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"type": "CALL", "to": "0x" + "0b" * 20, "input": "0x1234", "calls": list(calls)}


def test_price_read_deep_in_the_call_tree_is_found_and_decoded() -> None:
    read = frame(PYTH.lower(), "a4ae35e0", AAPL, price_output(18250, 5, -2, 1_733_400_000))
    trace = root({"type": "CALL", "to": "0x" + "0c" * 20, "input": "0x", "calls": [read]})
    price = pyth_price_from_trace(trace, PYTH, "AAPL")
    assert (price.value, price.conf, price.expo) == (Decimal(18250), Decimal(5), -2)
    assert price.price == Decimal("182.50")
    assert price.publish_time == datetime(2024, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("selector", ["a4ae35e0", "96834ad3", "711a2e28", "9474f45b"])
def test_each_price_getter_selector_counts(selector: str) -> None:
    trace = root(frame(PYTH, selector, AAPL, price_output(1, 1, 0, 1)))
    assert len(pyth_calls(trace, PYTH)) == 1


def test_calls_are_listed_depth_first_each_before_its_subcalls() -> None:
    inner = frame(PYTH, "96834ad3", b"\x02" * 32, price_output(2, 0, 0, 1))
    outer = frame(PYTH, "96834ad3", b"\x01" * 32, price_output(1, 0, 0, 1), calls=[inner])
    later = frame(PYTH, "96834ad3", b"\x03" * 32, price_output(3, 0, 0, 1))
    calls = pyth_calls(root(outer, later), PYTH)
    assert [c.feed_id[0] for c in calls] == [1, 2, 3]


def test_frames_that_are_not_price_reads_are_ignored() -> None:
    trace = root(
        frame("0x" + "99" * 20, "a4ae35e0", AAPL, price_output(1, 0, 0, 1)),  # other contract
        frame(PYTH, "deadbeef", AAPL, price_output(1, 0, 0, 1)),  # other method
        frame(PYTH, "a4ae35e0", AAPL, None),  # no output
        frame(PYTH, "a4ae35e0", AAPL, "0x08c379a0", error="execution reverted"),  # reverted
        {"type": "STATICCALL", "to": PYTH, "input": "0xa4ae35e0", "output": "0x00"},  # no feed id
    )
    assert pyth_calls(trace, PYTH) == []
    with pytest.raises(NoPythCall):
        pyth_price_from_trace(trace, PYTH, "AAPL")


def test_known_symbol_takes_the_first_read_of_its_own_feed() -> None:
    trace = root(
        frame(PYTH, "a4ae35e0", OTHER, price_output(99990000, 1, -8, 1)),
        frame(PYTH, "a4ae35e0", AAPL, price_output(18250, 5, -2, 1)),
        frame(PYTH, "96834ad3", AAPL, price_output(18300, 5, -2, 1)),
    )
    assert pyth_price_from_trace(trace, PYTH, "AAPL").value == Decimal(18250)


def test_known_symbol_without_a_read_of_its_feed_is_no_matching_feed() -> None:
    trace = root(frame(PYTH, "a4ae35e0", OTHER, price_output(1, 1, 0, 1)))
    with pytest.raises(NoMatchingFeed, match="AAPL"):
        pyth_price_from_trace(trace, PYTH, "AAPL")


def test_unknown_symbol_takes_the_only_feed_read_but_refuses_to_guess_among_several() -> None:
    one_feed = root(
        frame(PYTH, "a4ae35e0", OTHER, price_output(5, 1, 0, 1)),
        frame(PYTH, "96834ad3", OTHER, price_output(6, 1, 0, 1)),
    )
    assert pyth_price_from_trace(one_feed, PYTH, "SPLG").value == Decimal(5)
    two_feeds = root(
        frame(PYTH, "a4ae35e0", OTHER, price_output(5, 1, 0, 1)),
        frame(PYTH, "a4ae35e0", b"\x43" * 32, price_output(6, 1, 0, 1)),
    )
    with pytest.raises(AmbiguousFeed, match="SPLG"):
        pyth_price_from_trace(two_feeds, PYTH, "SPLG")
    calls = pyth_calls(two_feeds, PYTH)
    assert choose_call(calls, "SPLG", {"SPLG": b"\x43" * 32}).output == calls[1].output


def test_negative_prices_and_confidence_are_decoded_exactly() -> None:
    price = decode_price(bytes.fromhex(price_output(-123456789, 10_000_000, -8, 1)[2:]))
    assert price.price == Decimal("-1.23456789")
    assert price.confidence == Decimal("0.1")


@pytest.mark.parametrize(
    "output",
    [
        b"\x00" * 64,  # too short
        b"\xff" * 128,  # int64 field is not sign-extended properly, uint64 overflows
        encode(["int64", "uint64", "int32", "uint256"], [1, 1, 0, 2**255]),  # absurd time
    ],
)
def test_undecodable_pyth_output_is_an_error(output: bytes) -> None:
    with pytest.raises(BadPythOutput):
        decode_price(output)


# -- receipts -------------------------------------------------------------------------------


def test_receipt_gas_reads_gas_used_and_effective_gas_price() -> None:
    gas = receipt_gas({"gasUsed": "0x5208", "effectiveGasPrice": "0x77359400"})
    assert (gas.gas_used, gas.effective_gas_price) == (21000, 2_000_000_000)


def test_effective_gas_price_beyond_i64_or_absent_is_none() -> None:
    assert receipt_gas({"gasUsed": "0x1"}).effective_gas_price is None
    assert (
        receipt_gas({"gasUsed": "0x1", "effectiveGasPrice": hex(2**63)}).effective_gas_price is None
    )


@pytest.mark.parametrize("gas_used", [None, "12", "0xzz", hex(2**63)])
def test_receipt_without_usable_gas_used_cannot_enrich(gas_used: object) -> None:
    with pytest.raises(EnrichmentFailed):
        receipt_gas({"gasUsed": gas_used})


# -- ERC-20 symbol ------------------------------------------------------------------------------


def test_symbol_decodes_from_an_abi_string() -> None:
    assert decode_symbol(encode(["string"], ["AAPL0x"])) == "AAPL0x"


def test_symbol_decodes_from_a_bytes32_as_old_tokens_return_it() -> None:
    assert decode_symbol(b"MKR".ljust(32, b"\x00")) == "MKR"


@pytest.mark.parametrize("output", [b"", b"\x00" * 32, b"\xff" * 32, b"\x01" * 7])
def test_unreadable_symbol_output_is_none(output: bytes) -> None:
    assert decode_symbol(output) is None
