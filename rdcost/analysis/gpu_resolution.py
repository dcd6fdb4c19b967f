"""Which GPU each job's GPU-hours ran on, by a stated chain, so that every GPU-hour gets
a price and a power (docs/summarize.md, "Which GPU").

For each job with GPU time, the first step that names a ``gpus.csv`` key wins:

1. ``exact``: the logged type names one GPU (its key, a listed name, a user alias);
2. ``normalised``: the type read by its tokens, a MIG slice's parent, or a documented
   default for an ambiguous name (:mod:`rdcost.analysis.gpu_names`);
3. ``site``: the site's mapping of partitions or node names to a GPU (``[gpu_sites]``
   in an assumptions TOML, or ``--gpu-partition``/``--gpu-node``);
4. ``partition`` / ``node``: the type that the typed jobs of the same partition (by
   GPU-hours), else of the same node, show in the data;
5. ``unidentified``: an unidentified GPU, priced and powered as the range of the
   data-centre GPUs of its year (:func:`rdcost.analysis.reference.unidentified_gpu`).

``--on-missing error`` stops where step 3 would be needed; ``--on-missing unknown``
leaves those jobs' money and energy unknown (and counted) instead of step 5.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rdcost.analysis import reference
from rdcost.analysis.per_value import codes_and_values, per_value, spread

#: The steps of the chain, in order, as the summary reports them.
RULES = ("exact", "normalised", "site", "partition", "node", "unidentified")
#: The pseudo key of a GPU no step could name.
UNIDENTIFIED = "unidentified"
#: Characters of a node list that names several nodes (``gpu[01-04]``, ``a,b``).
_SEVERAL_NODES = re.compile(r"[\[,\s]")
_EXACT_KINDS = ("exact_key", "alias", "table_name")
_NORMALISED_KINDS = ("normalised", "mig_parent", "default_alias")


def single_node(node_list: pd.Series) -> pd.Series:
    """The node of a job that ran on one node (``gpu017``), else null (lists, ranges)."""
    one = per_value(node_list, lambda v: None if _SEVERAL_NODES.search(v) else v)
    return pd.Series(one, index=node_list.index, dtype="string")


@dataclass
class GpuEvidence:
    """GPU-hours of the typed jobs per (partition, key) and (node, key): what step 4 reads.
    Collected per partition of the store and merged."""

    by_partition: defaultdict[tuple[str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )  # GPU-hours
    by_node: defaultdict[tuple[str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )  # GPU-hours

    @classmethod
    def of(cls, jobs: pd.DataFrame, aliases: Mapping[str, str] | None = None) -> GpuEvidence:
        keys, rules = type_keys(jobs["gpu_type"], aliases)
        gh = (
            pd.to_numeric(jobs["n_gpus"]).astype("float64")
            * pd.to_numeric(jobs["elapsed_s"]).astype("float64")
            / 3600
        )
        typed = keys.notna() & (gh > 0).fillna(False)
        ev = cls()
        if not typed.any():
            return ev
        frame = pd.DataFrame({"key": keys, "gh": gh})[typed.to_numpy(dtype=bool)]
        for col, counter in (("partition", ev.by_partition), ("node", ev.by_node)):
            where = jobs["partition"] if col == "partition" else single_node(jobs["node_list"])
            f = frame.assign(
                where=where.astype("string")[typed.to_numpy(dtype=bool)].to_numpy()
            ).dropna()
            for (w, k), v in f.groupby(["where", "key"])["gh"].sum().items():
                counter[(str(w), str(k))] += float(v)
        return ev

    def merge(self, other: GpuEvidence) -> GpuEvidence:
        for mine, theirs in (
            (self.by_partition, other.by_partition),
            (self.by_node, other.by_node),
        ):
            for k, v in theirs.items():
                mine[k] += v
        return self

    @staticmethod
    def _majority(counter: Mapping[tuple[str, str], float]) -> dict[str, str]:
        best: dict[str, tuple[float, str]] = {}
        for (where, key), gh in sorted(counter.items()):
            if where not in best or gh > best[where][0]:
                best[where] = (gh, key)
        return {w: k for w, (_, k) in best.items()}


def type_keys(
    gpu_type: pd.Series, aliases: Mapping[str, str] | None = None
) -> tuple[pd.Series, pd.Series]:
    """The key and chain step (exact / normalised / None) of each logged GPU type."""
    table = dict(aliases or {})

    def key_and_rule(name: str) -> tuple[str | None, str | None]:
        m = reference.gpu_match(name, table)
        rule = (
            "exact"
            if m.how in _EXACT_KINDS
            else "normalised"
            if m.how in _NORMALISED_KINDS
            else None
        )
        return m.key, rule

    codes, names = codes_and_values(gpu_type)
    pairs = [key_and_rule(n) for n in names]
    keys = spread(codes, [k for k, _ in pairs])
    rules = spread(codes, [r for _, r in pairs])
    return (
        pd.Series(keys, index=gpu_type.index, dtype="string"),
        pd.Series(rules, index=gpu_type.index, dtype="string"),
    )


@dataclass
class GpuResolver:
    """The chain of the module doc, ready to apply: aliases, the site's mapping, and the
    majority type of each partition and node in the data."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    site_partitions: Mapping[str, str] = field(default_factory=dict)
    site_nodes: Mapping[str, str] = field(default_factory=dict)  # glob -> key
    partition_keys: Mapping[str, str] = field(default_factory=dict)
    node_keys: Mapping[str, str] = field(default_factory=dict)
    fallback: str | None = UNIDENTIFIED  # None: no step 5

    @classmethod
    def build(
        cls,
        evidence: GpuEvidence,
        aliases: Mapping[str, str],
        site_partitions: Mapping[str, str],
        site_nodes: Mapping[str, str],
        fallback: str | None = UNIDENTIFIED,
    ) -> GpuResolver:
        return cls(
            aliases,
            site_partitions,
            site_nodes,
            GpuEvidence._majority(evidence.by_partition),
            GpuEvidence._majority(evidence.by_node),
            fallback,
        )

    def resolve(self, jobs: pd.DataFrame) -> pd.DataFrame:
        """Per job (same index): ``gpu_key`` and ``gpu_key_rule`` (one of :data:`RULES`);
        null for jobs with no GPU time (no GPUs, or none known)."""
        keys, rules = type_keys(jobs["gpu_type"], self.aliases)
        n_gpus = pd.to_numeric(jobs["n_gpus"]).astype("float64")
        needs = ((n_gpus > 0).fillna(False) & keys.isna()).to_numpy(dtype=bool)
        keys, rules = keys.astype(object).copy(), rules.astype(object).copy()
        if needs.any():
            part = (
                jobs["partition"].astype("string")
                if "partition" in jobs
                else pd.Series(pd.NA, index=jobs.index)
            )
            node = (
                single_node(jobs["node_list"])
                if "node_list" in jobs
                else pd.Series(pd.NA, index=jobs.index)
            )
            combos = pd.DataFrame({"p": part, "n": node})[needs].astype(object)
            combos = combos.where(combos.notna(), None)
            found = {}
            for p, nd in set(map(tuple, combos.to_numpy().tolist())):
                found[(p, nd)] = self._fallbacks(p, nd)
            idx = np.flatnonzero(needs)
            picked = [found[(p, nd)] for p, nd in combos.itertuples(index=False, name=None)]
            keys.iloc[idx] = [k for k, _ in picked]
            rules.iloc[idx] = [r for _, r in picked]
        no_time = ~(n_gpus > 0).fillna(False).to_numpy(dtype=bool)
        keys[no_time] = keys[no_time].where(keys[no_time].notna(), None)
        rules[no_time] = None
        return pd.DataFrame(
            {"gpu_key": keys.astype("string"), "gpu_key_rule": rules.astype("string")},
            index=jobs.index,
        )

    def _fallbacks(self, partition: str | None, node: str | None) -> tuple[str | None, str | None]:
        """Steps 3-5 for a job with no readable type."""
        if partition is not None:
            for name in str(partition).split(","):  # a never-started job may list several
                if name in self.site_partitions:
                    return self.site_partitions[name], "site"
        if node is not None:
            for pattern, key in self.site_nodes.items():
                if fnmatch.fnmatchcase(str(node), pattern):
                    return key, "site"
        if partition is not None and partition in self.partition_keys:
            return self.partition_keys[partition], "partition"
        if node is not None and node in self.node_keys:
            return self.node_keys[node], "node"
        return (self.fallback, "unidentified") if self.fallback else (None, None)
