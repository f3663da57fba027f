"""The ids of the fills a position acknowledged most recently (bounded).

Why a bound is safe: this is the second dedupe layer. The first is the OnChainTrade
aggregate (one per ``tx_hash:log_index``), which refuses a second witness, so a fill
reaches `AcknowledgeOnChainFill` again only when the TradeManager re-sends an
acknowledgement it already made: after a crash between the Position's commit and the
manager's checkpoint, it replays the events after its last checkpoint. Those are the
newest fills, far fewer than the window (the TradeManager even commits its checkpoint
in the same transaction). A caller must never re-acknowledge fills older than the
window (a full re-scan of history) without checking the position's events first.

Why this shape: the window is part of every state and every snapshot, and a command
loads its aggregate (snapshot + tail) each time, so decoding must be cheap. Ids are
kept as text (ids separated by spaces, full chunks of `CHUNK_SIZE` by newlines): a
snapshot decodes two strings instead of ten thousand small ones, appending copies only
the open chunk (and the full text once per chunk), and a lookup is a substring search
with token boundaries. Fill ids are
``0x<64 lowercase hex>:<log index>`` (`decide` refuses any other form), so they never
contain the separator.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Ids per full chunk.
CHUNK_SIZE = 500
#: Full chunks kept; with the open chunk, at least the last 10,000 acknowledged fills
#: are remembered (between 10,000 and 10,499).
MAX_FULL_CHUNKS = 20
RECENT_FILLS_LIMIT = CHUNK_SIZE * MAX_FULL_CHUNKS
SEPARATOR = " "
CHUNK_SEPARATOR = "\n"
_BOUNDARIES = (SEPARATOR, CHUNK_SEPARATOR)


def _has_token(text: str, token: str) -> bool:
    """Whether ``token`` is one of the delimited items of ``text``."""
    start = text.find(token)
    while start != -1:
        end = start + len(token)
        if (start == 0 or text[start - 1] in _BOUNDARIES) and (
            end == len(text) or text[end] in _BOUNDARIES
        ):
            return True
        start = text.find(token, start + 1)
    return False


@dataclass(frozen=True)
class RecentFills:
    """``full``: the full chunks (oldest first, newline-separated, ``full_chunks`` of
    them); ``open``: the newest ids (``open_count`` of them, fewer than `CHUNK_SIZE`)."""

    full: str = ""
    full_chunks: int = 0
    open: str = ""
    open_count: int = 0

    def __contains__(self, fill_id: object) -> bool:
        if not isinstance(fill_id, str) or not fill_id:
            return False
        return _has_token(self.open, fill_id) or _has_token(self.full, fill_id)

    def __len__(self) -> int:
        return self.open_count + CHUNK_SIZE * self.full_chunks

    def add(self, fill_id: str) -> RecentFills:
        opened = f"{self.open}{SEPARATOR}{fill_id}" if self.open else fill_id
        if self.open_count + 1 < CHUNK_SIZE:
            return RecentFills(self.full, self.full_chunks, opened, self.open_count + 1)
        full = f"{self.full}{CHUNK_SEPARATOR}{opened}" if self.full else opened
        chunks = self.full_chunks + 1
        while chunks > MAX_FULL_CHUNKS:  # forget the oldest chunk
            full = full[full.index(CHUNK_SEPARATOR) + 1 :]
            chunks -= 1
        return RecentFills(full, chunks)
