"""Fill → trade on the worked examples of reference/bot-behaviour.md §1.6 and bad inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hedgebot.chain.abi import OrderbookVersion
from hedgebot.chain.decoding import LogDecoder, RawLog
from hedgebot.chain.fills import (
    PRICE_CONTEXT,
    ChainTrade,
    Side,
    Skip,
    SkipReason,
    decode_logs,
    owner_fills,
    to_trade,
)
from hedgebot.domain import Direction, TradeId
from tests.chain import builders as b

V4 = OrderbookVersion.V4
V5 = OrderbookVersion.V5


def outcomes(
    logs: Sequence[RawLog],
    version: OrderbookVersion,
    *,
    owner: str = b.OWNER,
    symbols: Mapping[str, str | None] = b.SYMBOLS,
) -> list[ChainTrade | Skip]:
    events, skips = decode_logs(logs, LogDecoder(version))
    out: list[ChainTrade | Skip] = list(skips)
    for fill in owner_fills(events, owner):
        out.append(fill if isinstance(fill, Skip) else to_trade(fill, symbols))
    return out


def only_trade(logs: Sequence[RawLog], version: OrderbookVersion, **kw: object) -> ChainTrade:
    result = outcomes(logs, version, **kw)  # type: ignore[arg-type]
    assert len(result) == 1, result
    assert isinstance(result[0], ChainTrade), result[0]
    return result[0]


def only_skip(logs: Sequence[RawLog], version: OrderbookVersion, **kw: object) -> Skip:
    result = outcomes(logs, version, **kw)  # type: ignore[arg-type]
    assert len(result) == 1, result
    assert isinstance(result[0], Skip), result[0]
    return result[0]


def price(usdc: str, shares: str) -> Decimal:
    return PRICE_CONTEXT.divide(Decimal(usdc), Decimal(shares)).normalize(PRICE_CONTEXT)


# -- A, A′, B, C: take orders ------------------------------------------------------------


def test_example_a_v4_take_order_where_the_order_gives_stock_for_usdc_is_a_sell() -> None:
    # The order received 100 USDC and gave 9 AAPL0x; the event is from the taker's side:
    # the taker received (input) 9 AAPL0x and gave (output) 100 USDC.
    log = b.take_order_v4(b.reference_order_v4(), 0, 1, 9 * 10**18, 100_000_000, log_index=293)
    trade = only_trade([log], V4)
    assert trade.trade_id == TradeId(b.TX, 293)
    assert (trade.symbol, trade.base_symbol) == ("AAPL0x", "AAPL")
    assert trade.amount == Decimal(9)
    assert trade.direction is Direction.SELL
    assert trade.price_usdc == price("100", "9")
    assert str(trade.price_usdc).startswith("11.1111111111")
    assert trade.side is Side.TAKE
    assert trade.block_number == 100
    assert trade.block_timestamp == datetime(2024, 12, 5, 12, 0, tzinfo=UTC)


def test_v4_take_order_amounts_are_read_from_the_takers_side_unlike_the_reference() -> None:
    # The reference's test A fed input=100e6, output=9e18 and read `input` as the order's
    # input. Per the interface doc the order received `output` (9e18 of USDC at 6
    # decimals) and gave `input` (100e6 of AAPL0x at 18 decimals).
    log = b.take_order_v4(b.reference_order_v4(), 0, 1, 100_000_000, 9 * 10**18)
    trade = only_trade([log], V4)
    assert trade.amount == Decimal("1E-10")
    assert trade.direction is Direction.SELL
    assert trade.price_usdc == Decimal("9E+22")


def test_example_a_prime_v5_take_order_gives_the_same_trade() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(9), Decimal(100), log_index=293)
    trade = only_trade([log], V5)
    assert trade.trade_id == TradeId(b.TX, 293)
    assert (trade.symbol, trade.amount, trade.direction) == ("AAPL0x", Decimal(9), Direction.SELL)
    assert trade.price_usdc == price("100", "9")


def test_example_b_200_usdc_for_15_shares_is_priced_at_13_33() -> None:
    log = b.take_order_v4(b.reference_order_v4(), 0, 1, 15 * 10**18, 200_000_000)
    trade = only_trade([log], V4)
    assert trade.amount == Decimal(15)
    assert trade.price_usdc == price("200", "15")
    assert str(trade.price_usdc).startswith("13.333333333")


@pytest.mark.parametrize("version", [V4, V5])
def test_example_c_take_order_with_zero_amounts_is_no_trade(version: OrderbookVersion) -> None:
    if version is V4:
        log = b.take_order_v4(b.reference_order_v4(), 0, 1, 0, 0)
    else:
        log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(0), Decimal(0))
    skip = only_skip([log], version)
    assert skip.reason is SkipReason.ZERO_AMOUNT


def test_take_order_with_stock_but_no_usdc_is_no_trade() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(3), Decimal(0))
    assert only_skip([log], V5).reason is SkipReason.ZERO_AMOUNT


def test_v5_take_order_where_the_order_receives_stock_is_a_buy() -> None:
    # inputIOIndex 1 (AAPL0x) / outputIOIndex 0 (USDC): the taker received 250 USDC
    # (event input) and gave 2.5 AAPL0x (event output).
    log = b.take_order_v5(b.reference_order_v5(), 1, 0, Decimal(250), Decimal("2.5"))
    trade = only_trade([log], V5)
    assert (trade.amount, trade.direction, trade.price_usdc) == (
        Decimal("2.5"),
        Direction.BUY,
        Decimal(100),
    )


# -- D, E: clears ------------------------------------------------------------------------


def clear_d_logs(version: OrderbookVersion, alice_owner: str, bob_owner: str) -> list[RawLog]:
    """Example D's clear: alice in 0 / out 1, bob in 1 / out 0; AfterClear at index 2."""
    indexes = (0, 1, 1, 0)
    if version is V4:
        return [
            b.clear_v4(
                b.reference_order_v4(alice_owner),
                b.reference_order_v4(bob_owner),
                indexes,
                log_index=1,
            ),
            b.after_clear_v4(9 * 10**18, 100_000_000, 100_000_000, 9 * 10**18, log_index=2),
        ]
    return [
        b.clear_v5(
            b.reference_order_v5(alice_owner), b.reference_order_v5(bob_owner), indexes, log_index=1
        ),
        b.after_clear_v5(Decimal(9), Decimal(100), Decimal(100), Decimal(9), log_index=2),
    ]


