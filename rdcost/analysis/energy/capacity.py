"""How many GPUs a node has, as the data shows it: what tells a job that held a whole node
(its node's energy counter is its own) from one that shared it (the counter also holds
other jobs' draw).

The capacity of a node is the most GPUs one single-node job held on it; of a partition, the
most GPUs per node any of its jobs held. ``[site] gpus_per_node`` replaces both. Collected
per partition of the store and merged, like the GPU evidence of
:mod:`rdcost.analysis.gpu_resolution`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rdcost.analysis.gpu_resolution import single_node


@dataclass
class NodeCapacity:
    """Most GPUs per node seen per node name and per partition."""

    by_node: dict[str, float] = field(default_factory=dict)
    by_partition: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, jobs: pd.DataFrame) -> NodeCapacity:
        cap = cls()
        if "n_gpus" not in jobs or "n_nodes" not in jobs:
            return cap
        per_node = _gpus_per_node(jobs)
        ok = ~np.isnan(per_node) & (per_node > 0)
        if not ok.any():
            return cap
        if "node_list" in jobs:
            node = single_node(jobs["node_list"]).to_numpy(dtype=object)
            f = pd.DataFrame({"w": node[ok], "g": per_node[ok]}).dropna()
            cap.by_node = {str(k): float(v) for k, v in f.groupby("w")["g"].max().items()}
        if "partition" in jobs:
            part = jobs["partition"].astype("string").to_numpy(dtype=object)
            f = pd.DataFrame({"w": part[ok], "g": per_node[ok]}).dropna()
            cap.by_partition = {str(k): float(v) for k, v in f.groupby("w")["g"].max().items()}
        return cap

    def merge(self, other: NodeCapacity) -> NodeCapacity:
        for mine, theirs in (
            (self.by_node, other.by_node),
            (self.by_partition, other.by_partition),
        ):
            for k, v in theirs.items():
                mine[k] = max(mine.get(k, 0.0), v)
        return self

    def of_jobs(self, jobs: pd.DataFrame, site_gpus_per_node: int | None) -> np.ndarray:
        """Each job's node capacity (GPUs per node): the site's, else its node's, else its
        partition's; NaN when none is known."""
        n = len(jobs)
        if site_gpus_per_node is not None:
            return np.full(n, float(site_gpus_per_node))
        out = np.full(n, np.nan)
        if "partition" in jobs:
            out = (
                jobs["partition"]
                .astype("string")
                .map(self.by_partition)
                .to_numpy(dtype=float, na_value=np.nan)
            )
        if "node_list" in jobs:
            by_node = (
                single_node(jobs["node_list"])
                .map(self.by_node)
                .to_numpy(dtype=float, na_value=np.nan)
            )
            out = np.where(np.isnan(by_node), out, by_node)
        return out


def _gpus_per_node(jobs: pd.DataFrame) -> np.ndarray:
    g = pd.to_numeric(jobs["n_gpus"]).astype("float64").to_numpy()
    nodes = pd.to_numeric(jobs["n_nodes"]).astype("float64").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nodes > 0, g / nodes, np.nan)


def gpus_per_node(jobs: pd.DataFrame) -> np.ndarray:
    """GPUs each job held per node (NaN when the GPU or node count is unknown)."""
    return _gpus_per_node(jobs)
