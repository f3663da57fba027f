"""Process-wide settings of a long-running hedgebot process (`hedgebot run`, the demo).

Garbage collection: the bot allocates many short-lived objects per fill (events,
rows, states) and keeps a large, stable set of long-lived ones (state caches, open
orders, compiled codecs, imported modules). With CPython's default thresholds the
collector runs every 700 net allocations and, in its older generations, walks that
whole long-lived set again and again, for almost nothing: hedgebot's data is acyclic.
`tune_garbage_collector` moves everything that exists after start-up out of the
collector's sight (`gc.freeze`) and collects the young generation less often.
Cyclic garbage is still collected, only in larger steps.
"""

from __future__ import annotations

import gc

#: collect the youngest generation after this many net allocations (CPython: 700)
YOUNG_THRESHOLD = 50_000
#: collect the middle/oldest generations after this many younger collections (CPython: 10)
OLDER_THRESHOLD = 20


def tune_garbage_collector() -> tuple[int, int, int]:
    """Freeze what start-up allocated and collect in larger steps; returns the old thresholds."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
    return previous
