"""What else the machine was doing while a benchmark ran (load, CPU steal, I/O stalls).

On a virtual machine the hypervisor may run other guests on our cores: that time is
*steal* in ``/proc/stat``. The virtual disk may also stop answering for a while: the
kernel's pressure-stall information (``/proc/pressure/io``, "full") says for how much
of the time every runnable task was waiting for I/O. Either, arriving in bursts,
stalls the process for tens or hundreds of milliseconds at a time and moves p99
latencies and wall-clock rates far more than any code change; benchmarks print both
next to their figures so a reader can tell a slow run from a slow machine.

    with Noise() as noise:
        ...
    print(noise.summary())
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType

_STAT = Path("/proc/stat")
_IO_PRESSURE = Path("/proc/pressure/io")
_monotonic = time.monotonic


def _io_stalled_us() -> int | None:
    """Microseconds since boot during which all runnable tasks waited for I/O."""
    try:
        lines = _IO_PRESSURE.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("full "):
            for field in line.split():
                if field.startswith("total="):
                    return int(field.removeprefix("total="))
    return None


def _cpu_ticks() -> tuple[int, int] | None:
    """(total, steal) ticks of all CPUs since boot, or None where /proc/stat is absent."""
    try:
        first = _STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if first[0] != "cpu" or len(first) < 9:
        return None
    ticks = [int(field) for field in first[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
    # already counted in user and nice
    return sum(ticks[:8]), ticks[7]


class Noise:
    def __init__(self) -> None:
        self._start: tuple[int, int] | None = None
        self._end: tuple[int, int] | None = None
        self.load_before = 0.0
        self.load_after = 0.0
        self._io: tuple[int | None, float] = (None, 0.0)
        self._io_end: tuple[int | None, float] = (None, 0.0)

    def __enter__(self) -> Noise:
        self.load_before = os.getloadavg()[0]
        self._start = _cpu_ticks()
        self._io = (_io_stalled_us(), _monotonic())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._end = _cpu_ticks()
        self._io_end = (_io_stalled_us(), _monotonic())
        self.load_after = os.getloadavg()[0]

    @property
    def steal(self) -> float | None:
        """Share of all CPU time taken by the hypervisor during the block (0–1)."""
        if self._start is None or self._end is None:
            return None
        total = self._end[0] - self._start[0]
        return (self._end[1] - self._start[1]) / total if total > 0 else 0.0

    @property
    def io_stall(self) -> float | None:
        """Share of the block's wall time in which every runnable task waited for I/O."""
        (before, started), (after, ended) = self._io, self._io_end
        if before is None or after is None or ended <= started:
            return None
        return min(1.0, (after - before) / 1e6 / (ended - started))

    def summary(self) -> str:
        steal = "n/a" if self.steal is None else f"{self.steal:.1%}"
        io = "n/a" if self.io_stall is None else f"{self.io_stall:.1%}"
        return (
            f"machine: load average {self.load_before:.2f} → {self.load_after:.2f}, "
            f"CPU steal {steal} of all cores' time, I/O stall {io} of the time"
        )
