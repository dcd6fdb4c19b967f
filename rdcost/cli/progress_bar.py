"""The CLI's progress bar: rich on stderr, transient, only for a terminal and without
--quiet (rdcost.progress holds the library side)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rdcost import progress


class _Bar:
    def __init__(self, bar, task_id) -> None:
        self._bar, self._id = bar, task_id

    def advance(self, steps: float = 1, what: str | None = None) -> None:
        if what is None:
            self._bar.advance(self._id, steps)
        else:
            self._bar.update(self._id, advance=steps, what=what)


@contextmanager
def _rich(description: str, total: float | None) -> Iterator[_Bar]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from rdcost.cli.app import err

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}" if total else ""),
        TimeElapsedColumn(),
        TextColumn("{task.fields[what]}"),
        console=err,
        transient=True,
    ) as bar:
        yield _Bar(bar, bar.add_task(description, total=total, what=""))


def enable(quiet: bool) -> None:
    """Show progress on stderr when it is a terminal and the user did not ask for quiet."""
    from rdcost.cli.app import err

    progress.install(_rich if (not quiet and err.is_terminal) else None)
