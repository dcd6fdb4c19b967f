"""Breakdowns: the summary's job counts, GPU-hours, money, energy, CO2e and waste per group
(user, account, partition, qos, project, GPU type, month, week, or a level of a site
hierarchy), computed in the summary's design: one :class:`GroupPartial` per partition of
exact sums keyed by the group (:func:`breakdown_partial`), merged by :func:`combine_groups`
into a :class:`Breakdown`. Exact sums make the groups add up to the project's totals
whatever the split; every group counts the same jobs the summary counts (implausible
records left out unless included, jobs of unknown GPU count counted as jobs and left out
of the GPU-hours).

Rules (docs/breakdowns.md):

- A job belongs to one group per key: its value of the column, or for ``month`` and
  ``week`` the month (``2018-01``) or ISO week (``2018-W05``) of the time it is placed at
  (its start, else its submission; UTC). A job crossing a month boundary counts in the
  month it started (``rdcost usage`` splits time at window edges).
- A level of the site hierarchy (``group``, ``department``, ``division``) is looked up from
  the job's account in the hierarchy file; an account the file does not name is unknown.
- A missing value is its own group, shown as unknown (JSON null).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.summary.exact import exact_float, exact_sums
from rdcost.analysis.summary.job_costs import IMPACT, MONEY, WASTE_CATEGORIES
from rdcost.analysis.summary.partial import counted_jobs
from rdcost.errors import AssumptionError, UsageError
from rdcost.jsonable import json_ready

#: Keys that are columns of the job table.
COLUMN_KEYS = ("user", "account", "partition", "qos", "project", "gpu_type")
#: Keys computed from the time a job is placed at.
TIME_KEYS = ("month", "week", "day")
#: Levels of a site hierarchy (looked up from the account).
HIERARCHY_LEVELS = ("group", "department", "division")
KEYS = (*COLUMN_KEYS, *TIME_KEYS, *HIERARCHY_LEVELS)
#: Sums kept per group (exact, as the summary's).
SUMS = ("gpu_hours", *MONEY, *IMPACT)
WASTE_SUMS = ("gpu_hours", "cloud_usd_low", "cloud_usd_high", "energy_kwh", "co2e_kg")
#: Counts kept per group.
COUNTS = ("n_jobs", "n_jobs_started", "n_jobs_gpu_unknown", "n_jobs_implausible", "n_jobs_waste")


class HierarchyError(AssumptionError):
    """A site hierarchy file that cannot be read."""


@dataclass(frozen=True)
class Hierarchy:
    """Accounts -> group, department, division (a site hierarchy file)."""

    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    path: str | None = None

    def level(self, accounts: pd.Series, level: str) -> pd.Series:
        """The ``level`` of each account (NA where the file does not name it)."""
        table = {k: v.get(level) for k, v in self.accounts.items() if v.get(level) is not None}
        return accounts.astype("string").map(table).astype("string")


def load_hierarchy(path: str | Path) -> Hierarchy:
    """A site hierarchy TOML file: one table per account under ``[accounts]`` with any of
    ``group``, ``department``, ``division`` (strings). Unknown keys are errors."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HierarchyError(f"cannot read the hierarchy file: {exc}", path=str(p)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise HierarchyError(f"not valid TOML: {exc}", path=str(p)) from exc
    extra = sorted(set(data) - {"accounts", "source"})
    if extra:
        raise HierarchyError(
            f"unknown table(s) {extra}",
            path=str(p),
            hint="a hierarchy file has [accounts.NAME] tables",
        )
    accounts = data.get("accounts", {})
    if not isinstance(accounts, dict):
        raise HierarchyError("accounts must be a table", path=str(p))
    out: dict[str, dict[str, str]] = {}
    for name, levels in accounts.items():
        if not isinstance(levels, dict):
            raise HierarchyError(
                f"accounts.{name} must be a table of {', '.join(HIERARCHY_LEVELS)}",
                path=str(p),
                value=repr(levels),
            )
        wrong = sorted(set(levels) - set(HIERARCHY_LEVELS))
        if wrong:
            raise HierarchyError(
                f"accounts.{name}: unknown level(s) {wrong}",
                path=str(p),
                hint=f"levels: {', '.join(HIERARCHY_LEVELS)}",
            )
        for k, v in levels.items():
            if not isinstance(v, str) or not v.strip():
                raise HierarchyError(
                    f"accounts.{name}.{k} must be a non-empty string", path=str(p), value=repr(v)
                )
        out[str(name)] = {k: str(v) for k, v in levels.items()}
    return Hierarchy(out, str(p))


