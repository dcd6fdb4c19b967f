"""Commands imported when they run, not at start-up.

Each command module imports what its command needs (pandas, pyarrow, the analysis,
matplotlib...), which takes most of a second; ``rdcost --help`` and a command's own
run should not pay for the other commands. :data:`COMMANDS` names every command, the
module that registers it and the first sentence of its help (what ``rdcost --help``
lists); tests/test_cli.py checks that this table matches the commands themselves.

``app`` (a :class:`LazyTyper`) imports every command module the first time its
commands are read, so ``typer.main.get_command(app)`` is the whole application, as
before; :func:`rdcost.cli.main` turns that off and imports only the module of the
command it runs (all of them for a name it does not know, so that click can suggest
the closest one).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.core

#: (command, module that registers it, first sentence of its help), in the order
#: ``rdcost --help`` lists them (the order the modules register them).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "tuning",
        "rdcost.cli.tuning_cmd",
        "Hyperparameter tuning, per grid search: configurations tried, GPU-hours, the best "
        "result and its configuration; how much each hyperparameter moved the metric",
    ),
    (
        "report",
        "rdcost.cli.report_cmd",
        "A shareable report of a project: the summary tables, the plots, the R&D breakdown, waste,",
    ),
    (
        "card",
        "rdcost.cli.card_cmd",
        "The compute statement to publish with a paper (Strubell et al. 2019, section 5): hardware",
    ),
    (
        "compare-buy-vs-cloud",
        "rdcost.cli.compare_cmd",
        "Renting vs buying: the cloud cost of the project's GPU time (low-high) against "
        "buying N GPUs",
    ),
    (
        "estimate",
        "rdcost.cli.estimate_cmd",
        "Energy (kWh x PUE), CO2e and cloud cost of one training run: kWh = PUE x hours x "
        "watts / 1000,",
    ),
    (
        "groups",
        "rdcost.cli.groups_cmd",
        "List the grid searches: one row per search with its jobs, GPU-hours and how it was found.",
    ),
    (
        "export",
        "rdcost.cli.export_cmd",
        "The project's GPU time as FOCUS (FinOps Open Cost and Usage Specification) 1.x rows, one",
    ),
    ("ingest", "rdcost.cli.ingest_cmd", "Read log files into the job store."),
    (
        "jobs",
        "rdcost.cli.jobs_cmd",
        "Print the stored job table (json = a list of records with the schema's column names).",
    ),
    (
        "plot",
        "rdcost.cli.plot_cmd",
        "One plot of a project to PNG, SVG or PDF (headless), with units on every axis and the",
    ),
    (
        "summarize",
        "rdcost.cli.summarize_cmd",
        "The case study of a project: jobs, grid searches, GPU time, concurrency, the "
        "paper's Table 4",
    ),
    (
        "usage",
        "rdcost.cli.usage_cmd",
        "TRES-seconds (cpu, gres/gpu, gres/gpu:TYPE) per account in [--start, --end), with the "
        "rule for running jobs",
    ),
)
MODULES = {name: module for name, module, _ in COMMANDS}


class LazyTyper(typer.Typer):
    """A Typer app whose registered commands are complete when read (see the module doc)."""

    #: Import every command module when the commands are read (off in :func:`rdcost.cli.main`).
    load_on_read = True
    _loading = False

    @property
    def registered_commands(self) -> list[Any]:
        if self.load_on_read and not self._loading:
            load_all(self)
        return self._registered_commands

    @registered_commands.setter
    def registered_commands(self, value: list[Any]) -> None:
        self._registered_commands = value


def load_all(app: LazyTyper) -> None:
    """Import every command module (each registers its commands on ``app``)."""
    load(app, [module for _, module, _ in COMMANDS])


def load(app: LazyTyper, modules: list[str]) -> None:
    app._loading = True
    try:
        for module in modules:
            importlib.import_module(module)
    finally:
        app._loading = False


class LazyGroup(typer.core.TyperGroup):
    """The root command: lists every command of :data:`COMMANDS`, those not imported
    with the help sentence of the table (click shortens it the same way)."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return names + [n for n, _, _ in COMMANDS if n not in self.commands]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None and cmd_name in MODULES:
            from rdcost.cli.app import app

            load(app, [MODULES[cmd_name]])
            cmd = typer.main.get_command(app).commands.get(cmd_name)  # type: ignore[attr-defined]
        return cmd

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        stand_ins = {
            name: typer.core.TyperCommand(name, help=text)
            for name, _, text in COMMANDS
            if name not in self.commands
        }
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name) or stand_ins.get(name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])
