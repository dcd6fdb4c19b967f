"""Progress of long steps, for whoever shows it.

Library code marks its long steps with :func:`task` and advances it; nothing is shown
unless a front end installed a reporter (:func:`install`). The CLI installs a rich
progress bar on stderr when stderr is a terminal and ``--quiet`` is not given
(rdcost.cli.progress_bar), so piped output and tests see nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Task(Protocol):
    def advance(self, steps: float = 1, what: str | None = None) -> None:
        """``steps`` more done; ``what`` is being done now (shown beside the bar)."""


class _Silent:
    def advance(self, steps: float = 1, what: str | None = None) -> None:
        return None


Reporter = Callable[[str, "float | None"], AbstractContextManager[Task]]
_reporter: Reporter | None = None


def install(reporter: Reporter | None) -> None:
    """Show progress through ``reporter(description, total)`` (None: show nothing)."""
    global _reporter
    _reporter = reporter


@contextmanager
def task(description: str, total: float | None = None) -> Iterator[Task]:
    """A long step of ``total`` units (None: unknown), shown while it runs."""
    if _reporter is None:
        yield _Silent()
        return
    with _reporter(description, total) as t:
        yield t
