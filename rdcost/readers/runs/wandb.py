"""Weights & Biases run lists -> job rows (one per run).

Layouts (``source_format``):

- ``wandb-ui-csv``: the runs table's "Export as CSV": any subset and order of
  the built-in columns (Name, ID, State, Notes, User, Tags, Created, Updated,
  End Time, Runtime, Sweep, Agent, Stopped, Hostname), then config and
  summary columns under bare dotted keys. The export cannot tell config from
  summary, so those values go to ``other_json``.
- ``wandb-api-csv``: CSV written by users' scripts over the public API
  (``run_id, run_name, state, sweep_id, created_at, ...``; or the W&B docs'
  ``summary, config, name`` dump whose cells hold Python dict text).
- ``wandb-api-json`` / ``wandb-api-jsonl``: JSON records of runs with
  ``config``, ``summary``, ``metadata`` (``gpu``, ``gpu_count``, ``slurm``).

The chart-panel CSV (per-step history, ``<run> - <metric>__MIN``) is refused.
W&B times are UTC whatever ``--tz`` says; Runtime is seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdcost.errors import FormatDetectionError, ParseError
from rdcost.readers.base import Chunk, ParseOptions, Sample
from rdcost.readers.delimited import (
    DURATION_EXPECTED,
    SLURM_JOB_KEY,
    TIME_EXPECTED_ISO,
    RowErrors,
    apply_gpu_options,
    check_times,
    count_indices,
    dict_json,
    finish,
    first_by_key,
    flatten,
    is_missing,
    json_objects,
    json_string,
    literal,
    parse_duration_s,
    parse_times,
    read_delimited,
    read_text,
    row_hash,
    row_text,
    slurm_job_ids,
    sniff_header,
)
from rdcost.readers.derived import derive_times
from rdcost.readers.runs.gpu_metrics import add_gpu_metrics
from rdcost.readers.states import normalize_run_state

NAME = "wandb"

#: UI built-in column -> role. Roles without a job-table column go to other_json.
UI_COLUMNS = {
    "Name": "job_name",
    "ID": "run_id",
    "State": "state",
    "User": "user",
    "Tags": "tags",
    "Created": "created",
    "End Time": "end",
    "Runtime": "runtime",
    "Sweep": "sweep",
    "Hostname": "host",
    "Notes": "notes",
    "Updated": None,
    "Agent": None,
    "Stopped": None,
}
#: Built-ins only W&B exports have (with Name): what tells a UI export from other CSV.
_UI_MARKERS = {
    "ID",
    "State",
    "Created",
    "Runtime",
    "Sweep",
    "End Time",
    "Updated",
    "Agent",
    "Stopped",
}
_MLFLOW_UI_MARKERS = {"Run ID", "Start Time", "Duration"}

#: Header (lower case) -> role, for CSV written through the public API.
API_COLUMNS = {
    "run_id": "run_id",
    "id": "run_id",
    "run_name": "job_name",
    "name": "job_name",
    "display_name": "job_name",
    "displayname": "job_name",
    "state": "state",
    "created_at": "created",
    "createdat": "created",
    "created": "created",
    "end_time": "end",
    "ended_at": "end",
    "heartbeat_at": "end",
    "heartbeatat": "end",
    "runtime": "runtime",
    "_runtime": "runtime",
    "runtime_s": "runtime",
    "sweep_id": "sweep",
    "sweep": "sweep",
    "sweep_name": "sweep",
    "tags": "tags",
    "user": "user",
    "username": "user",
    "entity": "entity",
    "project": "project",
    "path": "path",
    "host": "host",
    "hostname": "host",
    "notes": "notes",
    "gpu_count": "n_gpus",
    "gpu": "gpu_type",
    "gpu_type": "gpu_type",
    "config": "config",
    "summary": "summary",
    "summary_metrics": "summary",
    "_wandb": "wandb",
}
_API_MARKERS = {
    "sweep_id",
    "sweep",
    "sweep_name",
    "_wandb",
    "_runtime",
    "_timestamp",
    "_step",
    "summary",
    "config",
    "summary_metrics",
    "system_metrics",
}
_MLFLOW_MARKERS = {"experiment_id", "artifact_uri", "status"}
_CHART = re.compile(r"^.+ - .+__(?:MIN|MAX)$")
_GPU_PROCESS = re.compile(r"^(?:system\.)?gpu\.process\.(\d+)\.")
_JSON_ID_KEYS = ("id", "run_id", "name", "path", "display_name", "displayName")
_JSON_MARKERS = (
    "config",
    "summary",
    "summary_metrics",
    "metadata",
    "system_metrics",
    "sweep",
    "sweep_id",
    "sweep_name",
    "sweepName",
)

CHART_HINT = (
    "export the runs table instead: in the project's Runs tab (table view) use the "
    "table's export button and choose CSV, or write the runs with the public API "
    "script; both are described in docs/runs-formats.md"
)


# --------------------------------------------------------------------------
# Detection


def is_chart_panel(cells: list[str]) -> bool:
    """A chart-panel CSV: per-step history columns '<run> - <metric>__MIN/__MAX'."""
    return sum(1 for c in cells if _CHART.match(c)) >= 1 and any(" - " in c for c in cells[1:])


def chart_panel_error(path, cells: list[str]) -> FormatDetectionError:
    example = next(c for c in cells if _CHART.match(c))
    return FormatDetectionError(
        "this is a W&B chart-panel CSV (the per-step history of one plot, one column per "
        "run and metric), not a table of runs: it holds no run times or states",
        path=str(path),
        value=example,
        hint=CHART_HINT,
    )


def csv_layout(cells: list[str], is_all_quoted: bool, strict: bool = True) -> str | None:
    """'ui' or 'api' for a W&B CSV header, else None. ``strict`` is the sniffer's rule;
    with --format wandb a UI export showing only Name + config columns is accepted."""
    names = set(cells)
    lower = {c.lower() for c in cells}
    if "Name" in names and not names & _MLFLOW_UI_MARKERS:
        n_markers = len(names & _UI_MARKERS)
        if n_markers >= (1 if is_all_quoted else 2) or not strict:
            return "ui"
    if lower & _MLFLOW_MARKERS or any(
        c.startswith(("params.", "metrics.", "tags.")) for c in lower
    ):
        return None
    has_id = bool(lower & {"run_id", "id", "name", "run_name"})
    prefixed = any(c.startswith(("config.", "summary.", "summary_metrics.")) for c in lower)
    if has_id and (lower & _API_MARKERS or prefixed or {"state", "created_at"} <= lower):
        return "api"
    if not strict and has_id:
        return "api"
    return None


def _json_record_head(text: str) -> dict | None:
    t = text.lstrip()
    dec = json.JSONDecoder()
    try:
        if t.startswith("["):
            body = t[1:].lstrip()
            obj, _ = dec.raw_decode(body)
        elif t.startswith("{"):
            first = t.split("\n", 1)[0]
            try:
                obj = json.loads(first)
            except (ValueError, RecursionError):
                obj, _ = dec.raw_decode(t)
                if isinstance(obj, dict) and isinstance(obj.get("runs"), list) and obj["runs"]:
                    obj = obj["runs"][0]
        else:
            return None
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _is_run_record(obj: dict | None) -> bool:
    if not obj or "jobs" in obj:
        return False
    return any(k in obj for k in _JSON_MARKERS) and any(k in obj for k in _JSON_ID_KEYS)


def sniff(sample: Sample) -> bool:
    t = sample.text.lstrip()
    if t.startswith(("{", "[")):
        return _is_run_record(_json_record_head(t))
    h = sniff_header(sample)
    if h is None or len(h.cells) < 2:
        return False
    if is_chart_panel(h.cells):
        raise chart_panel_error(sample.path, h.cells)
    return csv_layout(h.cells, h.is_all_quoted) is not None


# --------------------------------------------------------------------------
# Parsing


def parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    path = Path(path)
    sample = Sample.read(path)
    if sample.text.lstrip().startswith(("{", "[")):
        yield from _parse_json(path, read_text(path), opts)
        return
    table = read_delimited(path, opts.delimiter)
    if is_chart_panel(table.header):
        raise chart_panel_error(path, table.header)
    quoted = sniff_header(sample, table.delimiter)
    layout = csv_layout(table.header, bool(quoted and quoted.is_all_quoted), strict=False)
    if layout is None:
        raise FormatDetectionError(
            "not a W&B runs export: no Name/ID column of the runs table and no run_id/state/"
            "created_at column of an API dump",
            path=str(path),
            value=",".join(table.header)[:200],
        )
    frame, names = (_ui_frame if layout == "ui" else _api_frame)(table)
    lines = pd.Series(table.lines, index=frame.index)
    frame["source_line"] = lines
    jobs, errors = _jobs(frame, names, opts, layout == "ui")
    yield from finish(
        jobs,
        errors,
        path=path,
        lines=lines,
        text=row_text(table),
        opts=opts,
        n_records=table.n_records,
        n_ignored=table.n_blank,
        pre_rejected=table.bad,
        format_detail="wandb-ui-csv" if layout == "ui" else "wandb-api-csv",
    )


def _ui_frame(table) -> tuple[pd.DataFrame, dict[str, str]]:
    cells, header = table.cells, table.header
    frame = pd.DataFrame(index=cells.index)
    names: dict[str, str] = {}
    other_pos: list[int] = []
    for pos, name in enumerate(header):
        role = UI_COLUMNS.get(name, "other")
        if role not in (None, "other", "notes") and role not in frame:
            frame[role] = cells[pos]
            names[role] = name
        else:
            other_pos.append(pos)
    other = cells[other_pos].copy()
    for pos in other_pos:
        if header[pos] == "Notes":  # '-' is the UI's empty note
            other[pos] = other[pos].where(other[pos] != "-", "")
    keys = [header[p] for p in other_pos]
    frame["other_json"] = json_objects(other, keys, "json")
    frame["linked"] = first_by_key(other, keys, SLURM_JOB_KEY)
    frame["n_gpus"] = count_indices(other, keys, _GPU_PROCESS)
    if "tags" in frame:
        frame["tags"] = _tags_from_text(frame["tags"])
    return frame, names


def _api_frame(table) -> tuple[pd.DataFrame, dict[str, str]]:
    cells, header = table.cells, table.header
    frame = pd.DataFrame(index=cells.index)
    names: dict[str, str] = {}
    groups: dict[str, list[int]] = {"config": [], "summary": [], "other": []}
    for pos, name in enumerate(header):
        low = name.lower()
        role = API_COLUMNS.get(low)
        if pos == 0 and (name == "" or name.startswith("Unnamed: ")):
            continue  # the pandas index column
        if role is not None and role not in frame:
            frame[role] = cells[pos]
            names[role] = name
        elif low.startswith("config."):
            groups["config"].append(pos)
        elif low.startswith(("summary.", "summary_metrics.")):
            groups["summary"].append(pos)
        else:
            groups["other"].append(pos)
    config: list[dict | None] = (
        _dict_column(frame.pop("config")) if "config" in frame else [None] * len(frame)
    )
    summary: list[dict | None] = (
        _dict_column(frame.pop("summary")) if "summary" in frame else [None] * len(frame)
    )
    wb = _dict_column(frame.pop("wandb")) if "wandb" in frame else [None] * len(frame)
    for kind, target in (("config", config), ("summary", summary)):
        pos_list = groups[kind]
        if pos_list:
            sub = cells[pos_list]
            keys = [header[p].split(".", 1)[1] for p in pos_list]
            flat = json_objects(sub, keys, "python")
            for i, text in enumerate(flat):
                if isinstance(text, str):
                    target[i] = {**(target[i] or {}), **json.loads(text)}
    other = cells[groups["other"]]
    okeys = [header[p] for p in groups["other"]]
    frame["config_json"] = dict_json(config)
    frame["metrics_json"] = dict_json(summary)
    frame["other_json"] = json_objects(other, okeys, "python")
    runtime_sum = [_summary_runtime(s, w) for s, w in zip(summary, wb, strict=True)]
    if "runtime" not in frame:
        frame["runtime"] = pd.Series(runtime_sum, index=frame.index, dtype=object)
        names["runtime"] = "summary._wandb.runtime"
    linked = first_by_key(other, okeys, SLURM_JOB_KEY)
    from_dicts = pd.Series(
        [_find_slurm(c, s) for c, s in zip(config, summary, strict=True)],
        index=frame.index,
        dtype=object,
    )
    frame["linked"] = linked.where(linked.notna(), from_dicts)
    if "n_gpus" not in frame:
        frame["n_gpus"] = count_indices(other, okeys, _GPU_PROCESS)
    if "path" in frame:
        _apply_path(frame, frame.pop("path").map(lambda v: literal(v, "python") if v else None))
    if "tags" in frame:
        frame["tags"] = _tags_from_text(frame["tags"], python=True)
    return frame, names


def _dict_column(s: pd.Series) -> list[dict | None]:
    out: list[dict | None] = []
    for v in s:
        d = literal(v, "python") if isinstance(v, str) and v.strip() else None
        out.append(flatten(d) if isinstance(d, dict) and d else None)
    return out


def _summary_runtime(summary: dict | None, wb: dict | None) -> str | None:
    for d, key in ((wb, "runtime"), (summary, "_wandb.runtime"), (summary, "_runtime")):
        if d and d.get(key) is not None:
            return str(d[key])
    return None


def _find_slurm(*dicts: dict | None) -> str | None:
    for d in dicts:
        for k, v in (d or {}).items():
            if SLURM_JOB_KEY.match(k) and v not in (None, ""):
                return str(v)
    return None


def _tags_from_text(s: pd.Series, python: bool = False) -> pd.Series:
    """UI tag cells (comma-separated) or API list reprs -> JSON lists."""
    t = s.astype("string").str.strip()
    out = pd.Series(pd.NA, index=s.index, dtype=object)
    is_list = t.str.startswith("[").fillna(False).astype(bool)
    if is_list.any():
        conv = t[is_list].map(lambda v: literal(v, "python"))
        conv = conv.map(
            lambda v: json.dumps([str(x) for x in v]) if isinstance(v, list) and v else pd.NA
        )
        out[conv.index] = conv
    plain = ~is_list & t.notna() & (t != "")
    if plain.any():
        parts = t[plain].str.split(r"\s*,\s*", regex=True)
        items = json_string(parts.explode())
        out[plain] = ("[" + items.groupby(level=0).agg(", ".join) + "]")[plain[plain].index]
    return out


def _apply_path(frame: pd.DataFrame, path: pd.Series) -> None:
    """run.path (['entity', 'project', 'id'] or 'entity/project/id') fills gaps."""
    parts = path.map(
        lambda v: v if isinstance(v, list) else (v.split("/") if isinstance(v, str) else None)
    )
    for i, role in ((0, "entity"), (1, "project"), (2, "run_id")):
        vals = parts.map(lambda p, i=i: p[i] if isinstance(p, list) and len(p) == 3 else None)
        frame[role] = (
            frame[role].where(frame[role].notna() & (frame[role] != ""), vals)
            if role in frame
            else vals
        )


# --------------------------------------------------------------------------
# JSON records


def _parse_json(path: Path, text: str, opts: ParseOptions) -> Iterator[Chunk]:
    records, lines, bad, fmt = _json_records(path, text)
    rows = [_json_row(r) for r in records]
    frame = pd.DataFrame(rows, columns=_JSON_ROW_COLUMNS, dtype=object)
    frame.index = pd.RangeIndex(len(frame))
    line_s = pd.Series(lines, index=frame.index, dtype=object)
    frame["source_line"] = line_s
    names = {
        "created": "created_at",
        "end": "heartbeat_at",
        "runtime": "summary._wandb.runtime",
        "state": "state",
        "sweep": "sweep",
    }
    jobs, errors = _jobs(frame, names, opts, False)
    text_s = pd.Series([json.dumps(r)[:500] for r in records], index=frame.index)
    yield from finish(
        jobs,
        errors,
        path=path,
        lines=line_s,
        text=text_s,
        opts=opts,
        n_records=len(records) + len(bad),
        n_ignored=0,
        pre_rejected=bad,
        format_detail=fmt,
    )


def _json_records(path: Path, text: str):
    from rdcost.readers.base import Rejected

    bad: list[Rejected] = []
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"not valid JSON: {exc}", path=str(path)) from None
        if not all(isinstance(r, dict) for r in data):
            raise ParseError("a JSON list of runs must hold objects", path=str(path))
        return data, [None] * len(data), bad, "wandb-api-json"
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("runs"), list):
        return data["runs"], [None] * len(data["runs"]), bad, "wandb-api-json"
    if isinstance(data, dict) and data.get("jobs") is not None:
        raise FormatDetectionError(
            "this is Slurm JSON (it has 'jobs'), not W&B runs",
            path=str(path),
            hint="use --format sacct-json",
        )
    records, lines = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            why = getattr(exc, "msg", None) or (
                "values nested too deeply"
                if isinstance(exc, RecursionError)
                else "a number of more than 4300 digits"
            )  # int limit
            bad.append(
                Rejected(
                    path=str(path),
                    line=n,
                    reason=f"not a JSON object: {why}",
                    value=line[:80],
                    expected="one JSON object per line",
                    text=line[:500],
                )
            )
            continue
        if not isinstance(obj, dict):
            bad.append(
                Rejected(
                    path=str(path),
                    line=n,
                    reason="not a JSON object",
                    value=line[:80],
                    expected="one JSON object per line",
                    text=line[:500],
                )
            )
            continue
        records.append(obj)
        lines.append(n)
    return records, lines, bad, "wandb-api-jsonl"


_JSON_ROW_COLUMNS = [
    "run_id",
    "job_name",
    "state",
    "created",
    "end",
    "runtime",
    "sweep",
    "tags",
    "user",
    "entity",
    "project",
    "host",
    "n_gpus",
    "gpu_type",
    "cluster",
    "linked",
    "config_json",
    "metrics_json",
    "other_json",
    "system_json",
]
_JSON_KNOWN = {
    "id",
    "run_id",
    "name",
    "display_name",
    "displayName",
    "run_name",
    "state",
    "created_at",
    "createdAt",
    "heartbeat_at",
    "heartbeatAt",
    "end_time",
    "runtime",
    "sweep",
    "sweep_id",
    "sweep_name",
    "sweepName",
    "tags",
    "user",
    "username",
    "entity",
    "project",
    "path",
    "host",
    "config",
    "summary",
    "summary_metrics",
    "metadata",
    "system_metrics",
}


def _first(rec: dict, *keys):
    for k in keys:
        v = rec.get(k)
        if v not in (None, ""):
            return v
    return None


def _json_row(rec: dict) -> dict:
    config: Any = rec.get("config") if isinstance(rec.get("config"), dict) else {}
    if config and all(isinstance(v, dict) and "value" in v for v in config.values()):
        config = {k: v["value"] for k, v in config.items()}  # server-side {key: {value, desc}}
    config = flatten({k: v for k, v in config.items() if k not in ("_wandb", "wandb_version")})
    summary = _first(rec, "summary", "summary_metrics")
    summary = flatten(summary) if isinstance(summary, dict) else {}
    meta: Any = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
    system: Any = rec.get("system_metrics") if isinstance(rec.get("system_metrics"), dict) else {}
    slurm: Any = meta.get("slurm") if isinstance(meta.get("slurm"), dict) else {}
    path = rec.get("path")
    parts = path if isinstance(path, list) else (path.split("/") if isinstance(path, str) else [])
    parts = parts if len(parts) == 3 else [None, None, None]
    sweep = _first(rec, "sweep_id", "sweep_name", "sweepName", "sweep")
    if isinstance(sweep, dict):
        sweep = _first(sweep, "id", "name")
    user = _first(rec, "user", "username")
    if isinstance(user, dict):
        user = _first(user, "username", "name")
    tags = rec.get("tags")
    tags = (
        [str(t) for t in tags]
        if isinstance(tags, list)
        else ([t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else [])
    )
    gpu_idx = {m.group(1) for k in system for m in [_GPU_PROCESS.match(k)] if m}
    n_gpus = len(gpu_idx) if gpu_idx else meta.get("gpu_count")
    runtime = _first(rec, "runtime")
    if runtime is None:
        runtime = _first(summary, "_wandb.runtime", "_runtime")
    other = {k: v for k, v in rec.items() if k not in _JSON_KNOWN}
    linked = _first(slurm, "job_id") or _find_slurm(config, summary, flatten(other))
    row = {
        "run_id": _first(rec, "id", "run_id") or parts[2],
        "job_name": _first(rec, "display_name", "displayName", "run_name", "name"),
        "state": rec.get("state"),
        "created": _first(rec, "created_at", "createdAt"),
        "end": _first(rec, "end_time", "heartbeat_at", "heartbeatAt"),
        "runtime": None if runtime is None else str(runtime),
        "sweep": sweep,
        "tags": json.dumps(tags) if tags else None,
        "user": user,
        "entity": _first(rec, "entity") or parts[0],
        "project": _first(rec, "project") or parts[1],
        "host": _first(rec, "host") or meta.get("host"),
        "n_gpus": n_gpus,
        "gpu_type": meta.get("gpu"),
        "cluster": slurm.get("cluster_name"),
        "linked": None if linked is None else str(linked),
        "config_json": dict_json([config])[0],
        "metrics_json": dict_json([summary])[0],
        "other_json": dict_json([flatten(other)])[0],
        "system_json": json.dumps(flatten(system), default=str) if system else None,
    }
    for k in _JSON_TEXT:  # a list or object where text belongs is read as its JSON text
        v = row[k]
        if v is not None and not isinstance(v, str):
            row[k] = (
                str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else json.dumps(v)
            )
    return row


_JSON_TEXT = (
    "run_id",
    "job_name",
    "state",
    "created",
    "end",
    "sweep",
    "user",
    "entity",
    "project",
    "host",
    "gpu_type",
    "cluster",
)


# --------------------------------------------------------------------------
# Common: intermediate frame -> job rows


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return frame[name].astype(object).where(frame[name].notna(), None)
    return pd.Series(None, index=frame.index, dtype=object)


def _nonempty(s: pd.Series) -> pd.Series:
    s = s.astype(object)
    return s.where(~is_missing(s), None)


def _jobs(
    frame: pd.DataFrame, names: dict[str, str], opts: ParseOptions, ui: bool
) -> tuple[pd.DataFrame, RowErrors]:
    errors = RowErrors(frame.index)
    created_raw, end_raw, runtime_raw = (
        _col(frame, "created"),
        _col(frame, "end"),
        _col(frame, "runtime"),
    )
    created, r = parse_times(created_raw, "UTC")
    errors.add(r.notna(), names.get("created", "Created"), created_raw, r, TIME_EXPECTED_ISO)
    end, r = parse_times(end_raw, "UTC")
    errors.add(r.notna(), names.get("end", "End Time"), end_raw, r, TIME_EXPECTED_ISO)
    elapsed, r = parse_duration_s(runtime_raw)
    errors.add(r.notna(), names.get("runtime", "Runtime"), runtime_raw, r, DURATION_EXPECTED)
    state_raw = _nonempty(_col(frame, "state"))
    uniq = {v: normalize_run_state(v) for v in state_raw.dropna().unique()}
    state = state_raw.map(uniq).astype(object)
    errors.add(
        state_raw.notna() & state.isna(),
        names.get("state", "State"),
        state_raw,
        "unknown run state",
        "a W&B run state (finished, running, failed, crashed, killed, preempted, pending)",
    )
    # start = End Time - Runtime where no Created, elapsed = end - start where no Runtime,
    # and a running run's End Time (when it was last seen) is no end: the shared rules
    times = derive_times(
        pd.DataFrame(
            {"state": state, "start_time": created, "end_time": end, "elapsed_s": elapsed},
            index=frame.index,
        )
    )
    start, end, elapsed = times["start_time"], times["end_time"], times["elapsed_s"]

    run_id = _nonempty(_col(frame, "run_id"))
    entity, project = _nonempty(_col(frame, "entity")), _nonempty(_col(frame, "project"))
    scope = (entity.fillna("").astype(str) + "/" + project.fillna("").astype(str)).where(
        entity.notna() & project.notna(), project
    )
    scope = scope.where(scope.notna(), opts.project or "").astype(str)
    name = _nonempty(_col(frame, "job_name"))
    by_id = "wandb:" + scope + ":" + run_id.fillna("").astype(str)
    created_key = created.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    start_key = start.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    by_name = (
        "wandb:"
        + scope
        + ":name="
        + name.fillna("").astype(str)
        + ":created="
        + created_key.where(created_key.notna(), start_key).fillna("").astype(str)
    )
    key = by_id.where(run_id.notna(), by_name)
    content_key = row_hash(
        frame.drop(columns=["source_line"]), [c for c in frame.columns if c != "source_line"]
    )
    no_time = run_id.isna() & created_key.isna() & start_key.isna()
    key = key.where(
        ~no_time, "wandb:" + scope + ":name=" + name.fillna("").astype(str) + ":row=" + content_key
    )
    errors.add(
        run_id.isna() & name.isna(),
        names.get("job_name", "Name"),
        name,
        "run without ID or Name",
        "a run ID or Name",
    )

    jobs = pd.DataFrame(
        {
            "record_key": key,
            "source": "wandb",
            "source_line": pd.array(frame["source_line"], dtype="Int64"),
            "job_id": run_id,
            "run_id": run_id,
            "job_name": name,
            "user": _nonempty(_col(frame, "user")),
            "account": entity,
            "project": project,
            "cluster": _nonempty(_col(frame, "cluster")),
            "group_id": _nonempty(_col(frame, "sweep")),
            "state": state,
            "state_raw": state_raw,
            "start_time": start,
            "end_time": end,
            "elapsed_s": elapsed,
            "node_list": _nonempty(_col(frame, "host")),
            "n_gpus": pd.to_numeric(_col(frame, "n_gpus"), errors="coerce").astype(float),
            "gpu_type": _nonempty(_col(frame, "gpu_type")),
            "linked_slurm_job_id": slurm_job_ids(_col(frame, "linked")),
            "tags": _col(frame, "tags"),
            "config_json": _col(frame, "config_json"),
            "metrics_json": _col(frame, "metrics_json"),
            "other_json": _col(frame, "other_json"),
        },
        index=frame.index,
    )
    jobs["group_source"] = np.where(jobs["group_id"].notna(), "sweep", None)  # type: ignore[call-overload]  # numpy's stubs reject a None branch; numpy takes it
    jobs["derived_columns"] = times["derived_columns"]
    apply_gpu_options(jobs, opts)
    add_gpu_metrics(jobs, "wandb", _col(frame, "system_json") if "system_json" in frame else None)
    check_times(jobs, errors, names.get("end", "End Time"))
    return jobs, errors
