"""The typer application and the options shared by several commands.

Each command lives in its own module under ``rdcost.cli`` and registers on
``app``; options used by more than one command are defined once: here, and
the job-selection and assumption options in :mod:`rdcost.cli.assumption_options`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from rdcost.cli.lazy import LazyGroup, LazyTyper

if TYPE_CHECKING:
    import pandas as pd

    from rdcost.output.blocks import Document

app = LazyTyper(
    name="rdcost",
    cls=LazyGroup,
    help=(
        "What did this research really cost? Reads Slurm sacct, W&B, MLflow and CSV job "
        "logs into one job table, and reports jobs, grid searches, GPU-days, cloud and "
        "owned-hardware cost, energy and CO2e (the case study of Strubell et al., ACL 2019).\n\n"
        "Example:\n\n"
        "  rdcost ingest sacct.txt --tz Europe/Paris\n\n"
        "  rdcost summarize --project lisa --assumptions paper"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Messages, warnings and progress go to stderr; stdout carries data only.
err = Console(stderr=True, highlight=False, soft_wrap=True)


def out(text: str) -> None:
    """Write data to stdout (never decorated)."""
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")


def out_document(doc: Document, format: OutputFormat) -> None:
    """Write a view's document to stdout as text (``table``) or Markdown."""
    from rdcost.output.renderers import document

    out(document(doc, format.value))


def out_json(obj: Any) -> None:
    """Write a result's ``to_dict`` (or a data frame) to stdout as JSON."""
    from rdcost.output.renderers import json

    out(json.dumps(obj))


def out_csv(df: pd.DataFrame) -> None:
    """Write a data frame to stdout as CSV (formula-safe cells)."""
    from rdcost.output.renderers import csv

    out(csv.frame(df))


def print_notes(notes: Iterable[str]) -> None:
    """The notes of a result, one message each, on stderr."""
    for n in notes:
        err.print(f"rdcost: note: {n}", markup=False)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="RDCOST_STORE",
        show_envvar=True,
        help="Store directory (default: $XDG_DATA_HOME/rdcost/store, i.e. ~/.local/share/rdcost/store).",
        metavar="PATH",
    ),
]


class _State:
    """Global options (set by the app callback before any command runs)."""

    anonymize: bool = False
    quiet: bool = False


def _print_version(value: bool) -> None:
    if value:
        from rdcost.version import __version__

        sys.stdout.write(f"rdcost {__version__}\n")
        raise typer.Exit()


state = _State()


@app.callback()
def _global_options(
    anonymize: Annotated[
        bool,
        typer.Option(
            "--anonymize",
            envvar="RDCOST_ANONYMIZE",
            help="Replace users, accounts, job names, nodes, record keys and file paths with stable salted hashes in every "
            "output, so it can be shared (the salt, kept in the store, is never printed).",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            envvar="RDCOST_QUIET",
            help="No progress bars (they are also off when stderr is not a terminal). Notes, "
            "warnings and errors still print.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print rdcost's version and exit.",
        ),
    ] = False,
) -> None:
    state.anonymize = anonymize
    state.quiet = quiet
    from rdcost.cli.progress_bar import enable

    enable(quiet)


def load_jobs(
    store: Path | None, project: str | None = None, columns: list[str] | None = None, defs=None
):
    """The stored jobs every analysis command starts from (anonymized with --anonymize).

    ``defs``: project definitions (``--projects-file``); a project defined
    there is selected by its definition, before anonymizing. Exits 1 with a
    hint when the store holds nothing yet.
    """
    from rdcost.jobtable.store import Store

    st = Store(store)
    if not st.exists:
        err.print(
            f"rdcost: the store {st.path} is empty; run `rdcost ingest FILE` first", markup=False
        )
        raise typer.Exit(1)
    if defs and project in defs:
        from rdcost.analysis.projects import read_project_jobs

        jobs = read_project_jobs(st, project, defs)
    else:
        jobs = st.read_jobs(project=project, columns=columns)
    if state.anonymize:
        from rdcost.analysis.grouping import find_groups
        from rdcost.output.anonymize import anonymize, load_salt

        searches = find_groups(jobs) if "group_id" in jobs and "job_name" in jobs else None
        jobs = anonymize(jobs, load_salt(st.path), searches)
    return jobs


ProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        help="Only this project (the project column: an ingest --project tag, else the account, "
        "W&B project or MLflow experiment).",
        metavar="TEXT",
    ),
]
