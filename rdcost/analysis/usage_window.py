"""Usage in a time window: CPU-seconds and GPU-seconds (all GPUs and per GPU type)
per account, or per any column of the job table, with explicit rules for the jobs
that run across the window's edges and for the jobs that are still running.

Slurm itself counts a window in two ways, and both are rules here:

* ``sacct --truncate`` (``SACCT_TRUNCATE``): a job counts the part of its run inside
  the window; a job still running counts up to *now* (the ``as_of`` time).
* slurmdbd's hourly rollup, which is what ``sreport`` adds up (``ROLLUP``): for each
  hour, a job counts the part of its run inside that hour, and a job still running
  when the hour is rolled up counts up to the *end of the hour*, even when that is
  later than now (possible only when a rollup is forced with ``sacctmgr rollup``
  before the hour is over). ``sreport`` then reports whole hours only: see
  :func:`sreport_period` and :func:`sreport_usage`.

The window is half-open, ``[start, end)``. Times are UTC timestamps (the job table's);
naive ones are taken as UTC. Each counted job contributes ``n_cpus x seconds`` to
``cpu``, ``n_gpus x seconds`` to ``gres/gpu`` and, when it holds GPUs of one type,
to ``gres/gpu:<type>``: the TRES names sreport prints. Unknown counts (null) add
nothing; :func:`tres_seconds` says how many jobs that concerned.

docs/sacct.md ("Usage in a window, and matching sreport") explains the rules and the
commands that compare them with Slurm's own figures.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from rdcost.errors import UsageError

#: What a job without an end time (still running, or its end unknown) counts up to.
RUNNING_RULES = ("as-of", "window-end", "exclude")
#: How a job that runs across an edge of the window counts.
EDGE_RULES = ("clip", "whole", "start")

HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class WindowRule:
    """How jobs are counted in a window.

    ``running``: a job without an end time counts up to the ``as_of`` time
    (``as-of``), up to the window's end (``window-end``), or not at all (``exclude``).

    ``edges``: a job crossing an edge counts only its seconds inside the window
    (``clip``), its whole run if any of it is inside (``whole``), or its whole run
    in the window where it started, nothing elsewhere (``start``).
    """

    running: str = "as-of"
    edges: str = "clip"

    def __post_init__(self) -> None:
        if self.running not in RUNNING_RULES:
            raise UsageError(
                f"running rule {self.running!r}: expected one of {', '.join(RUNNING_RULES)}"
            )
        if self.edges not in EDGE_RULES:
            raise UsageError(f"edge rule {self.edges!r}: expected one of {', '.join(EDGE_RULES)}")

    def __str__(self) -> str:
        return f"running={self.running}, edges={self.edges}"


#: ``sacct -S START -E END --truncate``: clip to the window, running jobs up to now.
SACCT_TRUNCATE = WindowRule(running="as-of", edges="clip")
#: slurmdbd's hourly rollup (what sreport sums): clip to the hour, running jobs up to its end.
ROLLUP = WindowRule(running="window-end", edges="clip")


# ----------------------------------------------------------------------------- times


def parse_tz(tz: str | dt.tzinfo | None) -> dt.tzinfo:
    """A zone: an IANA name (``Europe/Paris``), a fixed offset (``+05:30``,
    ``-00:43:48``), a tzinfo, or None/"UTC" for UTC."""
    if tz is None:
        return dt.UTC
    if isinstance(tz, dt.tzinfo):
        return tz
    text = tz.strip()
    if text.upper() in ("UTC", "Z"):
        return dt.UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        off = dt.timedelta(
            hours=int(m.group(2)), minutes=int(m.group(3)), seconds=int(m.group(4) or 0)
        )
        if off >= dt.timedelta(hours=24) or int(m.group(3)) > 59 or int(m.group(4) or 0) > 59:
            raise UsageError(f"time zone offset {text!r} is out of range")
        return dt.timezone(sign * off)
    try:
        return ZoneInfo(text)
    except (ValueError, KeyError, OSError) as exc:
        raise UsageError(
            f"unknown time zone {text!r}: expected an IANA name like Europe/Paris "
            "or an offset like +05:30"
        ) from exc


def to_utc(t, tz: str | dt.tzinfo | None = None) -> pd.Timestamp:
    """A timestamp in UTC; a naive one is read in ``tz`` (default UTC)."""
    if isinstance(t, str):
        try:  # also offsets with seconds (-00:43:48), which pandas does not read
            t = dt.datetime.fromisoformat(t.strip())
        except ValueError:
            pass
    try:
        ts = pd.Timestamp(t)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"not a time: {t!r}; expected e.g. 2026-12-06T20:00 or 2026-12-06T20:00:00+01:00"
        ) from exc
    if ts is pd.NaT:
        raise UsageError(f"not a time: {t!r}")
    if ts.tzinfo is None:
        zone = parse_tz(tz)
        if isinstance(zone, ZoneInfo):
            ts = ts.tz_localize(zone, ambiguous="raise", nonexistent="raise")
        else:
            ts = pd.Timestamp(ts.to_pydatetime().replace(tzinfo=zone))
    return ts.tz_convert("UTC")


def hour_floor(t, tz: str | dt.tzinfo | None = None) -> pd.Timestamp:
    """The start of the local hour (in ``tz``) that ``t`` falls in, as UTC."""
    local = to_utc(t).tz_convert(parse_tz(tz))
    return to_utc(local.replace(minute=0, second=0, microsecond=0, nanosecond=0))


def hour_round(t, tz: str | dt.tzinfo | None = None) -> pd.Timestamp:
    """The nearest local hour, as sreport rounds its start and end (Slurm's
    ``slurmdb_report_set_start_end_time``): seconds >= 30 round the minute up, then
    minutes >= 30 round the hour up."""
    local = to_utc(t).tz_convert(parse_tz(tz))
    minute = local.minute + (1 if local.second >= 30 else 0)
    floor = hour_floor(t, tz)
    return floor + HOUR if minute >= 30 else floor


def hours(start, end) -> list[pd.Timestamp]:
    """Starts of the hours ``start, start + 1 h, ...`` before ``end``."""
    start, end = to_utc(start), to_utc(end)
    out = []
    t = start
    while t < end:
        out.append(t)
        t = t + HOUR
    return out


# ----------------------------------------------------------------------------- counting


def job_seconds(
    jobs: pd.DataFrame, start, end, *, as_of=None, rule: WindowRule = SACCT_TRUNCATE
) -> pd.Series:
    """Seconds each job counts in the window ``[start, end)`` under ``rule`` (0 for jobs
    that do not count: never started, outside the window, excluded running jobs,
    container records such as MLflow parent runs).

    The figures are those of the time ``as_of`` (default: now). A job runs from
    ``start_time`` to ``end_time``; it is *running* when it has no end time (still
    running, or its end is unknown) or ends after ``as_of``, and then counts up to
    ``as_of``, up to the window's end, or not at all (``rule.running``). A job that
    starts after ``as_of`` does not count.
    """
    start, end = to_utc(start), to_utc(end)
    if end < start:
        raise UsageError(f"the window ends ({end}) before it starts ({start})")
    as_of = to_utc(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC")
    index = jobs.index
    jobs = jobs.reset_index(drop=True)  # positions, whatever the caller's index
    s = _utc_column(jobs, "start_time")
    e = _utc_column(jobs, "end_time")
    counted = s.notna() & (s <= as_of)
    if "is_container" in jobs:
        counted &= ~jobs["is_container"].astype("boolean").fillna(False).astype(bool)
    running = counted & (e.isna() | (e > as_of))
    if rule.running == "as-of":
        e = e.mask(running, as_of)
    elif rule.running == "window-end":
        e = e.mask(running, end)
    else:  # exclude
        counted &= ~running
    out = pd.Series(0.0, index=index)
    if not counted.any():
        return out
    s_, e_ = s[counted], e[counted]
    if rule.edges == "clip":
        lo = s_.where(s_ > start, start)
        hi = e_.where(e_ < end, end)
        secs = (hi - lo).dt.total_seconds()
    else:
        whole = (e_ - s_).dt.total_seconds()
        inside = (s_ < end) & (e_ > start) if rule.edges == "whole" else (s_ >= start) & (s_ < end)
        secs = whole.where(inside, 0.0)
    values = np.zeros(len(jobs))
    values[secs.index.to_numpy()] = secs.clip(lower=0).to_numpy(dtype=float)
    return pd.Series(values, index=index)


def _utc_column(jobs: pd.DataFrame, col: str) -> pd.Series:
    if col not in jobs:
        return pd.Series(pd.NaT, index=jobs.index, dtype="datetime64[us, UTC]")
    s = pd.to_datetime(jobs[col])
    if s.dt.tz is None:
        s = s.dt.tz_localize("UTC")
    return s.dt.tz_convert("UTC")


@dataclass
class Usage:
    """The result of :func:`tres_seconds`: a long table (one row per group and TRES:
    the ``by`` columns, ``tres``, ``seconds``) and what could not be counted."""

    table: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    as_of: pd.Timestamp
    rule: WindowRule
    n_jobs: int = 0  # jobs with seconds > 0 in the window
    no_cpus: int = 0  # of those, jobs without a CPU count
    no_gpus: int = 0  # ... without a GPU count
    mixed_gpu_types: int = 0  # ... holding GPUs of several types (no per-type figure)
    notes: list[str] = field(default_factory=list)

    def get(self, tres: str, **group) -> float:
        """Seconds of one TRES for one group (0 when absent), e.g. ``get("cpu", account="nlp")``."""
        t = self.table
        sel = t["tres"] == tres
        for k, v in group.items():
            sel &= t[k] == v
        return float(t.loc[sel, "seconds"].sum())

    def as_dict(self) -> dict[tuple, float]:
        """(group values..., tres) -> seconds."""
        cols = [c for c in self.table.columns if c != "seconds"]
        return {
            tuple(r[c] for c in cols): float(r["seconds"]) for r in self.table.to_dict("records")
        }


def tres_seconds(
    jobs: pd.DataFrame,
    start,
    end,
    *,
    by: Sequence[str] = ("account",),
    as_of=None,
    rule: WindowRule = SACCT_TRUNCATE,
    tres: Sequence[str] | None = None,
) -> Usage:
    """TRES-seconds per group in ``[start, end)``: ``cpu`` (n_cpus x s), ``gres/gpu``
    (n_gpus x s) and ``gres/gpu:<type>`` for every GPU type of a counted job (or the
    TRES listed in ``tres``). Every group with a counted job gets a row for every TRES
    (0 included), like sreport. A null group value is shown as ``""``."""
    by = list(by)
    missing = [c for c in by if c not in jobs.columns]
    if missing:
        raise UsageError(f"cannot group by {missing}: not columns of the job table")
    start, end = to_utc(start), to_utc(end)
    as_of = to_utc(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC")
    jobs = jobs.reset_index(drop=True)
    secs = job_seconds(jobs, start, end, as_of=as_of, rule=rule)
    sel = secs > 0
    j = jobs.loc[sel]
    s = secs[sel]
    cpus = _numeric(j, "n_cpus")
    gpus = _numeric(j, "n_gpus")
    gtype = j["gpu_type"] if "gpu_type" in j else pd.Series(None, index=j.index, dtype=object)
    single_type = (
        gtype.notna() & ~gtype.astype(str).str.contains(",", regex=False) & (gpus.fillna(0) > 0)
    )
    mixed = gtype.notna() & gtype.astype(str).str.contains(",", regex=False) & (gpus.fillna(0) > 0)
    if tres is None:
        types = sorted(set(gtype[single_type].astype(str)))
        tres = ["cpu", "gres/gpu", *[f"gres/gpu:{t}" for t in types]]
    values = {}
    for name in tres:
        if name == "cpu":
            values[name] = cpus.fillna(0) * s
        elif name == "gres/gpu":
            values[name] = gpus.fillna(0) * s
        elif name.startswith("gres/gpu:"):
            t = name.split(":", 1)[1]
            values[name] = (gpus.fillna(0) * s).where(single_type & (gtype == t), 0.0)
        else:
            raise UsageError(f"TRES {name!r}: rdcost counts cpu, gres/gpu and gres/gpu:<type>")
    keys = pd.DataFrame({c: j[c].astype(object).where(j[c].notna(), "") for c in by}, index=j.index)
    wide = pd.concat([keys, pd.DataFrame(values, index=j.index)], axis=1)
    if len(wide):
        summed = wide.groupby(by, sort=True, dropna=False)[list(tres)].sum()
    else:
        summed = pd.DataFrame(columns=list(tres), index=pd.MultiIndex.from_tuples([], names=by))
    long = summed.reset_index().melt(
        id_vars=by, value_vars=list(tres), var_name="tres", value_name="seconds"
    )
    order = {t: i for i, t in enumerate(tres)}
    long["_o"] = long["tres"].map(order)
    long = long.sort_values([*by, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    long["seconds"] = long["seconds"].astype(float)
    return Usage(
        table=long,
        start=start,
        end=end,
        as_of=as_of,
        rule=rule,
        n_jobs=int(sel.sum()),
        no_cpus=int(cpus.isna().sum()),
        no_gpus=int(gpus.isna().sum()),
        mixed_gpu_types=int(mixed.sum()),
    )


def _numeric(j: pd.DataFrame, col: str) -> pd.Series:
    if col not in j:
        return pd.Series(np.nan, index=j.index, dtype=float)
    return pd.to_numeric(j[col], errors="coerce").astype(float)


# ----------------------------------------------------------------------------- sreport


def sreport_period(
    start, end, now=None, tz: str | dt.tzinfo | None = None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period ``sreport ... start=START end=END`` reports when run at ``now`` on a
    cluster whose slurmdbd and sreport run in zone ``tz`` (Slurm 22.05, sreport's
    common.c and slurmdb_defs.c, then the server's set_usage_information):

    1. an end later than now becomes now;
    2. start and end are rounded to the nearest whole hour of local time
       (``hh:29:30`` rounds up);
    3. a period shorter than an hour becomes the hour from its start.

    So with END in the future, the last hour is reported only once its first
    half has passed: at 21:01, ``start=20:00 end=22:00`` reports 20:00-21:00.
    """
    now = to_utc(now) if now is not None else pd.Timestamp.now(tz="UTC").floor("s")
    start, end = to_utc(start, tz), to_utc(end, tz)
    end = min(end, now)
    s, e = hour_round(start, tz), hour_round(end, tz)
    if e - s < HOUR:
        e = s + HOUR
    return s, e


