"""``hedgebot demo`` as a user runs it: the real console script, anvil, no configuration."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from hedgebot.devnet.market import DEMO_STOCKS, Takers
from hedgebot.domain import Direction, base_symbol

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

D = Decimal
FIELD = re.compile(r"(\w+)=(\S+)")


def hedgebot_script() -> str:
    found = shutil.which("hedgebot", path=str(Path(sys.executable).parent))
    assert found is not None, "the hedgebot console script is not installed in the venv"
    return found


def fields(line: str) -> dict[str, str]:
    return dict(FIELD.findall(line))


def expected_fills(count: int) -> dict[str, tuple[int, Decimal, Decimal]]:
    """(fills, bought, sold) per base symbol of the demo's seeded takers."""
    totals: dict[str, tuple[int, Decimal, Decimal]] = {}
    for fill in Takers(DEMO_STOCKS, seed=7).fills(count):
        n, bought, sold = totals.get(base_symbol(fill.symbol), (0, D(0), D(0)))
        if fill.direction is Direction.BUY:
            bought += fill.shares
        else:
            sold += fill.shares
        totals[base_symbol(fill.symbol)] = (n + 1, bought, sold)
    return totals


def test_demo_with_60_fills_exits_0_and_prints_a_consistent_summary() -> None:
    result = subprocess.run(
        [hedgebot_script(), "demo", "--fills", "60"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("progress: ") for line in lines), "no plain progress lines"
    summary = fields(next(line for line in lines if line.startswith("summary: ")))
    positions = [fields(line) for line in lines if line.startswith("position: ")]
    pnl = fields(next(line for line in lines if line.startswith("pnl: ")))

    assert summary["fills_requested"] == summary["fills_emitted"] == "60"
    assert summary["fills_recorded"] == summary["fills_acknowledged"] == "60"
    assert summary["settled"] == "yes"
    assert summary["hedges_open"] == "0"
    placed, filled, failed = (
        int(summary[k]) for k in ("hedges_placed", "hedges_filled", "hedges_failed")
    )
    assert placed == filled + failed
    assert failed == 1  # the demo's one deterministic rejection (TSLA's first hedge)

    expected = expected_fills(60)
    assert {p["symbol"] for p in positions} == set(expected)
    for position in positions:
        symbol = position["symbol"]
        count, bought, sold = expected[symbol]
        assert (int(position["fills"]), D(position["bought"]), D(position["sold"])) == (
            count,
            bought,
            sold,
        ), symbol
        net = D(position["net"])
        assert net == bought - sold + D(position["hedged"]), symbol
        assert abs(net) < 1, f"{symbol}: a whole share left unhedged after settling"
        assert D(position["pnl_net_position"]) == net, symbol
    assert sum(int(p["hedges_filled"]) for p in positions) == filled
    assert Counter({p["symbol"]: int(p["hedges_failed"]) for p in positions}) == Counter(
        {"TSLA": 1}
    )
    assert D(pnl["total_realised"]) == sum(D(p["realised_pnl"]) for p in positions)
    notes = [line for line in lines if line.startswith("note: ")]
    assert notes == [
        "note: 1 TSLA hedge(s) rejected by the broker; net unchanged, so it was hedged "
        f"again: {next(p['hedges_filled'] for p in positions if p['symbol'] == 'TSLA')} filled"
    ]


def test_demo_on_a_terminal_shows_the_live_tables_and_the_pnl_summary() -> None:
    code = (
        "from rich.console import Console\n"
        "from hedgebot.demo import run_demo\n"
        "run_demo(12, Console(force_terminal=True, width=160), pace=0.0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Positions" in result.stdout
    assert "Recent fills" in result.stdout
    assert "Final positions" in result.stdout
    assert "Realised PnL (FIFO, both venues)" in result.stdout
    assert "settled: yes" in result.stdout


def test_demo_without_anvil_says_how_to_install_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [hedgebot_script(), "demo", "--fills", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HEDGEBOT_ANVIL": str(tmp_path / "no-anvil-here")},
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: HEDGEBOT_ANVIL=")
    assert "not an executable file" in result.stderr
    assert "make demo" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
