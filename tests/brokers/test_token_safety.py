"""No plaintext Schwab token, code or app secret in logs, errors, reprs or the event store.

The flow (login, placement, refresh by age and on 401, refused code, wrong key,
revoked and expired refresh tokens) runs in a fresh process with the production
logging configuration at DEBUG, httpx/httpcore included.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_plaintext_secret_leaks_anywhere(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.brokers.token_safety_flow", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    secrets: list[str] = json.loads((tmp_path / "secrets.json").read_text())
    facts = json.loads((tmp_path / "facts.json").read_text())
    said = (tmp_path / "said.txt").read_text()
    logs = completed.stdout + completed.stderr
    database = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("bot.db*")))

    # the flow really happened: a login, two refreshes, one refused refresh, four failures
    assert facts == {"refreshes": 3, "code_exchanges": 2}
    assert "schwab_access_token_refreshed" in logs
    assert "wrong encryption key or tampered ciphertext" in said
    assert "7-day limit" in said
    assert b"TokensStored" in database and b"AccessTokenRefreshed" in database
    assert len(secrets) >= 6

    basic = base64.b64encode(f"FAKEAPPKEY:{secrets[-1]}".encode()).decode()
    for secret in [*secrets, basic]:
        assert secret not in logs, f"a secret leaked into the logs: {secret[:6]}…"
        assert secret not in said, f"a secret leaked into an error or repr: {secret[:6]}…"
        assert secret.encode() not in database, f"a secret is in the store: {secret[:6]}…"
