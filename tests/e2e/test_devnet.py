"""`hedgebot.devnet`: finding anvil, the packaged contract artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgebot.devnet import AnvilNotFound, find_anvil, load_artifacts
from hedgebot.devnet.contracts import artifacts_path
from tests.contracts.build import COMMITTED_ARTIFACTS


def test_anvil_is_found_in_the_checkouts_node_tools() -> None:
    found = find_anvil(environ={})
    assert found.parts[-4:] == ("node_tools", "node_modules", ".bin", "anvil")


def test_an_anvil_named_by_the_environment_wins(tmp_path: Path) -> None:
    binary = tmp_path / "anvil"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert find_anvil(environ={"HEDGEBOT_ANVIL": str(binary)}) == binary


def test_a_missing_anvil_named_by_the_environment_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AnvilNotFound, match="HEDGEBOT_ANVIL=.*not an executable file"):
        find_anvil(environ={"HEDGEBOT_ANVIL": str(tmp_path / "nope")})


def test_no_anvil_anywhere_tells_the_user_to_run_make_demo(tmp_path: Path) -> None:
    with pytest.raises(AnvilNotFound, match="make demo") as caught:
        find_anvil(environ={}, start=tmp_path / "site-packages" / "hedgebot" / "devnet")
    assert str(tmp_path) in str(caught.value)


def test_the_package_ships_the_one_committed_artifacts_file() -> None:
    assert artifacts_path() == COMMITTED_ARTIFACTS
    artifacts = load_artifacts()
    assert {"MockERC20", "MockPyth", "MockOrderBookV4", "MockOrderBookV5"} <= set(artifacts)
    assert artifacts == load_artifacts(COMMITTED_ARTIFACTS)
    assert not (COMMITTED_ARTIFACTS.parents[3] / "tests" / "contracts" / "artifacts.json").exists()
