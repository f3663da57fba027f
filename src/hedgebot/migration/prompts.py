"""The import's questions to the operator (skipped with ``--force``).

* backup: "Create a database backup before proceeding! Continue? [y/N]";
* existing events: the store already holds events of a legacy aggregate type;
* ``--clean``: type DELETE (exactly) to delete every event, snapshot, view row,
  counter and checkpoint.

Anything but ``y``/``Y`` (or ``DELETE``) — including end of input, e.g. a closed
stdin in a script — is a no, and nothing is changed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hedgebot.migration.errors import MigrationCancelled


def _read_stdin() -> str:
    return sys.stdin.readline()


@dataclass
class Prompter:
    write: Callable[[str], None]
    read_line: Callable[[], str] = _read_stdin
    force: bool = False

    def _confirm(self, question: str) -> bool:
        self.write(f"{question} [y/N] ")
        return self.read_line().strip() in ("y", "Y")

    def existing_events(self, counts: Mapping[str, int], to_import: int) -> None:
        if self.force or not counts:
            return
        found = ", ".join(f"{kind}: {n:,}" for kind, n in counts.items())
        if not self._confirm(
            f"Events detected ({found}). Rows already imported are left as they are; "
            f"{to_import:,} legacy rows not yet in the store will be imported. Continue?"
        ):
            raise MigrationCancelled("cancelled at the existing-events prompt; nothing changed")

    def backup(self, database: str) -> None:
        if self.force:
            return
        if not self._confirm(
            f"⚠️  Create a database backup before proceeding ({database})! Continue?"
        ):
            raise MigrationCancelled("cancelled at the backup prompt; nothing changed")

    def clean(self, store: str) -> None:
        if self.force:
            return
        self.write(
            f"⚠️  --clean will DELETE all events, snapshots, view rows, counters and "
            f"checkpoints of {store}. Type 'DELETE' to confirm: "
        )
        if self.read_line().strip() != "DELETE":
            raise MigrationCancelled("--clean was not confirmed with DELETE; nothing changed")