@pytest.mark.parametrize("version", [V4, V5])
def test_example_d_clear_where_alice_is_the_owner_sells_at_the_clears_log_index(
    version: OrderbookVersion,
) -> None:
    trade = only_trade(clear_d_logs(version, b.OWNER, b.STRANGER), version)
    assert trade.trade_id == TradeId(b.TX, 1)
    assert (trade.symbol, trade.amount, trade.direction) == ("AAPL0x", Decimal(9), Direction.SELL)
    assert trade.price_usdc == price("100", "9")
    assert trade.side is Side.ALICE


@pytest.mark.parametrize("version", [V4, V5])
def test_example_e_clear_where_bob_is_the_owner_buys(version: OrderbookVersion) -> None:
    trade = only_trade(clear_d_logs(version, b.STRANGER, b.OWNER), version)
    assert trade.trade_id == TradeId(b.TX, 1)
    assert (trade.symbol, trade.amount, trade.direction) == ("AAPL0x", Decimal(9), Direction.BUY)
    assert trade.price_usdc == price("100", "9")
    assert trade.side is Side.BOB


@pytest.mark.parametrize("version", [V4, V5])
def test_clear_where_both_sides_are_the_owners_yields_two_trades_with_distinct_ids(
    version: OrderbookVersion,
) -> None:
    result = outcomes(clear_d_logs(version, b.OWNER, b.OWNER), version)
    assert all(isinstance(r, ChainTrade) for r in result)
    alice, bob = result
    assert isinstance(alice, ChainTrade) and isinstance(bob, ChainTrade)
    assert (alice.trade_id, alice.direction, alice.amount) == (
        TradeId(b.TX, 1),
        Direction.SELL,
        Decimal(9),
    )
    assert (bob.trade_id, bob.direction, bob.amount) == (
        TradeId(b.TX, 2),
        Direction.BUY,
        Decimal(9),
    )


