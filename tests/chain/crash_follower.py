"""A follower process for the crash test: ``python -m tests.chain.crash_follower CONFIG``.

CONFIG is a JSON file: rpc_url, database, orderbook, owner, deployment_block,
target_block. The process ingests until its checkpoint reaches ``target_block`` and
exits 0; the test kills it with SIGKILL at random points and starts it again.
Small ranges and chunks make many commits, so the kills land between and inside them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from hedgebot.eventstore.sqlite import SqliteEventStore
from tests.chain.support import make_stack

ZERO_ADDRESS = "0x" + "00" * 20


async def follow(config: dict[str, object], store: SqliteEventStore) -> None:
    stack = make_stack(
        str(config["rpc_url"]),
        store,
        orderbook=str(config["orderbook"]),
        owner=str(config["owner"]),
        deployment_block=int(str(config["deployment_block"])),
        batch_size=1,
        chunk_size=2,
        pyth_address=ZERO_ADDRESS,
    )
    target = int(str(config["target_block"]))
    try:
        print("started", flush=True)
        while (stack.follower.last_ingested_block() or 0) < target:
            await stack.follower.sync()
    finally:
        await stack.aclose()


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[1]).read_text())
    store = SqliteEventStore(str(config["database"]), synchronous="FULL")
    try:
        asyncio.run(follow(config, store))
    finally:
        store.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
