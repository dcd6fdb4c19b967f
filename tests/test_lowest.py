"""The declared lower bounds are the versions CI tests.

``.ci/run`` installs ``.ci/lowest.txt`` (exact pins) in a second environment and runs the
parser, store and plot tests there; this test keeps that file and ``pyproject.toml``'s
``dependencies`` in step: every dependency's lower bound is its pin, and every pin of a
dependency is its lower bound.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lower_bounds() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for d in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?>=([0-9][^,;\s]*)(,.*)?", d.strip())
        assert m, f"dependency {d!r}: give a lower bound (NAME>=VERSION)"
        out[_norm(m.group(1))] = m.group(2)
    return out


def _pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".ci" / "lowest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f".ci/lowest.txt: {line!r} is not NAME==VERSION"
            out[_norm(name)] = version.strip()
    return out


def test_every_lower_bound_is_pinned_in_the_lowest_environment() -> None:
    pins = _pins()
    for name, version in _lower_bounds().items():
        assert pins.get(name) == version, (
            f"{name}: pyproject.toml says >={version}, .ci/lowest.txt pins {pins.get(name)}"
        )
