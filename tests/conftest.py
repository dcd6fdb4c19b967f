"""Shared fixtures: paths to ../shared (skipped when absent), temporary stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RDCOST_SHARED", REPO.parent / "shared"))
REALWORLD = SHARED / "realworld"
SAMPLE_LOGS = REPO / "sample_logs"


@pytest.fixture
def realworld() -> Path:
    """../shared/realworld; tests that use it skip when it is absent."""
    if not REALWORLD.is_dir():
        pytest.skip(f"{REALWORLD} not present")
    return REALWORLD


def realworld_file(name: str) -> Path:
    p = REALWORLD / name
    if not p.is_file():
        pytest.skip(f"{p} not present")
    return p


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever touches the user's default store."""
    monkeypatch.setenv("RDCOST_STORE", str(tmp_path / "default-store"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