def test_clear_of_two_strangers_is_skipped_as_not_the_owners() -> None:
    skip = only_skip(clear_d_logs(V5, b.STRANGER, b.STRANGER), V5)
    assert skip.reason is SkipReason.NOT_OWNER
    assert skip.log_index == 1


def test_clear_without_its_after_clear_is_skipped() -> None:
    clear = clear_d_logs(V5, b.OWNER, b.STRANGER)[0]
    assert only_skip([clear], V5).reason is SkipReason.MISSING_AFTER_CLEAR


def test_after_clear_in_another_transaction_is_not_paired() -> None:
    clear, _ = clear_d_logs(V5, b.OWNER, b.STRANGER)
    after_other_tx = b.after_clear_v5(
        Decimal(9), Decimal(100), Decimal(100), Decimal(9), tx="0x" + "22" * 32, log_index=2
    )
    result = outcomes([clear, after_other_tx], V5)
    assert [r.reason for r in result if isinstance(r, Skip)] == [SkipReason.MISSING_AFTER_CLEAR]
    assert not [r for r in result if isinstance(r, ChainTrade)]


def test_after_clear_before_the_clear_is_not_paired() -> None:
    clear, _ = clear_d_logs(V5, b.OWNER, b.STRANGER)
    earlier = b.after_clear_v5(Decimal(9), Decimal(100), Decimal(100), Decimal(9), log_index=0)
    assert only_skip([earlier, clear], V5).reason is SkipReason.MISSING_AFTER_CLEAR


def test_two_clears_in_one_transaction_each_pair_with_their_own_after_clear() -> None:
    first = clear_d_logs(V5, b.OWNER, b.STRANGER)
    second_clear = b.clear_v5(
        b.reference_order_v5(b.OWNER), b.reference_order_v5(b.STRANGER), (0, 1, 1, 0), log_index=3
    )
    second_after = b.after_clear_v5(Decimal(2), Decimal(50), Decimal(50), Decimal(2), log_index=4)
    result = outcomes([*first, second_clear, second_after], V5)
    assert [(r.trade_id.log_index, r.amount) for r in result if isinstance(r, ChainTrade)] == [
        (1, Decimal(9)),
        (3, Decimal(2)),
    ]


def test_clear_followed_by_another_clear_before_any_after_clear_is_skipped() -> None:
    clear = clear_d_logs(V5, b.OWNER, b.STRANGER)[0]
    stranger = b.reference_order_v5(b.STRANGER)
    intruder = b.clear_v5(stranger, stranger, (0, 1, 1, 0), log_index=2)
    after = b.after_clear_v5(Decimal(9), Decimal(100), Decimal(100), Decimal(9), log_index=3)
    result = outcomes([clear, intruder, after], V5)
    reasons = [r.reason for r in result if isinstance(r, Skip)]
    assert reasons == [SkipReason.MISSING_AFTER_CLEAR, SkipReason.NOT_OWNER]


# -- F, G, H: symbols and production vectors ---------------------------------------------

NVDA = "0x" + "0d" * 20
TAAPL = "0x" + "0a" * 20
TSPLG = "0x" + "05" * 20


def test_example_f_usdc_in_nvdas1_out_is_a_sell_of_nvda() -> None:
    order_value = b.order(b.OWNER, [b.io_v5(b.USDC)], [b.io_v5(NVDA)])
    log = b.take_order_v5(order_value, 0, 0, Decimal("0.374"), Decimal("64.169234"))
    trade = only_trade([log], V5, symbols={b.USDC: "USDC", NVDA: "NVDAs1"})
    assert (trade.symbol, trade.base_symbol) == ("NVDAs1", "NVDA")
    assert (trade.amount, trade.direction) == (Decimal("0.374"), Direction.SELL)
    assert trade.price_usdc == price("64.169234", "0.374")
    assert str(trade.price_usdc).startswith("171.57")