def parse_keys(given: Iterable[str] | None) -> tuple[str, ...]:
    """``--by`` values (repeated or comma-separated) as a tuple of keys, in order, each once."""
    out: list[str] = []
    for item in given or ():
        for k in str(item).split(","):
            k = k.strip()
            if not k:
                continue
            if k not in KEYS:
                raise UsageError(
                    f"--by: unknown key {k!r}; use {', '.join(KEYS)}",
                    value=k,
                )
            if k not in out:
                out.append(k)
    return tuple(out)


@dataclass(frozen=True)
class BreakdownSpec:
    """What to break down by (picklable for Dask workers)."""

    keys: tuple[str, ...]
    hierarchy: Hierarchy | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            raise UsageError("a breakdown needs at least one key (--by)")
        if any(k in HIERARCHY_LEVELS for k in self.keys) and self.hierarchy is None:
            raise UsageError(
                f"--by {', '.join(k for k in self.keys if k in HIERARCHY_LEVELS)} needs a site "
                "hierarchy file (--hierarchy FILE)"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """Job-table columns the keys read (besides the summary's)."""
        cols = [k for k in self.keys if k in COLUMN_KEYS]
        if any(k in HIERARCHY_LEVELS for k in self.keys):
            cols.append("account")
        return tuple(dict.fromkeys(cols))


def group_keys(cj: pd.DataFrame, costs: pd.DataFrame, spec: BreakdownSpec) -> pd.DataFrame:
    """Each job's value of every key (string; NA for unknown)."""
    out = pd.DataFrame(index=cj.index)
    place = pd.to_datetime(costs["place_time"], utc=True)
    if place.isna().all() and "start_time" in cj:
        place = pd.to_datetime(cj["start_time"], utc=True)
    for k in spec.keys:
        if k in COLUMN_KEYS:
            out[k] = (
                cj[k].astype("string")
                if k in cj
                else pd.Series(pd.NA, index=cj.index, dtype="string")
            )
        elif k == "month":
            out[k] = _fmt(place, "%Y-%m")
        elif k == "day":
            out[k] = _fmt(place, "%Y-%m-%d")
        elif k == "week":
            iso = place.dt.isocalendar()
            text = iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)
            out[k] = text.where(place.notna()).astype("string")
        else:
            assert spec.hierarchy is not None
            acct = (
                cj["account"]
                if "account" in cj
                else pd.Series(pd.NA, index=cj.index, dtype="string")
            )
            out[k] = spec.hierarchy.level(acct, k)
    return out


def _fmt(t: pd.Series, fmt: str) -> pd.Series:
    return t.dt.strftime(fmt).where(t.notna()).astype("string")


@dataclass
class GroupPartial:
    """One partition's exact sums per group: key tuple (None for unknown) -> counts and sums
    (integers in units of 2**-1130), NaN counts, and the first row of each group."""

    part: int
    groups: dict[tuple, dict[str, Any]] = field(default_factory=dict)


