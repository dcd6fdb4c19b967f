"""Command-line interface: thin commands over the library.

This package is the only place that prints, exits or reads environment
variables. ``main`` maps errors to exit statuses (:class:`ExitStatus`):
RdcostError/OSError -> 1 with ``rdcost: error: ...`` on stderr, usage errors -> 2,
Ctrl-C -> 130.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import Any

import typer

# Each module registers its commands on `app` when imported.
from rdcost.cli import (  # noqa: F401
    card_cmd,
    compare_cmd,
    estimate_cmd,
    export_cmd,
    groups_cmd,
    ingest_cmd,
    jobs_cmd,
    plot_cmd,
    report_cmd,
    summarize_cmd,
    tuning_cmd,
    usage_cmd,
)
from rdcost.cli.app import app, err
from rdcost.errors import RdcostError, UsageError

#: click's exception base, found through typer's public API (typer vendors click from
#: 0.26 on, and earlier releases use the click package: BadParameter derives from it either way).
ClickException: Any = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class ExitStatus(IntEnum):
    """What ``rdcost`` exits with."""

    OK = 0
    ERROR = 1  # bad input or store: `rdcost: error: FILE:LINE: ...`
    USAGE = 2  # an option or argument that cannot work
    INTERRUPTED = 130  # Ctrl-C


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rdcost`` console script and ``python -m rdcost``."""
    command = _plain_arguments(typer.main.get_command(app))
    try:
        rc = command.main(args=argv, prog_name="rdcost", standalone_mode=False)
    except UsageError as exc:
        _fail(exc, ExitStatus.USAGE)
    except (RdcostError, OSError) as exc:
        _fail(exc, ExitStatus.ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("rdcost: interrupted", markup=False)
        sys.exit(ExitStatus.INTERRUPTED)
    except ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(rc if isinstance(rc, int) else ExitStatus.OK)


def _plain_arguments(command):
    """Arguments shown in --help by their metavar alone (``FILE...``), not with their
    Python type (``<list[Path]>``): readers of --help are not Python programmers."""
    for sub in getattr(command, "commands", {}).values():
        for param in sub.params:
            if param.param_type_name == "argument" and param.metavar:
                param.display_type_rich = lambda ctx: None
    return command


def _fail(exc: Exception, status: ExitStatus) -> None:
    err.print(f"rdcost: error: {exc}", markup=False)
    sys.exit(status)
