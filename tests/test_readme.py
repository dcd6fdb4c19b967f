"""The README's console examples are what the tool prints now.

Every ```console block of README.md is run, in README order, in one temporary home
(so an example's ``rdcost ingest`` fills the store that later examples read), and its
output (stdout and stderr, as a terminal shows them) is compared with the block:

- a command is a line ``$ rdcost ARGS``; a ``# comment`` is dropped, and the output may
  be piped through ``head -N`` or ``sed -n A,Bp`` (applied here in Python);
- a block without ``...`` must equal the output line for line;
- in a block with ``...``, a line that is just ``...`` stands for lines left out, and a
  line ending in `` ...`` for the rest of a long line; the shown lines between two
  ``...`` must be consecutive lines of the output, in order, and a block that does
  not start (end) with ``...`` must start (end) where the output does;
- the store sits in the temporary home's ``~/.local/share/rdcost/store``, printed
  as ``/root/...``: the README shows root's home.

An example that cannot be checked this way is marked in the README by the line
``<!-- readme-test: skip REASON -->`` right above its fence; any other console block
whose command is not an rdcost command fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHOWN_HOME = "/root"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b(.*?)-->")
GAP = "..."


@dataclass
class Command:
    line: int  # 1-based line of the README
    text: str  # after the "$ "
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int
    commands: list[Command]
    skip: str | None  # the reason, when marked


def console_blocks(text: str) -> list[Block]:
    """The ```console blocks of a Markdown text, each split into its commands."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        prev = lines[i - 1] if i else ""
        m = SKIP.search(prev)
        block = Block(i + 1, [], m.group(1).strip() if m else None)
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            if lines[i].startswith("$ "):
                block.commands.append(Command(i + 1, lines[i][2:]))
            elif block.commands:
                block.commands[-1].shown.append(lines[i])
            else:
                raise AssertionError(f"README.md:{i + 1}: output before the first '$ ' command")
            i += 1
        blocks.append(block)
        i += 1
    return blocks


def _pipeline(text: str) -> tuple[list[str], list[list[str]]]:
    """``rdcost ARGS | filter | ...`` -> the rdcost arguments and the filters."""
    words = shlex.split(text, comments=True)
    stages: list[list[str]] = [[]]
    for w in words:
        if w == "|":
            stages.append([])
        else:
            stages[-1].append(w)
    return stages[0], stages[1:]


def _filter(lines: list[str], stage: list[str]) -> list[str]:
    match stage:
        case ["head", n] if n.startswith("-") and n[1:].isdigit():
            return lines[: int(n[1:])]
        case ["head", "-n", n] if n.isdigit():
            return lines[: int(n)]
        case ["sed", "-n", spec] if re.fullmatch(r"\d+,\d+p", spec):
            a, b = (int(x) for x in spec[:-1].split(","))
            return lines[a - 1 : b]
    raise AssertionError(f"a README filter this test does not know: {' '.join(stage)}")


def _trimmed(lines: list[str]) -> list[str]:
    out = [ln.rstrip() for ln in lines]
    while out and not out[-1]:
        out.pop()
    return out


def run(command: Command, home: Path) -> list[str]:
    """The lines the command prints (stdout and stderr), as the README would show them."""
    argv, filters = _pipeline(command.text)
    assert argv and argv[0] == "rdcost", (
        f"README.md:{command.line}: not an rdcost command; mark the block with "
        "'<!-- readme-test: skip REASON -->' if it cannot be checked"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RDCOST_STORE", "XDG_DATA_HOME")}
    env.update(HOME=str(home), NO_COLOR="1", TERM="dumb")
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    proc = subprocess.run(
        [sys.executable, "-m", "rdcost", *argv[1:]],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"README.md:{command.line}: $ {command.text}\n{proc.stdout}"
    lines = proc.stdout.replace(str(home), SHOWN_HOME).splitlines()
    for stage in filters:
        lines = _filter(lines, stage)
    return _trimmed(lines)


def _same(shown: str, printed: str) -> bool:
    if shown.endswith(" " + GAP):
        return printed.startswith(shown[: -len(GAP)].rstrip())
    return shown == printed


def mismatch(shown: list[str], printed: list[str]) -> str | None:
    """Why ``printed`` is not what ``shown`` shows (None: it is); see the module doc."""
    shown = _trimmed(shown)
    if GAP not in shown and not any(s.endswith(" " + GAP) for s in shown):
        if shown == printed:
            return None
        return "differs:\n" + "\n".join(_diff(shown, printed))
    segments: list[list[str]] = [[]]
    for s in shown:
        if s == GAP:
            segments.append([])
        else:
            segments[-1].append(s)
    at = 0
    for k, seg in enumerate(segments):
        if not seg:
            continue
        first, last = k == 0, k == len(segments) - 1
        starts = [0] if first else range(at, len(printed) - len(seg) + 1)
        for start in starts:
            window = printed[start : start + len(seg)]
            if len(window) == len(seg) and all(map(_same, seg, window)):
                if last and start + len(seg) != len(printed):
                    continue
                at = start + len(seg)
                break
        else:
            where = "at the start" if first else ("at the end" if last else "in order")
            return f"these lines are not printed {where}:\n" + "\n".join(seg)
    return None


def _diff(shown: list[str], printed: list[str]) -> list[str]:
    import difflib

    return list(difflib.unified_diff(shown, printed, "README", "printed", lineterm=""))


BLOCKS = console_blocks(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str] | Exception]:
    """Every checked command's output, by README line, run in README order."""
    home = tmp_path_factory.mktemp("home")
    out: dict[int, list[str] | Exception] = {}
    for block in BLOCKS:
        if block.skip is not None:
            continue
        for c in block.commands:
            try:
                out[c.line] = run(c, home)
            except AssertionError as exc:  # reported by that command's test
                out[c.line] = exc
    return out


def test_readme_has_console_examples() -> None:
    assert len([b for b in BLOCKS if b.skip is None]) >= 4


def test_every_unchecked_example_says_why() -> None:
    for b in BLOCKS:
        if b.skip is not None:
            assert b.skip, f"README.md:{b.line}: readme-test: skip without a reason"


@pytest.mark.parametrize(
    "command",
    [c for b in BLOCKS if b.skip is None for c in b.commands],
    ids=lambda c: f"line{c.line}",
)
def test_console_example(command: Command, printed: dict) -> None:
    got = printed[command.line]
    if isinstance(got, Exception):
        raise got
    why = mismatch(command.shown, got)
    assert why is None, f"README.md:{command.line}: $ {command.text}\n{why}"


def test_mismatch_rules() -> None:
    out = ["a", "b", "c long line", "d", "e"]
    assert mismatch(["a", "b", "c long line", "d", "e"], out) is None
    assert mismatch(["a", "b"], out) is not None  # no ... : the whole output
    assert mismatch(["a", "b", "...", "d", "e"], out) is None
    assert mismatch(["a", "...", "c long ...", "..."], out) is None
    assert mismatch(["a", "...", "d", "c long line", "..."], out) is not None  # order
    assert mismatch(["a", "c long line", "..."], out) is not None  # not consecutive
    assert mismatch(["b", "..."], out) is not None  # not at the start
    assert mismatch(["...", "d"], out) is not None  # not at the end
    assert _filter(out, ["head", "-2"]) == ["a", "b"]
    assert _filter(out, ["sed", "-n", "2,3p"]) == ["b", "c long line"]