def breakdown_partial(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    spec: BreakdownSpec,
    part: int = 0,
    include_implausible: bool = False,
) -> GroupPartial:
    """The per-group sums of some compute rows ``cj`` and their job costs (the summary's
    rules: :func:`rdcost.analysis.summary.partial.counted_jobs`)."""
    gp = GroupPartial(part)
    if not len(cj):
        return gp
    keys = group_keys(cj, costs, spec)
    per_key = [pd.factorize(keys[k], use_na_sentinel=False) for k in spec.keys]
    stacked = np.stack([c.astype(np.int64) for c, _ in per_key], axis=1)
    combos, codes = np.unique(stacked, axis=0, return_inverse=True)
    codes = codes.reshape(-1)
    uniq = [tuple(_plain_key(per_key[i][1][c]) for i, c in enumerate(combo)) for combo in combos]
    ng = len(uniq)
    started = costs["is_started"].to_numpy(dtype=bool)
    counted = counted_jobs(costs, include_implausible)
    ghv = np.where(counted, costs["gpu_hours"].to_numpy(dtype=float), np.nan)
    n_gpus = pd.to_numeric(cj["n_gpus"]).astype("float64").to_numpy()
    implausible = started & costs["implausible_reason"].notna().to_numpy(dtype=bool)
    waste = (
        costs["waste_category"].isin(WASTE_CATEGORIES).fillna(False).to_numpy(dtype=bool) & counted
    )
    known = counted & ~np.isnan(ghv)
    counts = {
        "n_jobs": np.bincount(codes, minlength=ng),
        "n_jobs_started": np.bincount(codes[started], minlength=ng),
        "n_jobs_gpu_unknown": np.bincount(codes[counted & np.isnan(n_gpus)], minlength=ng),
        "n_jobs_implausible": np.bincount(codes[implausible], minlength=ng),
        "n_jobs_waste": np.bincount(codes[waste], minlength=ng),
        "n_jobs_waste_gpu_unknown": np.bincount(codes[waste & np.isnan(ghv)], minlength=ng),
        "n_counted": np.bincount(codes[counted], minlength=ng),
        "n_gh_unknown": np.bincount(codes[counted & np.isnan(ghv)], minlength=ng),
    }
    sums: dict[str, list[int]] = {}
    nans: dict[str, np.ndarray] = {}
    for prefix, mask, cols in (("", known, SUMS), ("waste_", known & waste, WASTE_SUMS)):
        c = codes[mask]
        for col in cols:
            v = (ghv if col == "gpu_hours" else costs[col].to_numpy(dtype=float))[mask]
            bad = np.isnan(v)
            sums[prefix + col] = exact_sums(np.where(bad, 0.0, v), c, ng)
            nans[prefix + col] = np.bincount(c[bad], minlength=ng)
    first = pd.Series(codes).drop_duplicates()
    firsts = np.empty(ng, dtype=np.int64)
    firsts[first.to_numpy()] = first.index.to_numpy()
    for g, key in enumerate(uniq):
        gp.groups[key] = {
            **{k: int(v[g]) for k, v in counts.items()},
            **{f"sum:{k}": v[g] for k, v in sums.items()},
            **{f"nan:{k}": int(v[g]) for k, v in nans.items()},
            "first": (part << 40) | int(firsts[g]),
        }
    return gp


def _plain_key(v: Any) -> str | None:
    return None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)


@dataclass
class Breakdown:
    """Per-group figures (``rows``, largest GPU-hours first) and their ``total``, which equals
    the project's summary totals. JSON: docs/breakdowns.md."""

    keys: tuple[str, ...]
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    hierarchy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return json_ready(
            {
                "by": list(self.keys),
                "hierarchy": self.hierarchy,
                "n_groups": len(self.rows),
                "rows": self.rows,
                "total": self.total,
            }
        )

    def frame(self) -> pd.DataFrame:
        """One row per group: the keys, then every figure (the CSV form)."""
        return pd.DataFrame(self.rows, columns=[*self.keys, *FIGURES])


#: The figures of a row, in order (docs/breakdowns.md).
FIGURES = (
    "n_jobs",
    "n_jobs_started",
    "n_jobs_gpu_unknown",
    "n_jobs_implausible",
    "gpu_hours",
    "share_of_gpu_hours",
    *MONEY,
    *IMPACT,
    "waste_n_jobs",
    "waste_gpu_hours",
    "waste_cloud_usd_low",
    "waste_cloud_usd_high",
    "waste_energy_kwh",
    "waste_co2e_kg",
    "waste_share_of_gpu_hours",
)


