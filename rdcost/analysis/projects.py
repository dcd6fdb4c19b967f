"""Projects: which jobs belong to a named project, decided at summarize time.

By default a project is a value of the stored ``project`` column (an ingest
``--project`` tag, else the account, W&B project or MLflow experiment). A TOML
file can also define projects by accounts, users, job-name patterns and a
date range, without re-ingesting anything::

    [projects.lisa]
    accounts = ["mccallum"]            # any of these accounts
    users = ["strubell"]               # any of these users
    job_name_patterns = ["lisa*", "srl-*"]   # shell globs, case-sensitive
    project_tags = ["lisa"]            # any of these stored project values
    start = "2017-09-01"               # on or after this day (UTC)
    end = "2018-02-28"                 # on or before this day (UTC)

A job belongs to the project when it satisfies every criterion given (AND
across criteria, OR within a list). The date of a job is its start time, or
its submit time when it never started.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rdcost.errors import UsageError
from rdcost.jobtable.store import Store

_KEYS = {"accounts", "users", "job_name_patterns", "project_tags", "start", "end", "description"}


@dataclass(frozen=True)
class ProjectDef:
    name: str
    accounts: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    job_name_patterns: tuple[str, ...] = ()
    project_tags: tuple[str, ...] = ()
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None  # inclusive day: jobs before end + 1 day
    path: str | None = None


def parse_projects(data: Mapping[str, Any], path: str | None = None) -> dict[str, ProjectDef]:
    """Project definitions from a parsed TOML document (``[projects.NAME]`` tables)."""
    extra = sorted(set(data) - {"projects"})
    if extra:
        raise UsageError(
            f"unknown top-level key(s) {extra}; define projects as [projects.NAME]", path=path
        )
    defs: dict[str, ProjectDef] = {}
    for name, t in (data.get("projects") or {}).items():
        if not isinstance(t, dict):
            raise UsageError(f"projects.{name} must be a table", path=path, value=str(t))
        bad = sorted(set(t) - _KEYS)
        if bad:
            raise UsageError(
                f"projects.{name}: unknown key(s) {bad}",
                path=path,
                hint=f"known keys: {', '.join(sorted(_KEYS))}",
            )
        start = _day(t.get("start"), name, "start", path)
        end = _day(t.get("end"), name, "end", path)
        if start is not None and end is not None and end < start:
            raise UsageError(
                f"projects.{name}: end {end.date()} is before start {start.date()}", path=path
            )
        d = ProjectDef(
            name,
            _strings(t, "accounts", name, path),
            _strings(t, "users", name, path),
            _strings(t, "job_name_patterns", name, path),
            _strings(t, "project_tags", name, path),
            start,
            end,
            path,
        )
        if not (d.accounts or d.users or d.job_name_patterns or d.project_tags or start or end):
            raise UsageError(
                f"projects.{name} has no criterion; give accounts, users, "
                "job_name_patterns, project_tags, start or end",
                path=path,
            )
        defs[name] = d
    return defs


def load_projects(path: Path | str) -> dict[str, ProjectDef]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML: {exc}", path=str(p)) from exc
    return parse_projects(data, str(p))


def project_mask(jobs: pd.DataFrame, d: ProjectDef) -> pd.Series:
    """Boolean mask (index of ``jobs``) of the jobs that belong to the project."""
    m = pd.Series(True, index=jobs.index)
    for col, values in (("account", d.accounts), ("user", d.users), ("project", d.project_tags)):
        if values:
            m &= jobs[col].astype("string").isin(values).fillna(False).astype(bool)
    if d.job_name_patterns:
        rx = "|".join(f"(?:{fnmatch.translate(p)})" for p in d.job_name_patterns)
        m &= jobs["job_name"].astype("string").str.match(rx).fillna(False).astype(bool)
    if d.start is not None or d.end is not None:
        when = pd.to_datetime(jobs["start_time"], utc=True).fillna(
            pd.to_datetime(jobs["submit_time"], utc=True)
        )
        if d.start is not None:
            m &= (when >= d.start).fillna(False).astype(bool)
        if d.end is not None:
            m &= (when < d.end + pd.Timedelta(days=1)).fillna(False).astype(bool)
    return m


def select(
    jobs: pd.DataFrame, name: str, defs: Mapping[str, ProjectDef] | None = None
) -> pd.DataFrame:
    """The jobs of project ``name``: by its definition when ``defs`` has one, else the project column."""
    if defs and name in defs:
        return jobs[project_mask(jobs, defs[name])]
    return jobs[jobs["project"].astype("string").eq(name).fillna(False).astype(bool)]


def read_project_jobs(
    store: Store, name: str | None, defs: Mapping[str, ProjectDef] | None = None
) -> pd.DataFrame:
    """Read a project's jobs from the store (all jobs when name is None).

    A project defined in ``defs`` is selected from all stored jobs; otherwise
    the store filters the project column (pushed down to parquet).
    """
    if name is None:
        return store.read_jobs()
    if defs and name in defs:
        return select(store.read_jobs(), name, defs)
    return store.read_jobs(project=name)


def _strings(t: Mapping[str, Any], key: str, name: str, path: str | None) -> tuple[str, ...]:
    v = t.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise UsageError(
            f"projects.{name}.{key} must be a list of strings", path=path, value=str(v)
        )
    return tuple(v)


def _day(v: Any, name: str, key: str, path: str | None) -> pd.Timestamp | None:
    if v is None:
        return None
    try:
        ts = pd.Timestamp(str(v))
    except ValueError as exc:
        raise UsageError(
            f"projects.{name}.{key} must be a date (YYYY-MM-DD)", path=path, value=str(v)
        ) from exc
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.normalize()
