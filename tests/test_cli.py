"""The CLI as users meet it: help, exit codes, stdout/stderr discipline."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from rdcost.cli import app


def run(*args: str, env_store=None, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rdcost", *args], capture_output=True,
                          text=True, input=input, timeout=120)


def command_names() -> list[str]:
    return sorted(c.name for c in typer.main.get_command(app).commands.values())


def test_top_level_help_lists_commands_with_an_example():
    r = run("--help")
    assert r.returncode == 0
    assert "Example" in r.stdout
    for name in command_names():
        assert name in r.stdout


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help_with_an_example(name):
    r = run(name, "--help")
    assert r.returncode == 0, r.stderr
    assert "Example" in r.stdout, f"`rdcost {name} --help` shows no example"
    assert f"rdcost {name}" in r.stdout


def test_missing_file_is_a_clear_error_without_traceback(tmp_path):
    r = run("ingest", str(tmp_path / "nope.txt"), "--store", str(tmp_path / "s"))
    assert r.returncode == 1
    assert "nope.txt" in r.stderr and "no such file" in r.stderr
    assert "Traceback" not in r.stderr


def test_empty_file_is_refused(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("")
    r = run("ingest", str(f), "--store", str(tmp_path / "s"))
    assert r.returncode == 1 and "empty" in r.stderr and "Traceback" not in r.stderr


def test_binary_file_is_refused(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(bytes(range(256)) * 64)
    r = run("ingest", str(f), "--store", str(tmp_path / "s"))
    assert r.returncode == 1 and "binary" in r.stderr and "Traceback" not in r.stderr


def test_unknown_option_is_a_usage_error():
    r = run("ingest", "--no-such-option", "x")
    assert r.returncode == 2


def test_jobs_on_an_empty_store_says_what_to_do(tmp_path):
    r = run("jobs", "--store", str(tmp_path / "s"))
    assert r.returncode == 1 and "rdcost ingest" in r.stderr