def combine_groups(parts: Sequence[GroupPartial], spec: BreakdownSpec) -> Breakdown:
    """The breakdown from the partials of every partition (any order)."""
    merged: dict[tuple, dict[str, Any]] = {}
    for p in sorted(parts, key=lambda p: p.part):
        for key, vals in p.groups.items():
            m = merged.get(key)
            if m is None:
                merged[key] = dict(vals)
                continue
            for k, v in vals.items():
                m[k] = min(m[k], v) if k == "first" else m[k] + v
    total_vals: dict[str, Any] = {}
    for vals in merged.values():
        for k, v in vals.items():
            if k != "first":
                total_vals[k] = total_vals.get(k, 0) + v
    gh_total = exact_float(total_vals.get("sum:gpu_hours", 0))
    rows = [
        {**dict(zip(spec.keys, key, strict=True)), **_figures(vals, gh_total)}
        for key, vals in sorted(merged.items(), key=lambda kv: kv[1]["first"])
    ]
    rows.sort(key=lambda r: -(r["gpu_hours"] or 0.0))
    total = {**dict.fromkeys(spec.keys, "total"), **_figures(total_vals, gh_total)}
    hierarchy = spec.hierarchy.path if spec.hierarchy is not None else None
    return Breakdown(spec.keys, rows, total, hierarchy)


def _figures(v: Mapping[str, Any], gh_total: float) -> dict[str, Any]:
    """A group's figures: counts, sums rounded once, unknown where nothing is known (a group
    whose every counted job has an unknown GPU count). The total follows the same rule, the
    summary's for its top-level figures (so it equals them): GPU-hours and money over the
    jobs whose GPU-hours are known, unknown when no counted job has known GPU-hours."""

    def total(col: str) -> float | None:
        s = v.get(f"sum:{col}", 0)
        return None if s == 0 and v.get(f"nan:{col}", 0) else exact_float(s)

    gh = exact_float(v.get("sum:gpu_hours", 0))
    n_unknown = v.get("n_gh_unknown", 0)
    all_unknown = n_unknown > 0 and n_unknown >= v.get("n_counted", 0)
    out: dict[str, Any] = {k: int(v.get(k, 0)) for k in COUNTS[:-1]}
    out["gpu_hours"] = None if all_unknown else gh
    out["share_of_gpu_hours"] = None if all_unknown or gh_total <= 0 else gh / gh_total
    for c in (*MONEY, *IMPACT):
        out[c] = None if all_unknown else total(c)
    nw = int(v.get("n_jobs_waste", 0))
    waste_unknown = nw > 0 and v.get("n_jobs_waste_gpu_unknown", 0) >= nw
    out["waste_n_jobs"] = nw
    wgh = exact_float(v.get("sum:waste_gpu_hours", 0))
    out["waste_gpu_hours"] = None if waste_unknown else wgh
    for c in WASTE_SUMS[1:]:
        out[f"waste_{c}"] = None if waste_unknown else total(f"waste_{c}")
    out["waste_share_of_gpu_hours"] = None if waste_unknown or gh <= 0 else wgh / gh
    return out


def breakdown_of_frame(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    spec: BreakdownSpec,
    *,
    n_parts: int = 1,
    include_implausible: bool = False,
) -> Breakdown:
    """The breakdown of compute rows in memory (``n_parts``: cut into that many partitions;
    the figures do not change, tests use it)."""
    cj = cj.reset_index(drop=True)
    costs = costs.reset_index(drop=True)
    bounds = np.linspace(0, len(cj), n_parts + 1).astype(int)
    parts = [
        breakdown_partial(
            cj.iloc[lo:hi].reset_index(drop=True),
            costs.iloc[lo:hi].reset_index(drop=True),
            spec,
            i,
            include_implausible,
        )
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]
    return combine_groups(parts, spec)