def sreport_usage(
    jobs: pd.DataFrame,
    start,
    end,
    *,
    now=None,
    tz: str | dt.tzinfo | None = None,
    rolled_up_to=None,
    by: Sequence[str] = ("account",),
    tres: Sequence[str] | None = None,
) -> Usage:
    """What ``sreport -t seconds cluster AccountUtilizationByUser start=START end=END``
    prints per account (account total lines), computed from the job table: the period
    of :func:`sreport_period`, counted with the ``ROLLUP`` rule, and only its hours
    that slurmdbd has rolled up.

    ``rolled_up_to``: the end of the last rolled-up hour. Default: the hour ``now``
    falls in has not been rolled up, the ones before it have (slurmdbd's own rollup
    runs at the start of every hour). After ``sacctmgr rollup S E``, hours up to E
    are rolled up. Hours from ``rolled_up_to`` on count nothing, like in sreport.

    The job table must be exported after the rollup, and jobs must not have ended
    between the rollup of an hour and the export (the rollup counted them as
    running to the hour's end).
    """
    now = to_utc(now) if now is not None else pd.Timestamp.now(tz="UTC").floor("s")
    p_start, p_end = sreport_period(start, end, now, tz)
    rolled = (
        hour_floor(now, tz) if rolled_up_to is None else hour_floor(to_utc(rolled_up_to, tz), tz)
    )
    stop = max(p_start, min(p_end, rolled))
    usage = tres_seconds(jobs, p_start, stop, by=by, as_of=now, rule=ROLLUP, tres=tres)
    usage.start, usage.end = p_start, p_end
    if stop < p_end:
        usage.notes.append(
            f"the hours from {stop} to {p_end} are not rolled up yet: "
            "sreport counts nothing for them"
        )
    return usage
