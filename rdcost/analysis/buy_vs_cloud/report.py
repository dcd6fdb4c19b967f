"""Everything ``rdcost compare-buy-vs-cloud`` prints (:class:`Report`) and its documented JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rdcost.analysis.buy_vs_cloud.comparison import Comparison
from rdcost.output.render import json_ready


@dataclass
class Report:
    """Everything ``rdcost compare-buy-vs-cloud`` prints (see :meth:`to_dict`)."""

    project: str | None
    n_jobs: int
    n_jobs_gpu_unknown: int
    comparison: Comparison
    project_gpu_key: str | None
    owned_server: str
    cloud_usd_committed_1y: float | None
    cloud_usd_committed_3y: float | None
    curve: pd.DataFrame
    sizing: pd.DataFrame | None
    replay: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON (docs/compare-buy-vs-cloud.md)."""
        d: dict[str, Any] = {
            "project": self.project,
            "n_jobs": self.n_jobs,
            "n_jobs_gpu_unknown": self.n_jobs_gpu_unknown,
        }
        d.update(self.comparison.to_dict())
        d["project_gpu_key"] = self.project_gpu_key
        d["owned_server"] = self.owned_server
        d["cloud_usd_committed_1y"] = self.cloud_usd_committed_1y
        d["cloud_usd_committed_3y"] = self.cloud_usd_committed_3y
        d["sizing"] = None if self.sizing is None else _records(self.sizing)
        d["replay"] = self.replay
        d["notes"] = list(self.notes)
        d["assumptions"] = d.pop("assumptions")
        return json_ready(d)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: json_ready(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