def test_example_g_tapple_in_usdc_out_is_a_buy_of_aapl_at_200() -> None:
    order_value = b.order(b.OWNER, [b.io_v5(TAAPL)], [b.io_v5(b.USDC)])
    log = b.take_order_v5(order_value, 0, 0, Decimal(50), Decimal("0.25"))
    trade = only_trade([log], V5, symbols={b.USDC: "USDC", TAAPL: "tAAPL"})
    assert (trade.symbol, trade.base_symbol) == ("tAAPL", "AAPL")
    assert (trade.amount, trade.direction, trade.price_usdc) == (
        Decimal("0.25"),
        Direction.BUY,
        Decimal(200),
    )


FLOAT_TWO = bytes.fromhex("ffffffee" + "00" * 20 + "1bc16d674ec80000")
FLOAT_160_155 = bytes.fromhex("ffffffe5" + "00" * 15 + "02057d2cd516a29b6174400000")


def test_example_h_production_v5_take_order_of_tsplg_sells_two_shares() -> None:
    order_value = b.order(b.OWNER, [b.io_v5(b.USDC)], [b.io_v5(TSPLG)])
    log = b.take_order_v5(order_value, 0, 0, FLOAT_TWO, FLOAT_160_155)
    trade = only_trade([log], V5, symbols={b.USDC: "USDC", TSPLG: "tSPLG"})
    assert (trade.symbol, trade.base_symbol) == ("tSPLG", "SPLG")
    assert (trade.amount, trade.direction) == (Decimal(2), Direction.SELL)
    assert trade.price_usdc == Decimal("80.07753876")


# -- owners, pairs, symbols --------------------------------------------------------------


@pytest.mark.parametrize("version", [V4, V5])
def test_take_order_of_someone_elses_order_is_skipped(version: OrderbookVersion) -> None:
    if version is V4:
        log = b.take_order_v4(b.reference_order_v4(b.STRANGER), 0, 1, 9 * 10**18, 100_000_000)
    else:
        log = b.take_order_v5(b.reference_order_v5(b.STRANGER), 0, 1, Decimal(9), Decimal(100))
    skip = only_skip([log], version)
    assert skip.reason is SkipReason.NOT_OWNER
    assert skip.side is Side.TAKE


def test_owner_comparison_ignores_address_case() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(9), Decimal(100))
    assert only_trade([log], V5, owner=b.OWNER.upper().replace("0X", "0x")).amount == Decimal(9)


@pytest.mark.parametrize(
    ("input_symbol", "output_symbol", "reason"),
    [
        ("WETH", "AAPL0x", SkipReason.NOT_USDC_PAIR),
        ("USDC", "USDC", SkipReason.NOT_USDC_PAIR),
        ("usdc", "AAPL0x", SkipReason.NOT_USDC_PAIR),
        ("AAPL0x", "TSLA0x", SkipReason.NOT_USDC_PAIR),
        ("USDC", "BTC", SkipReason.NOT_TOKENIZED_EQUITY),
        ("0x", "USDC", SkipReason.NOT_TOKENIZED_EQUITY),
        (None, "USDC", SkipReason.SYMBOL_UNAVAILABLE),
    ],
)
def test_pairs_that_are_not_a_tokenized_stock_against_usdc_are_skipped(
    input_symbol: str | None, output_symbol: str, reason: SkipReason
) -> None:
    token_in, token_out = "0x" + "01" * 20, "0x" + "02" * 20
    order_value = b.order(b.OWNER, [b.io_v5(token_in)], [b.io_v5(token_out)])
    log = b.take_order_v5(order_value, 0, 0, Decimal(1), Decimal(1))
    skip = only_skip([log], V5, symbols={token_in: input_symbol, token_out: output_symbol})
    assert skip.reason is reason
    assert skip.tx_hash == b.TX


def test_io_index_out_of_range_is_skipped_with_the_index_in_the_detail() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 5, 1, Decimal(9), Decimal(100))
    skip = only_skip([log], V5)
    assert skip.reason is SkipReason.IO_INDEX_OUT_OF_RANGE
    assert "input IO index 5" in skip.detail


