"""The benchmark scripts still run, on tiny inputs (figures are not judged here).

Performance is measured by the scripts themselves (DESIGN.md); these tests only keep
them working: every mode completes, hedges every fill, and prints its figures. A
regression such as a mode that never ends fails here instead of on the next person to
measure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
BENCHMARKS = ROOT / "benchmarks"


def run_script(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result.stdout


def test_pipeline_prints_every_mode_with_every_fill_hedged() -> None:
    # the script itself exits non-zero when the broker did not get one order per fill
    out = run_script(
        "benchmarks/pipeline.py", "--fills", "120", "--runs", "1", "--burst", "40", "--rate", "400"
    )
    for mode in ("sequential", "burst of 40", "paced 400/s"):
        line = next((line for line in out.splitlines() if f"{mode}:" in line), None)
        assert line is not None, out
        match = re.search(r"([\d.]+) fills/s .* p50 +([\d.]+) ms .* p99 +([\d.]+) ms", line)
        assert match is not None, line
        rate, p50, p99 = (float(group) for group in match.groups())
        assert rate > 0 and 0 < p50 <= p99, line
        assert "CPU steal" in line and "I/O stall" in line


def test_migrate_prints_import_floor_and_ratio() -> None:
    out = run_script(
        "benchmarks/migrate.py",
        "--trades",
        "300",
        "--positions",
        "20",
        "--orders",
        "40",
        "--runs",
        "1",
    )
    assert re.search(r"import end to end \(median of 1\): [\d.]+ s", out), out
    assert re.search(r"ratio import / floor: [\d.]+x", out), out
    parts = re.search(r"write phase of the median run: (.*)", out)
    assert parts is not None, out
    names = [re.sub(r" [\d.]+ s$", "", part) for part in parts.group(1).split(", ")]
    assert names == ["append", "on-chain rows", "child wait", "other views", "commit"], out
    assert re.search(r"two-core bound of this design for the median run: [\d.]+ s", out), out
    assert "machine: load average" in out


def test_two_core_bound_counts_the_overlapped_stretch_once() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import migrate
    finally:
        sys.path.remove(str(BENCHMARKS))
    run = {"wall": 10.0, "append": 1.0, "on-chain rows": 2.0, "child wait": 1.0}
    # 6 s alone; 4 s overlapped in which 9 s of CPU (import 11 + child 4 - 6 alone) ran
    serial, bound = migrate.two_core_bound({**run, "cpu": 11.0, "child cpu": 4.0})
    assert (serial, bound) == (6.0, 10.5)
    # less CPU than wall in the serial part (I/O waits): never below the serial time
    assert migrate.two_core_bound({**run, "cpu": 5.0, "child cpu": 0.0}) == (6.0, 6.0)


def _machine() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import machine
    finally:
        sys.path.remove(str(BENCHMARKS))
    return machine


def test_noise_reports_steal_as_a_share_of_cpu_time(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _machine()
    readings = iter(
        [
            "cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3\n",
            # 1,000 more ticks in all, 50 of them steal
            "cpu  400 0 150 1335 20 0 10 85 7 0\ncpu0 1 2 3\n",
        ]
    )
    monkeypatch.setattr(machine, "_STAT", _FakeStat(readings))
    with machine.Noise() as noise:
        pass
    assert noise.steal == pytest.approx(0.05)
    assert "CPU steal 5.0%" in noise.summary()


def test_noise_reports_io_stalls_as_a_share_of_wall_time(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _machine()
    readings = iter(
        [
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=9000000\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=5000000\n",
            # 0.25 s more of full stall over the 1 s the block lasts
            "some avg10=9.00 avg60=1.00 avg300=0.50 total=9900000\n"
            "full avg10=8.00 avg60=1.00 avg300=0.50 total=5250000\n",
        ]
    )
    clock = iter([100.0, 101.0])
    monkeypatch.setattr(machine, "_IO_PRESSURE", _FakeStat(readings))
    monkeypatch.setattr(machine, "_monotonic", lambda: next(clock))
    with machine.Noise() as noise:
        pass
    assert noise.io_stall == pytest.approx(0.25)
    assert "I/O stall 25.0%" in noise.summary()


def test_noise_without_proc_files_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _machine()
    monkeypatch.setattr(machine, "_STAT", Path("/nonexistent/stat"))
    monkeypatch.setattr(machine, "_IO_PRESSURE", Path("/nonexistent/pressure"))
    with machine.Noise() as noise:
        pass
    assert noise.steal is None and noise.io_stall is None
    assert "CPU steal n/a" in noise.summary() and "I/O stall n/a" in noise.summary()


class _FakeStat:
    def __init__(self, texts: object) -> None:
        self.texts = texts

    def read_text(self) -> str:
        return next(self.texts)  # type: ignore[call-overload, no-any-return]
