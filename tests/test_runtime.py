"""Process settings of long-running commands."""

from __future__ import annotations

import gc

from hedgebot.runtime import OLDER_THRESHOLD, YOUNG_THRESHOLD, tune_garbage_collector


def test_tuning_freezes_start_up_objects_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    try:
        previous = tune_garbage_collector()
        assert previous == before
        assert gc.get_threshold() == (YOUNG_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
        assert gc.get_freeze_count() > 0
        # cyclic garbage made afterwards is still collected
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
