"""Progress output: Rich bars on a terminal, sparse plain lines otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from hedgebot.migration.progress import PlainProgress, RichProgress, progress_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_at_start_every_tenth_or_interval_and_at_the_end() -> None:
    lines: list[str] = []
    clock = FakeClock()
    progress = PlainProgress(write=lines.append, interval=5.0, clock=clock)
    progress.start("t", "write OnChainTrade", 1000)
    for _ in range(9):  # 90 rows: below the first tenth, no time passed
        progress.advance("t", 10)
    assert lines == ["progress write OnChainTrade: 0/1,000 started"]
    clock.now += 1.0
    progress.advance("t", 10)  # 100 rows: a tenth
    assert lines[-1] == "progress write OnChainTrade: 100/1,000 (10%), 100/s, eta 9s"
    clock.now += 6.0
    progress.advance("t", 1)  # the interval passed
    assert lines[-1].startswith("progress write OnChainTrade: 101/1,000 (10%)")
    progress.advance("t", 1)  # neither: no line
    assert len(lines) == 3
    clock.now += 3.0
    progress.finish("t")
    assert lines[-1] == "progress write OnChainTrade: 1,000/1,000 done in 10.0s, 100/s"


def test_a_terminal_gets_rich_bars_with_count_and_rate() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    progress = progress_for(console)
    assert isinstance(progress, RichProgress)
    progress.start("t", "write OnChainTrade", 2000)
    progress.advance("t", 500)
    progress.finish("t")
    progress.close()
    text = out.getvalue()
    assert "write OnChainTrade" in text
    assert "2000/2000" in text
    assert "━" in text  # the bar


def test_a_pipe_gets_plain_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    progress = progress_for(console)
    assert isinstance(progress, PlainProgress)
    progress.start("t", "validate onchain_trades", 3)
    progress.finish("t")
    assert "progress validate onchain_trades: 3/3 done" in out.getvalue()
