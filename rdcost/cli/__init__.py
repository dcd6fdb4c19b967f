"""Command-line interface: thin commands over the library.

This package is the only place that prints, exits or reads environment
variables. ``main`` maps errors to exit codes: RdcostError/OSError -> 1 with
``rdcost: error: ...`` on stderr, usage errors -> 2, Ctrl-C -> 130.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import Abort, Exit

try:  # typer >= 0.2x vendors click; older releases use the click package
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click import ClickException

from ..errors import RdcostError, UsageError
from .app import app, err

# Each module registers its commands on `app` when imported.
from . import ingest_cmd, jobs_cmd, summarize_cmd, estimate_cmd, compare_cmd, groups_cmd, plot_cmd, report_cmd, card_cmd, tuning_cmd, usage_cmd  # noqa: E402,F401  isort: skip


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rdcost`` console script and ``python -m rdcost``."""
    command = typer.main.get_command(app)
    try:
        rc = command.main(args=argv, prog_name="rdcost", standalone_mode=False)
    except UsageError as exc:
        err.print(f"rdcost: error: {exc}", markup=False)
        sys.exit(2)
    except RdcostError as exc:
        err.print(f"rdcost: error: {exc}", markup=False)
        sys.exit(1)
    except OSError as exc:
        err.print(f"rdcost: error: {exc}", markup=False)
        sys.exit(1)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except Abort:
        err.print("rdcost: interrupted", markup=False)
        sys.exit(130)
    except ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("rdcost: interrupted", markup=False)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)
