"""What a person sees while a command runs (issue 18): `rdcost --version`, and a progress
bar on a terminal's stderr that never reaches pipes or --quiet runs."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from rdcost.version import __version__
from tests.conftest import SAMPLE_LOGS


def test_version():
    r = subprocess.run(
        [sys.executable, "-m", "rdcost", "--version"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and r.stdout == f"rdcost {__version__}\n"


def _on_a_terminal(args: list[str]) -> tuple[int, str, str]:
    """Run rdcost with stderr on a pseudo-terminal (as in an interactive shell); stdout piped."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    p = subprocess.Popen(
        [sys.executable, "-m", "rdcost", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif p.poll() is not None:
            break
    out = p.stdout.read().decode() if p.stdout else ""
    p.wait(timeout=120)
    os.close(master)
    return p.returncode, out, seen.decode(errors="replace")


@pytest.fixture(scope="module")
def lisa_store(tmp_path_factory) -> Path:
    st = tmp_path_factory.mktemp("lisa") / "store"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rdcost",
            "ingest",
            str(SAMPLE_LOGS / "lisa" / "sacct.txt"),
            "--project",
            "lisa",
            "--store",
            str(st),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return st


def test_progress_shows_on_a_terminal_and_not_with_quiet(lisa_store, tmp_path):
    args = ["plot", "job-lengths", "--store", str(lisa_store), "-p", "lisa"]
    code, _, err = _on_a_terminal([*args, "-o", str(tmp_path / "a.png")])
    assert code == 0, err
    assert "analysing the jobs" in err  # the bar's description, drawn while it ran
    code, _, err = _on_a_terminal(["--quiet", *args, "-o", str(tmp_path / "b.png")])
    assert code == 0, err
    assert "analysing the jobs" not in err and (tmp_path / "b.png").stat().st_size > 0


def test_no_progress_reaches_a_pipe(lisa_store, tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rdcost",
            "plot",
            "job-lengths",
            "--store",
            str(lisa_store),
            "-p",
            "lisa",
            "-o",
            str(tmp_path / "c.png"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "analysing" not in r.stderr and "\x1b[" not in r.stderr
