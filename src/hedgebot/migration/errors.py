"""Errors of the legacy import, each mapped to one exit code (see `runner`).

Every message names what an operator needs to find and fix the problem: a bad legacy
value names its table, row, column, value and the reason; a secret (a Schwab token)
is never echoed, only its length.
"""

from __future__ import annotations

from dataclasses import dataclass


class MigrationError(Exception):
    """Base of the import's own errors."""

    exit_code = 1


class UsageProblem(MigrationError):
    """Wrong arguments or a database that is not a legacy bot database (exit 2)."""

    exit_code = 2


class MigrationCancelled(MigrationError):
    """The operator answered no to a prompt; nothing was changed (exit 1)."""


@dataclass(frozen=True)
class LegacyValueProblem:
    """One bad value in a legacy row."""

    table: str
    row: str  # e.g. "id=17" or "symbol='AAPL'"
    column: str
    value: str  # a printable rendering; secrets are redacted
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.table} row {self.row}, column {self.column}, value {self.value}: {self.reason}"
        )


class LegacyDataError(MigrationError):
    """The legacy database holds rows that cannot be imported as they are (exit 1)."""

    def __init__(self, problems: list[LegacyValueProblem], total: int | None = None) -> None:
        self.problems = problems
        self.total = len(problems) if total is None else total
        lines = [str(p) for p in problems]
        if self.total > len(problems):
            lines.append(f"… and {self.total - len(problems)} more")
        noun = "problem" if self.total == 1 else "problems"
        super().__init__(
            f"legacy data: {self.total} {noun}, nothing was written:\n  " + "\n  ".join(lines)
        )


class ConflictError(MigrationError):
    """The event store already holds different data for a legacy row's aggregate."""


class VerificationFailed(MigrationError):
    """The views (or events) differ from the legacy tables (exit 1)."""

    def __init__(self, differences: list[str], total: int) -> None:
        self.differences = differences
        self.total = total
        lines = list(differences)
        if total > len(differences):
            lines.append(f"… and {total - len(differences)} more")
        super().__init__(f"verification found {total} differences:\n  " + "\n  ".join(lines))
