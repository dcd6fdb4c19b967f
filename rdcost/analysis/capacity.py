"""Owned capacity and idle cost: how many GPU-hours an owned cluster had, how many the jobs
used, what the idle ones cost, and that idle cost and the shared overhead (login nodes,
storage, staff) spread over users or projects (OpenCost's allocation model: workload cost
+ idle cost + shared overhead, spread uniformly, in proportion to use, or by weight).

The capacity comes from a TOML inventory (:func:`load_capacity`), or from a saved
``sinfo -N -o "%N %G"`` (optionally with ``%P``) or ``scontrol show node`` output
(:func:`read_inventory`), whose snapshot is taken as the capacity over the jobs' span.

Rules (docs/capacity.md):

- **Available GPU-hours** of a node group = nodes x GPUs per node x hours from ``from`` to
  ``to`` (the jobs' first start to last end where not given).
- **Used** = each counted job's GPUs x the part of its run inside the windows of the node
  groups it can run on: groups that name ``partitions`` take the jobs of those partitions,
  the others every other job; overlapping windows count once.
- **Utilization** = used / available; **idle** = available - used (not below 0).
- **Idle cost** = idle GPU-hours x the cost of one GPU-hour of capacity (``usd_per_gpu_hour``,
  or the purchase spread over the lifetime: server price / GPUs per server / (lifetime years
  x 8,766 h)) + idle GPU-hours x idle draw x PUE x electricity price. Unknown without a cost.
- **Spread**: idle cost + shared costs over the groups (``by``: user, account or project) that
  used the capacity: ``uniform`` (equal shares), ``proportional`` (by used GPU-hours) or
  ``weighted`` (by the weights given; a group without one weighs 1).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.buy_vs_cloud.cost_model import HOURS_PER_YEAR, S_PER_HOUR, W_PER_KW
from rdcost.errors import AssumptionError, UsageError
from rdcost.jsonable import json_ready

SPREAD_METHODS = ("uniform", "proportional", "weighted")
SPREAD_KEYS = ("user", "account", "project")
_NODE_KEYS = {"name", "count", "gpus_per_node", "gpu_type", "from", "to", "partitions"}
_TOP_KEYS = {"source", "nodes", "cost", "shared", "spread", "inventory", "idle_power_w_per_gpu"}
_COST_KEYS = {
    "usd_per_gpu_hour",
    "server_price_usd",
    "gpus_per_server",
    "lifetime_years",
    "source",
    "as_of",
}


class CapacityError(AssumptionError):
    """A capacity file that cannot be read."""


@dataclass(frozen=True)
class NodeGroup:
    """Identical GPU nodes: ``count`` x ``gpus_per_node`` GPUs from ``start`` to ``end`` (None:
    the jobs' span), for the jobs of ``partitions`` (empty: every other job)."""

    name: str
    count: int
    gpus_per_node: float
    gpu_type: str | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    partitions: tuple[str, ...] = ()

    @property
    def n_gpus(self) -> float:
        return self.count * self.gpus_per_node


@dataclass(frozen=True)
class SharedCost:
    item: str
    usd: float
    source: str | None = None
    as_of: str | None = None


@dataclass(frozen=True)
class Capacity:
    """An owned cluster as described (see the module doc); ``origin``: the file(s) it came from."""

    nodes: tuple[NodeGroup, ...]
    origin: str
    source: str | None = None
    usd_per_gpu_hour: float | None = None  # cost of one GPU-hour of capacity, busy or idle
    cost_rule: str | None = None  # how usd_per_gpu_hour was found
    cost_source: str | None = None
    cost_as_of: str | None = None
    idle_power_w_per_gpu: float | None = None
    shared: tuple[SharedCost, ...] = ()
    spread_method: str = "proportional"
    spread_by: str = "user"
    weights: Mapping[str, float] = field(default_factory=dict)

    def with_spread(self, method: str | None, by: str | None) -> Capacity:
        """This capacity spread by another method or over other groups (CLI options win)."""
        from dataclasses import replace

        c = replace(
            self,
            spread_method=method or self.spread_method,
            spread_by=by or self.spread_by,
        )
        _check_spread(c.spread_method, c.spread_by, c.origin)
        return c


def _check_spread(method: str, by: str, origin: str) -> None:
    if method not in SPREAD_METHODS:
        raise UsageError(
            f"{origin}: spread method must be one of {', '.join(SPREAD_METHODS)}", value=method
        )
    if by not in SPREAD_KEYS:
        raise UsageError(f"{origin}: spread by must be one of {', '.join(SPREAD_KEYS)}", value=by)


# -- reading ----------------------------------------------------------------------------------


def load_capacity(path: str | Path) -> Capacity:
    """A capacity file: a TOML inventory, or a saved ``sinfo -N`` / ``scontrol show node``
    output (told apart by their content)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CapacityError(f"cannot read the capacity file: {exc}", path=str(p)) from exc
    if "NodeName=" in text or re.search(r"^\s*NODELIST\b", text, re.M):
        return Capacity(read_inventory(text, str(p)), origin=str(p), source="saved " + _kind(text))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CapacityError(
            f"neither a TOML inventory nor sinfo/scontrol output: {exc}",
            path=str(p),
            hint="see docs/capacity.md for the three forms",
        ) from exc
    return _from_toml(data, p)


def _kind(text: str) -> str:
    return "scontrol show node output" if "NodeName=" in text else "sinfo -N output"


def _from_toml(data: dict[str, Any], p: Path) -> Capacity:
    where = str(p)
    extra = sorted(set(data) - _TOP_KEYS)
    if extra:
        raise CapacityError(
            f"unknown key(s) {extra}", path=where, hint=f"keys: {sorted(_TOP_KEYS)}"
        )
    nodes: list[NodeGroup] = []
    for i, n in enumerate(data.get("nodes", [])):
        nodes.append(_node(n, f"nodes[{i}]", where))
    inv = data.get("inventory")
    if inv is not None:
        if not isinstance(inv, dict) or "file" not in inv:
            raise CapacityError("inventory must be a table with file = PATH", path=where)
        f = (p.parent / str(inv["file"])).resolve()
        try:
            text = f.read_text(encoding="utf-8")
        except OSError as exc:
            raise CapacityError(f"inventory.file: {exc}", path=where) from exc
        start, end = (
            _date(inv.get("from"), "inventory.from", where),
            _date(inv.get("to"), "inventory.to", where),
        )
        for g in read_inventory(text, str(f)):
            nodes.append(
                NodeGroup(g.name, g.count, g.gpus_per_node, g.gpu_type, start, end, g.partitions)
            )
    if not nodes:
        raise CapacityError("no nodes: give [[nodes]] tables or an [inventory] file", path=where)
    cost = data.get("cost", {})
    if not isinstance(cost, dict) or set(cost) - _COST_KEYS:
        raise CapacityError(
            f"cost must be a table of {sorted(_COST_KEYS)}", path=where, value=repr(cost)
        )
    rate, rule = _rate(cost, where)
    idle_w = data.get("idle_power_w_per_gpu")
    if idle_w is not None:
        idle_w = _number(idle_w, "idle_power_w_per_gpu", where)
    shared = []
    for i, s in enumerate(data.get("shared", [])):
        if not isinstance(s, dict) or "item" not in s or "usd" not in s:
            raise CapacityError(f"shared[{i}] needs item and usd", path=where, value=repr(s))
        shared.append(
            SharedCost(
                str(s["item"]),
                _number(s["usd"], f"shared[{i}].usd", where),
                s.get("source"),
                None if s.get("as_of") is None else str(s["as_of"]),
            )
        )
    spread = data.get("spread", {})
    method = str(spread.get("method", "proportional"))
    by = str(spread.get("by", "user"))
    _check_spread(method, by, where)
    weights = {
        str(k): _number(v, f"spread.weights.{k}", where)
        for k, v in (spread.get("weights") or {}).items()
    }
    return Capacity(
        tuple(nodes),
        origin=where,
        source=data.get("source"),
        usd_per_gpu_hour=rate,
        cost_rule=rule,
        cost_source=cost.get("source"),
        cost_as_of=None if cost.get("as_of") is None else str(cost["as_of"]),
        idle_power_w_per_gpu=idle_w,
        shared=tuple(shared),
        spread_method=method,
        spread_by=by,
        weights=weights,
    )


def _rate(cost: Mapping[str, Any], where: str) -> tuple[float | None, str | None]:
    if "usd_per_gpu_hour" in cost:
        return _number(cost["usd_per_gpu_hour"], "cost.usd_per_gpu_hour", where), "given"
    keys = ("server_price_usd", "gpus_per_server", "lifetime_years")
    if all(k in cost for k in keys):
        price, gpus, years = (_number(cost[k], f"cost.{k}", where) for k in keys)
        if gpus <= 0 or years <= 0:
            raise CapacityError("cost.gpus_per_server and lifetime_years must be > 0", path=where)
        return (
            price / gpus / (years * HOURS_PER_YEAR),
            f"purchase over the lifetime: ${price:,g} / {gpus:g} GPUs / ({years:g} years x "
            f"{HOURS_PER_YEAR:,} h)",
        )
    if any(k in cost for k in keys):
        raise CapacityError(
            f"cost needs all of {', '.join(keys)} (or usd_per_gpu_hour)", path=where
        )
    return None, None


def _node(n: Any, name: str, where: str) -> NodeGroup:
    if not isinstance(n, dict):
        raise CapacityError(f"{name} must be a table", path=where, value=repr(n))
    extra = sorted(set(n) - _NODE_KEYS)
    if extra:
        raise CapacityError(f"{name}: unknown key(s) {extra}", path=where)
    for k in ("count", "gpus_per_node"):
        if k not in n:
            raise CapacityError(f"{name} needs {k}", path=where)
    count = _number(n["count"], f"{name}.count", where)
    if count != int(count):
        raise CapacityError(
            f"{name}.count must be a whole number", path=where, value=repr(n["count"])
        )
    parts = n.get("partitions", [])
    if isinstance(parts, str):
        parts = [parts]
    g = NodeGroup(
        str(n.get("name", name)),
        int(count),
        _number(n["gpus_per_node"], f"{name}.gpus_per_node", where),
        None if n.get("gpu_type") is None else str(n["gpu_type"]),
        _date(n.get("from"), f"{name}.from", where),
        _date(n.get("to"), f"{name}.to", where),
        tuple(str(x) for x in parts),
    )
    if g.start is not None and g.end is not None and g.end <= g.start:
        raise CapacityError(f"{name}: to must be after from", path=where)
    return g


def _number(v: Any, name: str, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise CapacityError(f"{name} must be a number >= 0", path=where, value=repr(v))
    return float(v)


def _date(v: Any, name: str, where: str) -> pd.Timestamp | None:
    if v is None:
        return None
    try:
        t = pd.Timestamp(str(v))
    except ValueError as exc:
        raise CapacityError(
            f"{name} must be a date (YYYY-MM-DD) or time", path=where, value=repr(v)
        ) from exc
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


_GRES = re.compile(r"gpu(?::([A-Za-z0-9_.\-]+))?:(\d+)")


def _gres_gpus(gres: str) -> list[tuple[str | None, int]]:
    """``gpu:v100:4(S:0-1),gpu:a100:2`` -> [(v100, 4), (a100, 2)]; ``gpu:4`` -> [(None, 4)]."""
    out = []
    for part in re.split(r",(?![^()]*\))", gres or ""):
        m = _GRES.match(part.strip())
        if m:
            out.append((m.group(1), int(m.group(2))))
    return out


def read_inventory(text: str, where: str) -> tuple[NodeGroup, ...]:
    """Node groups from a saved ``scontrol show node`` or ``sinfo -N -o "%N %G"`` (``%P``
    optional) output: one group per node with GPUs (snapshot: no dates)."""
    nodes: dict[str, dict[str, Any]] = {}
    if "NodeName=" in text:
        for block in re.split(r"\n\s*\n|(?=^NodeName=)", text, flags=re.M):
            kv = dict(re.findall(r"(\w+)=(\S*)", block))
            if "NodeName" not in kv:
                continue
            n = nodes.setdefault(kv["NodeName"], {"gres": kv.get("Gres", ""), "parts": set()})
            n["parts"].update(p for p in kv.get("Partitions", "").split(",") if p)
    else:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        head = lines[0].split()
        try:
            i_node = next(i for i, h in enumerate(head) if h.upper() in ("NODELIST", "HOSTNAMES"))
            i_gres = next(i for i, h in enumerate(head) if h.upper() == "GRES")
        except StopIteration:
            raise CapacityError(
                "sinfo output needs NODELIST and GRES columns",
                path=where,
                line=1,
                value=lines[0],
                hint='save it with sinfo -N -o "%N %P %G"',
            ) from None
        i_part = next((i for i, h in enumerate(head) if h.upper() == "PARTITION"), None)
        for ln_no, line in enumerate(lines[1:], start=2):
            cells = line.split()
            if len(cells) <= max(i_node, i_gres):
                raise CapacityError("too few columns", path=where, line=ln_no, value=line)
            n = nodes.setdefault(cells[i_node], {"gres": cells[i_gres], "parts": set()})
            if i_part is not None:
                n["parts"].add(cells[i_part].rstrip("*"))
    groups = []
    for name, n in nodes.items():
        for gpu_type, count in _gres_gpus(n["gres"]):
            groups.append(
                NodeGroup(name, 1, float(count), gpu_type, partitions=tuple(sorted(n["parts"])))
            )
    if not groups:
        raise CapacityError("no node with GPUs (gres/gpu) in the inventory", path=where)
    return tuple(groups)


# -- analysis ---------------------------------------------------------------------------------


@dataclass
class IdleResult:
    """Owned utilization, idle GPU-hours and cost, and their spread (JSON: docs/capacity.md)."""

    capacity: Capacity
    available_gpu_hours: float
    used_gpu_hours: float
    outside_gpu_hours: float  # counted GPU-hours outside the capacity's windows or partitions
    utilization: float | None
    idle_gpu_hours: float
    usd_per_gpu_hour: float | None
    idle_usd: float | None
    idle_electricity_usd: float | None
    shared_usd: float
    spread: list[dict[str, Any]]
    groups: list[dict[str, Any]]  # per node group: GPUs, window, available, used
    owned_usd_per_used_gpu_hour: float | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        c = self.capacity
        return json_ready(
            {
                "origin": c.origin,
                "source": c.source,
                "available_gpu_hours": self.available_gpu_hours,
                "used_gpu_hours": self.used_gpu_hours,
                "outside_gpu_hours": self.outside_gpu_hours,
                "utilization": self.utilization,
                "idle_gpu_hours": self.idle_gpu_hours,
                "usd_per_gpu_hour": self.usd_per_gpu_hour,
                "cost_rule": c.cost_rule,
                "cost_source": c.cost_source,
                "cost_as_of": c.cost_as_of,
                "idle_power_w_per_gpu": c.idle_power_w_per_gpu,
                "idle_usd": self.idle_usd,
                "idle_electricity_usd": self.idle_electricity_usd,
                "shared_usd": self.shared_usd,
                "shared": [vars(s) for s in c.shared],
                "spread_method": c.spread_method,
                "spread_by": c.spread_by,
                "spread": self.spread,
                "node_groups": self.groups,
                "owned_usd_per_used_gpu_hour": self.owned_usd_per_used_gpu_hour,
                "notes": self.notes,
            }
        )


def _union_hours(windows: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(windows):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def idle_cost(
    cj: pd.DataFrame,
    costs: pd.DataFrame,
    capacity: Capacity,
    *,
    pue: float,
    usd_per_kwh: float,
    counted: np.ndarray | None = None,
) -> IdleResult:
    """Owned utilization, idle GPU-hours and cost and their spread, for compute rows ``cj``
    and their job costs (``counted``: the jobs every total counts; default: those that ran)."""
    counted = costs["is_started"].to_numpy(dtype=bool) if counted is None else counted
    gh = costs["gpu_hours"].to_numpy(dtype=float)
    place = pd.to_datetime(costs["place_time"], utc=True)
    end = pd.to_datetime(costs["end_eff"], utc=True)
    ok = counted & ~np.isnan(gh) & (gh > 0) & place.notna().to_numpy() & end.notna().to_numpy()
    s_ns = np.where(ok, place.to_numpy(dtype="datetime64[ns]").astype("int64"), 0)
    e_ns = np.where(ok, end.to_numpy(dtype="datetime64[ns]").astype("int64"), 0)
    n_gpus = pd.to_numeric(cj["n_gpus"]).astype("float64").to_numpy()
    span = (int(s_ns[ok].min()), int(e_ns[ok].max())) if ok.any() else (0, 0)
    notes: list[str] = []
    parts = (
        cj["partition"].astype("string") if "partition" in cj else pd.Series(pd.NA, index=cj.index)
    )
    named = sorted({p for g in capacity.nodes for p in g.partitions})
    in_named = parts.isin(named).fillna(False).to_numpy(dtype=bool)
    used_per_job = np.zeros(len(cj))
    groups_out = []
    available = 0.0
    classes: dict[tuple[str, ...], list[NodeGroup]] = {}
    for g in capacity.nodes:
        classes.setdefault(g.partitions, []).append(g)
    if any(g.start is None or g.end is None for g in capacity.nodes):
        notes.append(
            "node groups without dates are taken as owned over the jobs' span (first start to last end)"
        )
    for key, gs in classes.items():
        member = (
            parts.isin(list(key)).fillna(False).to_numpy(dtype=bool) if key else ~in_named
        ) & ok
        wins = []
        for g in gs:
            lo = span[0] if g.start is None else g.start.value
            hi = span[1] if g.end is None else g.end.value
            hours = max(hi - lo, 0) / 1e9 / S_PER_HOUR
            available += g.n_gpus * hours
            wins.append((lo, hi))
            groups_out.append(
                {
                    "name": g.name,
                    "n_nodes": g.count,
                    "gpus_per_node": g.gpus_per_node,
                    "gpu_type": g.gpu_type,
                    "from": None if lo == hi == 0 else pd.Timestamp(lo, tz="UTC").isoformat(),
                    "to": None if lo == hi == 0 else pd.Timestamp(hi, tz="UTC").isoformat(),
                    "partitions": list(g.partitions),
                    "available_gpu_hours": g.n_gpus * hours,
                }
            )
        for lo, hi in _union_hours(wins):
            overlap = np.clip(np.minimum(e_ns, hi) - np.maximum(s_ns, lo), 0, None)
            used_per_job += np.where(member, n_gpus * overlap / 1e9 / S_PER_HOUR, 0.0)
    used = float(used_per_job.sum())
    total_gh = float(gh[ok].sum())
    outside = max(total_gh - used, 0.0)
    if outside > 1e-9 * max(total_gh, 1):
        notes.append(
            f"{outside:,.1f} of the jobs' GPU-hours ran outside the capacity's dates or partitions "
            "and are not counted as use of it"
        )
    util = used / available if available > 0 else None
    if util is not None and util > 1 + 1e-9:
        notes.append(
            f"the jobs used more GPU-hours ({used:,.0f}) than the capacity holds ({available:,.0f}): "
            "is the inventory complete?"
        )
    idle = max(available - used, 0.0)
    rate = capacity.usd_per_gpu_hour
    idle_el = (
        None
        if capacity.idle_power_w_per_gpu is None
        else idle * capacity.idle_power_w_per_gpu / W_PER_KW * pue * usd_per_kwh
    )
    idle_usd = None if rate is None else idle * rate + (idle_el or 0.0)
    if rate is None:
        notes.append(
            "no cost of a GPU-hour of capacity: the idle cost is unknown (give [cost] usd_per_gpu_hour "
            "or server_price_usd, gpus_per_server and lifetime_years in a capacity TOML)"
        )
    shared = float(sum(s.usd for s in capacity.shared))
    spread = _spread(cj, used_per_job, capacity, rate, idle_usd, shared)
    busy_el = float(
        np.nansum(
            costs["electricity_usd"].to_numpy(dtype=float)[ok]
            * np.divide(used_per_job[ok], gh[ok], out=np.zeros(int(ok.sum())), where=gh[ok] > 0)
        )
    )
    per_used = (
        None
        if rate is None or used <= 0
        else (available * rate + (idle_el or 0.0) + busy_el + shared) / used
    )
    return IdleResult(
        capacity,
        available,
        used,
        outside,
        util,
        idle,
        rate,
        idle_usd,
        idle_el,
        shared,
        spread,
        groups_out,
        per_used,
        notes,
    )


def _spread(
    cj: pd.DataFrame,
    used_per_job: np.ndarray,
    capacity: Capacity,
    rate: float | None,
    idle_usd: float | None,
    shared: float,
) -> list[dict[str, Any]]:
    """Per group of ``spread_by``: used GPU-hours, their cost, its share of idle and shared cost."""
    by = capacity.spread_by
    key = cj[by].astype("string") if by in cj else pd.Series(pd.NA, index=cj.index, dtype="string")
    codes, names = pd.factorize(key, use_na_sentinel=False)
    used = np.bincount(codes, weights=used_per_job, minlength=len(names))
    order = [g for g in np.argsort(-used, kind="stable") if used[g] > 0]
    if not order:
        return []
    labels = [None if _missing(names[g]) else str(names[g]) for g in order]
    u = np.asarray([used[g] for g in order], dtype=float)
    if capacity.spread_method == "uniform":
        w = np.ones(len(order))
    elif capacity.spread_method == "proportional":
        w = u.copy()
    else:  # weighted: a group without a weight (or unknown) weighs 1
        w = np.asarray([1.0 if k is None else float(capacity.weights.get(k, 1.0)) for k in labels])
    share = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    rows = []
    for k, ug, sh in zip(labels, u, share, strict=True):
        busy = None if rate is None else float(ug) * rate
        idle_share = None if idle_usd is None else idle_usd * float(sh)
        shared_share = shared * float(sh)
        total = None if busy is None or idle_share is None else busy + idle_share + shared_share
        rows.append(
            {
                by: k,
                "used_gpu_hours": float(ug),
                "share": float(sh),
                "busy_usd": busy,
                "idle_usd": idle_share,
                "shared_usd": shared_share,
                "total_usd": total,
                "usd_per_used_gpu_hour": None if total is None else total / float(ug),
            }
        )
    return rows


def _missing(k: Any) -> bool:
    return k is None or k is pd.NA or (isinstance(k, float) and math.isnan(k))
