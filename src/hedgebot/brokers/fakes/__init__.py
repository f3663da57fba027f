"""Fake Alpaca and Schwab servers speaking the real paths, headers and JSON.

They ship with the package so tests, the demo and crash-restart runs can point a
real adapter at them: ``async with FakeAlpaca(clock=clock) as fake`` on the current
event loop, or ``with run_in_thread(FakeSchwab()) as fake`` for synchronous callers.
"""

from hedgebot.brokers.fakes.alpaca import FakeAlpaca
from hedgebot.brokers.fakes.base import FakeServer, FaultPlan, FillPlan, run_in_thread
from hedgebot.brokers.fakes.schwab import FakeSchwab

__all__ = ["FakeAlpaca", "FakeSchwab", "FakeServer", "FaultPlan", "FillPlan", "run_in_thread"]
