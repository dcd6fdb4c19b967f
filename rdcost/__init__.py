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

from rdcost.errors import RdcostError  # noqa: E402
from rdcost.jobtable.store import Store, default_store_path  # noqa: E402
from rdcost.readers.base import ParseOptions  # noqa: E402
from rdcost.readers.ingest import IngestReport, ingest, read_log, read_log_report  # noqa: E402
from rdcost.version import __version__


def open_store(path=None) -> Store:
    """The store at ``path`` (default: $RDCOST_STORE or ~/.local/share/rdcost/store)."""
    return Store(path)


def read_jobs(store=None, project: str | None = None, columns=None):
    """The stored job table as a pandas DataFrame (optionally one project's rows)."""
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
