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

# Each command module registers its commands on `app` when imported: `app` imports them
# all when its commands are read, `main` only the one it runs (rdcost.cli.lazy).
from rdcost.cli.app import app, err
from rdcost.cli.lazy import MODULES, load, load_all
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
    name = _command_name(sys.argv[1:] if argv is None else argv)
    app.load_on_read = False
    try:
        if name in MODULES:
            load(app, [MODULES[name]])
        elif name is not None:  # not a command: click suggests the closest of all of them
            load_all(app)
        command = _plain_arguments(typer.main.get_command(app))
    finally:
        app.load_on_read = True
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


def _command_name(args: list[str]) -> str | None:
    """The command ``args`` run: the first word that is no option (the root's options
    take no value), None for ``rdcost``, ``rdcost --help``."""
    for a in args:
        if a == "--":
            return None
        if not a.startswith("-"):
            return a
    return None


def _fail(exc: Exception, status: ExitStatus) -> None:
    err.print(f"rdcost: error: {exc}", markup=False)
    sys.exit(status)