def test_clear_with_output_index_out_of_range_is_skipped() -> None:
    logs = [
        b.clear_v5(
            b.reference_order_v5(), b.reference_order_v5(b.STRANGER), (0, 7, 1, 0), log_index=1
        ),
        b.after_clear_v5(Decimal(9), Decimal(100), Decimal(100), Decimal(9), log_index=2),
    ]
    skip = only_skip(logs, V5)
    assert skip.reason is SkipReason.IO_INDEX_OUT_OF_RANGE
    assert "output IO index 7" in skip.detail


# -- precision ---------------------------------------------------------------------------


def test_v4_amounts_are_scaled_exactly_without_float_rounding() -> None:
    shares_raw = 123_456_789_012_345_678_901_234_567  # 123456789.012345678901234567 shares
    usdc_raw = 987_654_321_098_765  # 987654321.098765 USDC
    log = b.take_order_v4(b.reference_order_v4(), 0, 1, shares_raw, usdc_raw)
    trade = only_trade([log], V4)
    assert trade.amount == Decimal("123456789.012345678901234567")
    assert format(trade.amount, "f") == "123456789.012345678901234567"
    expected = PRICE_CONTEXT.divide(Decimal("987654321.098765"), trade.amount)
    assert trade.price_usdc == expected.normalize(PRICE_CONTEXT)
    assert float(trade.amount) != trade.amount  # a float would have lost digits


def test_v5_float_amounts_keep_every_digit() -> None:
    shares = Decimal("0.000000000000000001")
    usdc = Decimal("0.1000000000000000000000000000000000001")
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, shares, usdc)
    trade = only_trade([log], V5)
    assert trade.amount == shares
    assert trade.price_usdc == Decimal("100000000000000000.0000000000000000001")


def test_negative_float_amounts_are_skipped() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(-9), Decimal(100))
    assert only_skip([log], V5).reason is SkipReason.NEGATIVE_AMOUNT


# -- malformed logs ----------------------------------------------------------------------


def test_truncated_data_is_skipped_as_malformed() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(9), Decimal(100))
    cut = RawLog(**{**_fields(log), "data": log.data[:100]})
    skip = only_skip([cut], V5)
    assert skip.reason is SkipReason.MALFORMED
    assert "TakeOrderV3" in skip.detail


def test_garbage_data_is_skipped_as_malformed() -> None:
    log = b.take_order_v4(b.reference_order_v4(), 0, 1, 9, 100)
    garbage = RawLog(**{**_fields(log), "data": b"\xff" * len(log.data)})
    assert only_skip([garbage], V4).reason is SkipReason.MALFORMED


def test_v4_log_fed_to_a_v5_decoder_is_an_unknown_topic() -> None:
    log = b.take_order_v4(b.reference_order_v4(), 0, 1, 9, 100)
    assert only_skip([log], V5).reason is SkipReason.UNKNOWN_TOPIC


def test_log_with_extra_topics_is_malformed() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(9), Decimal(100))
    extra = RawLog(**{**_fields(log), "topics": (*log.topics, b"\x00" * 32)})
    assert only_skip([extra], V5).reason is SkipReason.MALFORMED


def test_float_out_of_any_token_range_is_malformed() -> None:
    absurd = bytes.fromhex("7fffffff" + "00" * 27 + "01")  # 1e2147483647
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, absurd, Decimal(1))
    skip = only_skip([log], V5)
    assert skip.reason is SkipReason.MALFORMED
    assert "range" in skip.detail


def test_removed_logs_are_skipped() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(9), Decimal(100))
    removed = RawLog(**{**_fields(log), "removed": True})
    assert only_skip([removed], V5).reason is SkipReason.REMOVED


def test_the_same_log_twice_yields_one_trade() -> None:
    log = b.take_order_v5(b.reference_order_v5(), 0, 1, Decimal(9), Decimal(100))
    assert only_trade([log, log], V5).amount == Decimal(9)


def _fields(log: RawLog) -> dict[str, object]:
    return {name: getattr(log, name) for name in RawLog.__slots__}
