"""rdcost: what did this research really cost?

Reads the job logs a project leaves behind (Slurm sacct in all its forms,
W&B and MLflow exports, plain CSV) into one normalized job table, and
reproduces the case study of Strubell, Ganesh & McCallum (ACL 2019) from it.

Python API (the CLI is a thin layer over it)::

    import rdcost
    jobs = rdcost.read_log("sacct.txt", tz="UTC")        # one file -> job rows
    report = rdcost.ingest(["sacct.txt"], store="store")  # files -> store
    jobs = rdcost.open_store("store").read_jobs(project="lisa")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdcost.errors import RdcostError
from rdcost.version import __version__

if TYPE_CHECKING:
    from rdcost.jobtable.store import Store, default_store_path
    from rdcost.readers.base import ParseOptions
    from rdcost.readers.ingest import IngestReport, ingest, read_log, read_log_report

#: Names of the API loaded on first use (PEP 562), so that ``import rdcost`` and the CLI's
#: start-up do not import pandas and pyarrow before a command needs them.
_LAZY = {
    "Store": "rdcost.jobtable.store",
    "default_store_path": "rdcost.jobtable.store",
    "ParseOptions": "rdcost.readers.base",
    "IngestReport": "rdcost.readers.ingest",
    "ingest": "rdcost.readers.ingest",
    "read_log": "rdcost.readers.ingest",
    "read_log_report": "rdcost.readers.ingest",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rdcost' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def open_store(path=None) -> Store:
    """The store at ``path`` (default: $RDCOST_STORE or ~/.local/share/rdcost/store)."""
    from rdcost.jobtable.store import Store

    return Store(path)


def read_jobs(store=None, project: str | None = None, columns=None):
    """The stored job table as a pandas DataFrame (optionally one project's rows)."""
    from rdcost.jobtable.store import Store

    return Store(store).read_jobs(project=project, columns=columns)


__all__ = [
    "__version__",
    "RdcostError",
    "ParseOptions",
    "IngestReport",
    "Store",
    "default_store_path",
    "ingest",
    "open_store",
    "read_jobs",
    "read_log",
    "read_log_report",
]
