"""Plain CSV/TSV job or run lists -> job rows (one per data row).

Columns are found by name: the canonical names (the job table's own column
names, see :data:`CANONICAL`), a documented list of common synonyms
(:data:`SYNONYMS`), or the user's mapping (``--map start_time=begin_time``,
``--map gpus=n_gpu``, or a ``[map]`` table in a TOML ``--map-file``). Columns
with no role are kept in ``other_json``.

Times: ISO 8601 (naive ones in ``--tz``), epoch seconds/milliseconds,
numeric dates (an ambiguous ``03/04/2024`` needs ``--dayfirst`` or
``--monthfirst``; it is never guessed) and dates in words (dateparser, with
the explicit zone and date order). Durations: seconds, ``[D-]HH:MM:SS``,
``2h30m``, or Python timedelta text. This format is the fallback of detection:
it claims delimited text with a header row that no other format claims, and
refuses text that looks like sacct output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from rdcost.errors import RdcostError, UsageError
from rdcost.readers.base import Chunk, ParseOptions, Sample
from rdcost.readers.delimited import (
    DURATION_EXPECTED,
    TIME_EXPECTED,
    RowErrors,
    apply_gpu_options,
    check_times,
    finish,
    is_missing,
    json_objects,
    literal,
    parse_duration_s,
    parse_times,
    read_delimited,
    row_hash,
    row_text,
    slurm_job_ids,
    sniff_header,
)
from rdcost.readers.derived import derive_times
from rdcost.readers.states import normalize_run_state

NAME = "csv"

#: Canonical column -> kind of value it holds.
CANONICAL: dict[str, str] = {
    "job_id": "text",
    "job_name": "text",
    "user": "text",
    "account": "text",
    "partition": "text",
    "qos": "text",
    "project": "text",
    "cluster": "text",
    "group_id": "text",
    "state": "state",
    "exit_code": "exit_code",
    "submit_time": "time",
    "start_time": "time",
    "end_time": "time",
    "elapsed_s": "duration",
    "timelimit_s": "duration",
    "total_cpu_s": "duration",
    "n_nodes": "count",
    "n_cpus": "count",
    "n_gpus": "number",
    "gpu_type": "text",
    "mem_req_bytes": "count",
    "max_rss_bytes": "count",
    "energy_j": "number",
    "node_list": "text",
    "run_id": "text",
    "parent_run_id": "text",
    "linked_slurm_job_id": "slurm_job",
    "tags": "tags",
    "config_json": "object",
    "metrics_json": "object",
}

#: Other names accepted for a canonical column (headers are compared in lower
#: case with spaces and '-' as '_'); also accepted as keys of --map.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "job_id": ("jobid", "job"),
    "job_name": ("name", "jobname", "run_name"),
    "user": ("username", "user_name"),
    "partition": ("queue",),
    "group_id": ("group", "sweep", "sweep_id"),
    "state": ("status",),
    "exit_code": ("exitcode",),
    "submit_time": ("submit", "submitted", "submitted_at", "submit_at"),
    "start_time": ("start", "started", "started_at", "begin", "begin_time"),
    "end_time": ("end", "ended", "ended_at", "finish", "finish_time", "finished_at"),
    "elapsed_s": ("elapsed", "duration", "run_time", "runtime", "wall_time", "walltime"),
    "timelimit_s": ("timelimit", "time_limit"),
    "total_cpu_s": ("total_cpu",),
    "n_nodes": ("nodes_count", "nnodes", "num_nodes", "num_hosts"),
    "n_cpus": ("cpus", "ncpus", "num_cpus", "num_cores", "cores"),
    "n_gpus": ("gpus", "ngpus", "num_gpus", "gpu_count"),
    "gpu_type": ("gpu", "gpu_model"),
    "node_list": ("nodelist", "host", "hostname"),
    "linked_slurm_job_id": ("slurm_job_id", "slurm_jobid"),
    "tags": ("tag", "labels"),
    "energy_j": ("energy",),
}
_ALIAS = {syn: canon for canon, syns in SYNONYMS.items() for syn in syns}

#: sacct field names: a header made of these is sacct output, not a plain CSV.
SACCT_FIELDS = frozenset(
    {
        "JobID",
        "JobIDRaw",
        "JobName",
        "Partition",
        "Account",
        "AllocCPUS",
        "AllocNodes",
        "AllocTRES",
        "State",
        "ExitCode",
        "Elapsed",
        "ElapsedRaw",
        "Start",
        "End",
        "Submit",
        "Eligible",
        "User",
        "UID",
        "Group",
        "GID",
        "Cluster",
        "NNodes",
        "NCPUS",
        "NodeList",
        "ReqMem",
        "ReqCPUS",
        "ReqNodes",
        "ReqTRES",
        "MaxRSS",
        "MaxVMSize",
        "AveRSS",
        "TotalCPU",
        "CPUTime",
        "CPUTimeRAW",
        "Timelimit",
        "TimelimitRaw",
        "QOS",
        "ConsumedEnergy",
        "ConsumedEnergyRaw",
        "NTasks",
        "Reserved",
        "Priority",
        "WorkDir",
        "Comment",
        "Constraints",
        "Flags",
        "DerivedExitCode",
        "SystemCPU",
        "UserCPU",
        "Reservation",
        "AssocID",
    }
)
_NUMBERISH = re.compile(r"^[+-]?\d[\d.:/\-_ T+]*$")
_STATE_EXPECTED = (
    "a job or run state (COMPLETED, FAILED, CANCELLED, TIMEOUT, RUNNING, ...; "
    "finished, crashed, killed)"
)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


# --------------------------------------------------------------------------
# Detection


def looks_like_sacct(cells: list[str], delimiter: str, sample: Sample) -> bool:
    """sacct text: a header of sacct field names, a fixed-width '----' rule, or
    header-less rows starting with a job id."""
    fields = sum(1 for c in cells if c in SACCT_FIELDS)
    if fields >= 2 or (delimiter == "|" and fields >= 1):
        return True
    from rdcost.readers.slurm.sacct_parsable import detect_layout

    try:  # a sacct header with a delimiter of its own (^|^, ☃): sacct text, not CSV
        layout = detect_layout([ln.rstrip("\r") for ln in sample.lines(5)], strict=True)
    except RdcostError:
        layout = None
    if layout is not None and layout.has_header:
        return True
    lines = [ln for ln in sample.lines(3) if ln.strip()]
    if len(lines) >= 2 and re.fullmatch(r"[-\s]+", lines[1]) and "-" in lines[1]:
        return True
    return bool(
        re.match(
            r"^\d+(?:_\d+|_\[[^\]]*\])?(?:\+\d+)?(?:\.\w+)?\s*[|,;\t]", lines[0] if lines else ""
        )
    )


def sniff(sample: Sample) -> bool:
    text = sample.text.lstrip()
    if not text or text[0] in "{[#":
        return False
    h = sniff_header(sample)
    if h is None or len(h.cells) < 2 or h.delimiter is None:
        return False
    from rdcost.readers.runs import mlflow, wandb

    if wandb.is_chart_panel(h.cells):
        return False
    if wandb.csv_layout(h.cells, h.is_all_quoted) is not None or mlflow.layout(h.cells) is not None:
        return False
    if looks_like_sacct(h.cells, h.delimiter, sample):
        return False
    named = [c for c in h.cells if c]
    if len(named) < len(h.cells) - 1:  # at most one unnamed (index) column
        return False
    return all(not _NUMBERISH.match(c) for c in named) and any(
        re.search(r"[A-Za-z]", c) for c in named
    )


# --------------------------------------------------------------------------
# Column roles


def canonical_name(key: str) -> str:
    """A --map key (canonical name or synonym) -> canonical column, or UsageError."""
    k = _norm(key)
    if k in CANONICAL:
        return k
    if k in _ALIAS:
        return _ALIAS[k]
    raise UsageError(
        f"--map: unknown column {key!r}; canonical columns are: " + ", ".join(CANONICAL), value=key
    )


def resolve_columns(header: list[str], column_map: dict[str, str], path: Path) -> dict[str, int]:
    """Canonical column -> position in the header: the user's map first, then
    exact canonical names, then synonyms."""
    roles: dict[str, int] = {}
    exact = {h: i for i, h in enumerate(header)}
    lower: dict[str, int] = {}
    for i, h in enumerate(header):
        lower.setdefault(_norm(h), i)
    for key, theirs in column_map.items():
        canon = canonical_name(key)
        pos = exact.get(theirs, lower.get(_norm(theirs)))
        if pos is None:
            raise UsageError(
                f"--map {key}={theirs}: the file has no column {theirs!r}",
                path=str(path),
                value=theirs,
                hint="its columns are: " + ", ".join(header),
            )
        roles[canon] = pos
    used = set(roles.values())
    for canon in CANONICAL:
        pos = lower.get(canon)
        if canon not in roles and pos is not None and pos not in used:
            roles[canon] = pos
            used.add(pos)
    for canon, syns in SYNONYMS.items():
        for syn in syns:
            pos = lower.get(syn)
            if canon not in roles and pos is not None and pos not in used:
                roles[canon] = pos
                used.add(pos)
    return roles


# --------------------------------------------------------------------------
# Parsing


def parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    path = Path(path)
    table = read_delimited(path, opts.delimiter)
    header, cells = table.header, table.cells
    roles = resolve_columns(header, opts.column_map, path)
    errors = RowErrors(cells.index)
    lines = pd.Series(table.lines, index=cells.index)
    jobs = pd.DataFrame(index=cells.index)

    def raw(canon: str) -> pd.Series:
        s = cells[roles[canon]].astype(object)
        return s.where(~is_missing(s), None)

    for canon, pos in sorted(roles.items(), key=lambda kv: kv[1]):  # first problem in file order
        kind, column, s = CANONICAL[canon], header[pos], raw(canon)
        if kind == "text":
            jobs[canon] = s.astype("string").str.strip().astype(object).where(s.notna(), None)
        elif kind == "time":
            t, r = parse_times(s, opts.tz, opts.dayfirst, free_form=True)
            errors.add(r.notna(), column, s, r, TIME_EXPECTED)
            jobs[canon] = t
        elif kind == "duration":
            d, r = parse_duration_s(s)
            errors.add(r.notna(), column, s, r, DURATION_EXPECTED)
            jobs[canon] = d
        elif kind in ("count", "number", "exit_code"):
            jobs[canon] = _number(s, kind, column, errors)
        elif kind == "state":
            uniq = {v: normalize_run_state(v) for v in s.dropna().unique()}
            jobs["state"] = s.map(uniq).astype(object)
            jobs["state_raw"] = s
            errors.add(
                s.notna() & jobs["state"].isna(), column, s, "unknown state", _STATE_EXPECTED
            )
        elif kind == "slurm_job":
            ids = slurm_job_ids(s)
            errors.add(
                s.notna() & ids.isna(), column, s, "not a Slurm job id", "a job id like 12345"
            )
            jobs[canon] = ids
        elif kind == "tags":
            jobs[canon] = _tags(s)
        elif kind == "object":
            obj = s.map(lambda v: literal(v, "python") if isinstance(v, str) else None)
            bad = s.notna() & ~obj.map(lambda v: isinstance(v, dict))
            errors.add(bad, column, s, "not a JSON object", 'a JSON object like {"lr": 0.001}')
            jobs[canon] = obj.map(lambda v: _dump(v) if isinstance(v, dict) and v else None)
    derive_times(jobs)
    used = set(roles.values())
    other = [p for p in range(len(header)) if p not in used and header[p] != ""]
    jobs["other_json"] = json_objects(cells[other], [header[p] for p in other], "json")
    jobs["source"] = "csv"
    jobs["source_line"] = pd.array(lines, dtype="Int64")
    if "group_id" in jobs:
        jobs["group_source"] = np.where(jobs["group_id"].notna(), "csv", None)  # type: ignore[call-overload]  # numpy's stubs reject a None branch; numpy takes it
    jobs["record_key"] = _record_keys(jobs, cells, header, opts)
    apply_gpu_options(jobs, opts)
    check_times(jobs, errors, header[roles["end_time"]] if "end_time" in roles else "end_time")
    for chunk in finish(
        jobs,
        errors,
        path=path,
        lines=lines,
        text=row_text(table),
        opts=opts,
        n_records=table.n_records,
        n_ignored=table.n_blank,
        pre_rejected=table.bad,
        format_detail="tsv" if table.delimiter == "\t" else "csv",
    ):
        if not roles:
            chunk.notes.append(
                "no column of this CSV names a job field (an id, a name, a state, a time, GPUs): "
                "its rows are stored with nothing known but their other columns (no GPU time); "
                "name your columns with --map, e.g. --map end_time=timestamp (docs/runs-formats.md)"
            )
        yield chunk


def _dump(v) -> str:
    import json

    return json.dumps(v, ensure_ascii=False)


def _number(s: pd.Series, kind: str, column: str, errors: RowErrors) -> pd.Series:
    v = pd.to_numeric(s.str.strip() if hasattr(s, "str") else s, errors="coerce").astype(float)
    present = s.notna()
    if kind == "number":
        errors.add(
            present & (v.isna() | (v < 0) | ~np.isfinite(v)),
            column,
            s,
            "not a number >= 0",
            "a number >= 0",
        )
        return v
    whole = v.notna() & (v == np.floor(v))
    if kind == "exit_code":
        bad = present & ~(whole & (v >= 0) & (v <= 255))
        errors.add(
            bad,
            column,
            s,
            "not an exit code 0-255 (a larger value may be a raw wait "
            "status: exit code = value // 256)",
            "an integer 0-255",
        )
    else:
        errors.add(
            present & ~(whole & (v >= 0)), column, s, "not a whole number >= 0", "an integer >= 0"
        )
    return pd.array(v.where(whole), dtype="Int64")


def _tags(s: pd.Series) -> pd.Series:
    def one(v):
        if not isinstance(v, str):
            return None
        val = literal(v, "python") if v.lstrip().startswith("[") else None
        items = (
            [str(x) for x in val]
            if isinstance(val, list)
            else [t.strip() for t in re.split(r"[,;]", v) if t.strip()]
        )
        return _dump(items) if items else None

    return s.map(one)


def _record_keys(
    jobs: pd.DataFrame, cells: pd.DataFrame, header: list[str], opts: ParseOptions
) -> pd.Series:
    """csv:<cluster or project>:<job or run id>:<submit or start time>, else a digest of the row."""
    idx = jobs.index

    def col(name: str) -> pd.Series:
        return (
            jobs[name].astype(object) if name in jobs else pd.Series(None, index=idx, dtype=object)
        )

    scope = col("cluster").where(col("cluster").notna(), opts.cluster)
    scope = scope.where(scope.notna(), col("project")).where(lambda x: x.notna(), opts.project)
    ident = col("job_id").where(col("job_id").notna(), col("run_id"))
    when = (
        jobs["submit_time"]
        if "submit_time" in jobs
        else pd.Series(pd.NaT, index=idx, dtype="datetime64[us, UTC]")
    )  # ns would overflow after 2262
    when = pd.to_datetime(when, utc=True).where(lambda x: x.notna(), jobs["start_time"])
    when_s = when.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object).fillna("")
    by_id = (
        "csv:" + scope.fillna("").astype(str) + ":" + ident.fillna("").astype(str) + ":" + when_s
    )
    by_row = "csv:" + scope.fillna("").astype(str) + ":row=" + row_hash(cells, header)
    return by_id.where(ident.notna(), by_row)
