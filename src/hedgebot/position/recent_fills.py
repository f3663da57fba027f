"""The ids of the fills a position acknowledged most recently (bounded).

Why a bound is safe: this is the second dedupe layer. The first is the OnChainTrade
aggregate (one per ``tx_hash:log_index``), which refuses a second witness, so a fill
reaches `AcknowledgeOnChainFill` again only when the TradeManager re-sends an
acknowledgement it already made: after a crash between the Position's commit and the
manager's checkpoint, it replays the events after its last checkpoint. Those are the
newest fills, far fewer than the window. A caller must never re-acknowledge fills
older than the window (a full re-scan of history) without checking the position's
events first.

Why chunks: the window is kept in every state and snapshot. Appending copies only the
newest (open) chunk; full chunks are shared between successive states and carry a
frozenset built once, so a lookup costs a short scan plus one set probe per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Ids per full chunk.
CHUNK_SIZE = 500
#: Full chunks kept; with the open chunk, at least the last 10,000 acknowledged fills
#: are remembered (between 10,000 and 10,499).
MAX_FULL_CHUNKS = 20
RECENT_FILLS_LIMIT = CHUNK_SIZE * MAX_FULL_CHUNKS


@dataclass(frozen=True)
class FillChunk:
    ids: tuple[str, ...]
    members: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(self.ids))


@dataclass(frozen=True)
class RecentFills:
    """Oldest chunk first; ``open`` holds the newest ids (fewer than `CHUNK_SIZE`)."""

    full: tuple[FillChunk, ...] = ()
    open: tuple[str, ...] = ()

    def __contains__(self, fill_id: object) -> bool:
        return fill_id in self.open or any(fill_id in chunk.members for chunk in self.full)

    def __len__(self) -> int:
        return len(self.open) + sum(len(chunk.ids) for chunk in self.full)

    def add(self, fill_id: str) -> RecentFills:
        opened = (*self.open, fill_id)
        if len(opened) < CHUNK_SIZE:
            return RecentFills(self.full, opened)
        full = (*self.full, FillChunk(opened))
        return RecentFills(full[-MAX_FULL_CHUNKS:], ())
