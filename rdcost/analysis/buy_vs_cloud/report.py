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
    per_used: Any = None  # rdcost.analysis.buy_vs_cloud.utilization.PerUsed
    capacity: dict[str, Any] | None = None  # rdcost.analysis.capacity.IdleResult.to_dict()

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
        pu = self.per_used
        if pu is not None:
            d["owned_utilization"] = pu.utilization
            d["owned_utilization_rule"] = pu.utilization_rule
            d["owned_fixed_usd_per_gpu_hour"] = pu.fixed_usd_per_gpu_hour
            d["owned_idle_electricity_usd_per_gpu_hour"] = pu.electricity_usd_per_idle_gpu_hour
            d["owned_usd_per_used_gpu_hour"] = pu.usd_per_used_gpu_hour
            per = pu.usd_per_used_gpu_hour
            gh = self.comparison.gpu_hours
            d["owned_usd_at_utilization"] = None if per is None else per * gh
            high = self.comparison.cloud_usd_high
            d["owned_at_utilization_to_cloud_high_ratio"] = (
                None if per is None or not high else per * gh / high
            )
        d["capacity"] = self.capacity
        d["sizing"] = None if self.sizing is None else _records(self.sizing)
        d["replay"] = self.replay
        d["notes"] = list(self.notes)
        d["assumptions"] = d.pop("assumptions")
        return json_ready(d)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: json_ready(v) for k, v in row.items()} for row in df.to_dict(orient="records")]
