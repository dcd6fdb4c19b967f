"""A CliRunner that keeps stdout and stderr apart under every click rdcost allows.

click 8.2 separates the two streams by default; click 8.1 (the lowest, which typer 0.15
takes) mixes stderr into the output unless told not to, which would put "753 jobs" after
the JSON a test parses.
"""

from __future__ import annotations

import inspect

from typer.testing import CliRunner


def cli_runner() -> CliRunner:
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()
