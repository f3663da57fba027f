"""Compile the Solidity test contracts (solc's JS API from node_tools) and load artifacts.

There is ONE compiled copy: ``src/hedgebot/devnet/artifacts.json``, package data of
`hedgebot.devnet` (the demo deploys these contracts at run time, without node). The
anvil tests compile the sources afresh in their session set-up (proving they compile)
and check that the committed file is what they compile to. Regenerate it with
``.venv/bin/python -m tests.contracts.build``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hedgebot.devnet.contracts import Artifacts
from hedgebot.devnet.contracts import load_artifacts as load_packaged

CONTRACTS_DIR = Path(__file__).resolve().parent
ROOT = CONTRACTS_DIR.parent.parent
COMMITTED_ARTIFACTS = ROOT / "src" / "hedgebot" / "devnet" / "artifacts.json"
SOLC_MODULE = ROOT / "node_tools" / "node_modules" / "solc"
ANVIL = ROOT / "node_tools" / "node_modules" / ".bin" / "anvil"


def node_tools_missing() -> str | None:
    """Why the anvil tests cannot run here, or None when they can."""
    if not ANVIL.exists():
        return f"node_tools is not installed ({ANVIL} is missing): run `make node`"
    if not SOLC_MODULE.exists():
        return f"node_tools is not installed ({SOLC_MODULE} is missing): run `make node`"
    if shutil.which("node") is None:
        return "node is not on PATH"
    return None


def compile_contracts(out: Path) -> Artifacts:
    """Compile every ``tests/contracts/*.sol``; raises with solc's messages on failure."""
    result = subprocess.run(
        ["node", str(CONTRACTS_DIR / "compile.js"), str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"solc failed:\n{result.stderr}")
    return load_artifacts(out)


def load_artifacts(path: Path = COMMITTED_ARTIFACTS) -> Artifacts:
    return load_packaged(path)


if __name__ == "__main__":
    compile_contracts(COMMITTED_ARTIFACTS)
    print(f"wrote {COMMITTED_ARTIFACTS}")
