"""MLflow run lists -> job rows (one per run).

Layouts (``source_format``):

- ``mlflow-search-runs``: ``mlflow.search_runs()`` written with
  ``to_csv`` (also ``mlflow experiments csv``): ``run_id, experiment_id,
  status, artifact_uri, start_time, end_time, metrics.*, params.*, tags.*``;
  times are UTC.
- ``mlflow-ui-csv``: the UI's "Download CSV" (1.x and 2.x): ``Start Time,
  Duration, Run ID, Name, Source Type, Source Name, User, Status`` then bare
  param, metric and tag columns. ``Start Time`` is the browser's local time
  without offset (``--tz``); ``Duration`` is rounded (``161ms``, ``5.6s``,
  ``2.2min``, ``2.7h``, ``1.1d``); cells the UI prefixed with ``'`` (CSV
  injection guard) are restored. Bare columns cannot be told apart, so they go
  to ``other_json``.

A parent run (``mlflow.parentRunId`` of other runs) is a group container:
``is_container`` is set, and its children carry ``group_id`` = the parent id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from rdcost.errors import FormatDetectionError
from rdcost.readers.base import Chunk, ParseOptions, Sample
from rdcost.readers.delimited import (
    DURATION_EXPECTED,
    SLURM_JOB_KEY,
    TIME_EXPECTED_ISO,
    RowErrors,
    apply_gpu_options,
    check_times,
    count_indices,
    finish,
    first_by_key,
    is_missing,
    json_objects,
    json_string,
    parse_duration_s,
    parse_times,
    read_delimited,
    row_text,
    slurm_job_ids,
    sniff_header,
)
from rdcost.readers.derived import derive_times
from rdcost.readers.runs.gpu_metrics import add_gpu_metrics
from rdcost.readers.states import normalize_run_state

NAME = "mlflow"

_SEARCH_INFO = {
    "run_id": "run_id",
    "experiment_id": "experiment",
    "status": "state",
    "start_time": "start",
    "end_time": "end",
    "artifact_uri": None,
    "lifecycle_stage": None,
}
_SEARCH_TAGS = {
    "tags.mlflow.runName": "job_name",
    "tags.mlflow.user": "user",
    "tags.mlflow.parentRunId": "parent",
}
_UI_INFO = {
    "Start Time": "start",
    "Duration": "duration",
    "Run ID": "run_id",
    "Name": "job_name",
    "Run Name": "job_name",
    "User": "user",
    "Status": "state",
    "Experiment ID": "experiment",
    "Parent Run ID": "parent",
    "Parent Run": "parent",
    "mlflow.parentRunId": "parent",
    "parentRunId": "parent",
}
_UI_MARKERS = {"Run ID"}
_GPU = re.compile(r"^(?:metrics\.)?system/(?:[^/]+/)?gpu_(\d+)_")
_INJECTION_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")
_STATE_EXPECTED = "an MLflow run status (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)"


def layout(cells: list[str]) -> str | None:
    """'search' or 'ui' for an MLflow CSV header, else None."""
    names = set(cells)
    lower = {c.lower() for c in cells}
    if "run_id" in lower and (
        lower & {"experiment_id", "artifact_uri"}
        or any(c.startswith(("params.", "metrics.")) for c in lower)
    ):
        return "search"
    if names & _UI_MARKERS and names & {"Start Time", "Duration", "Status"}:
        return "ui"
    return None


def sniff(sample: Sample) -> bool:
    if sample.text.lstrip().startswith(("{", "[")):
        return False
    h = sniff_header(sample)
    return h is not None and len(h.cells) >= 2 and layout(h.cells) is not None


def parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    path = Path(path)
    table = read_delimited(path, opts.delimiter)
    kind = layout(table.header)
    if kind is None:
        raise FormatDetectionError(
            "not an MLflow runs export: expected run_id + experiment_id (search_runs) or "
            "'Run ID' + 'Start Time' (UI download)",
            path=str(path),
            value=",".join(table.header)[:200],
        )
    cells = table.cells.apply(lambda c: c.str.replace(_INJECTION_GUARD, "", regex=True))
    frame, names = (_search_frame if kind == "search" else _ui_frame)(table.header, cells, opts)
    lines = pd.Series(table.lines, index=frame.index)
    jobs, errors = _jobs(frame, names, lines, opts, ui=kind == "ui")
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
        format_detail="mlflow-search-runs" if kind == "search" else "mlflow-ui-csv",
    )


def _search_frame(header: list[str], cells: pd.DataFrame, opts: ParseOptions):
    frame = pd.DataFrame(index=cells.index)
    names: dict[str, str] = {}
    params, metrics, tags, other = [], [], [], []
    for pos, name in enumerate(header):
        if pos == 0 and (name == "" or name.startswith("Unnamed: ")):
            continue  # the pandas index column
        role = _SEARCH_INFO.get(name.lower(), _SEARCH_TAGS.get(name, "none"))
        if role not in (None, "none") and role not in frame:
            frame[role] = cells[pos]
            names[role] = name
        elif name.startswith("params."):
            params.append(pos)
        elif name.startswith("metrics."):
            metrics.append(pos)
        elif name.startswith("tags.") and not name.startswith("tags.mlflow."):
            tags.append(pos)
        else:
            other.append(pos)
    key = [h.split(".", 1)[1] if "." in h else h for h in header]
    frame["config_json"] = json_objects(cells[params], [key[p] for p in params], "python")
    frame["metrics_json"] = json_objects(cells[metrics], [key[p] for p in metrics], "json")
    frame["other_json"] = json_objects(cells[other], [header[p] for p in other], "python")
    frame["tags"] = _tag_list(cells[tags], [key[p] for p in tags])
    frame["n_gpus"] = count_indices(cells[metrics], [header[p] for p in metrics], _GPU)
    keys_all = [header[p] for p in params + tags + metrics + other]
    frame["linked"] = first_by_key(cells[params + tags + metrics + other], keys_all, SLURM_JOB_KEY)
    for role in ("start", "end"):
        if role in frame:
            frame[role + "_raw"] = frame.pop(role)
    return frame, names


def _ui_frame(header: list[str], cells: pd.DataFrame, opts: ParseOptions):
    frame = pd.DataFrame(index=cells.index)
    names: dict[str, str] = {}
    other = []
    for pos, name in enumerate(header):
        role = _UI_INFO.get(name)
        if role is not None and role not in frame:
            frame[role] = cells[pos]
            names[role] = name
        else:
            other.append(pos)
    okeys = [header[p] for p in other]
    frame["other_json"] = json_objects(cells[other], okeys, "python")
    frame["n_gpus"] = count_indices(cells[other], okeys, _GPU)
    frame["linked"] = first_by_key(cells[other], okeys, SLURM_JOB_KEY)
    if "start" in frame:
        frame["start_raw"] = frame.pop("start")
    return frame, names


def _tag_list(cells: pd.DataFrame, keys: list[str]) -> pd.Series:
    """User tags as a JSON list of 'key=value' strings."""
    out = pd.Series(pd.NA, index=cells.index, dtype=object)
    if cells.shape[1] == 0:
        return out
    frame = cells.copy()
    frame.columns = range(frame.shape[1])
    long = frame.stack()
    long = long[long.notna() & (long.astype(str) != "")].astype(str)
    if long.empty:
        return out
    names = np.asarray(keys, dtype=object)[long.index.get_level_values(1)]
    items = json_string(pd.Series(names, index=long.index) + "=" + long)
    joined = items.groupby(level=0, sort=False).agg(", ".join)
    out[joined.index] = "[" + joined + "]"
    return out


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        s = frame[name].astype(object)
        return s.where(~is_missing(s), None)
    return pd.Series(None, index=frame.index, dtype=object)


def _jobs(
    frame: pd.DataFrame, names: dict[str, str], lines: pd.Series, opts: ParseOptions, ui: bool
):
    errors = RowErrors(frame.index)
    start_raw = _col(frame, "start_raw")
    # search_runs times are UTC; the UI writes the browser's local time without offset
    start, r = parse_times(start_raw, opts.tz if ui else "UTC", epoch=not ui)
    errors.add(r.notna(), names.get("start", "start_time"), start_raw, r, TIME_EXPECTED_ISO)
    end_raw = _col(frame, "end_raw")
    end, r = parse_times(end_raw, "UTC", epoch=True)
    errors.add(r.notna(), names.get("end", "end_time"), end_raw, r, TIME_EXPECTED_ISO)
    if ui:
        dur_raw = _col(frame, "duration")
        elapsed, r = parse_duration_s(dur_raw)
        errors.add(r.notna(), names.get("duration", "Duration"), dur_raw, r, DURATION_EXPECTED)
    else:  # end - start, by the shared rule (rdcost.readers.derived), marked as derived
        elapsed = pd.Series(np.nan, index=frame.index)
    state_raw = _col(frame, "state")
    uniq = {v: normalize_run_state(v) for v in state_raw.dropna().unique()}
    state = state_raw.map(uniq).astype(object)
    errors.add(
        state_raw.notna() & state.isna(),
        names.get("state", "status"),
        state_raw,
        "unknown run status",
        _STATE_EXPECTED,
    )
    run_id = _col(frame, "run_id")
    errors.add(
        run_id.isna(),
        names.get("run_id", "run_id"),
        run_id,
        "run without a run id",
        "a 32-hex MLflow run id",
    )
    parent = _col(frame, "parent")
    parents = set(parent.dropna())
    is_container = run_id.isin(parents) & run_id.notna()
    group = parent.where(parent.notna(), run_id.where(is_container))
    experiment = _col(frame, "experiment")
    jobs = pd.DataFrame(
        {
            "record_key": "mlflow:" + run_id.fillna("").astype(str),
            "source": "mlflow",
            "source_line": pd.array(lines, dtype="Int64"),
            "job_id": run_id,
            "run_id": run_id,
            "job_name": _col(frame, "job_name"),
            "user": _col(frame, "user"),
            "account": experiment,
            "project": experiment,
            "group_id": group,
            "group_source": np.where(group.notna(), "mlflow_parent", None),  # type: ignore[call-overload]  # numpy's stubs reject a None branch; numpy takes it
            "parent_run_id": parent,
            "is_container": pd.array(is_container, dtype="boolean"),
            "state": state,
            "state_raw": state_raw,
            "start_time": start,
            "end_time": end,
            "elapsed_s": elapsed,
            "n_gpus": frame["n_gpus"].astype(float),
            "linked_slurm_job_id": slurm_job_ids(_col(frame, "linked")),
            "tags": _col(frame, "tags"),
            "config_json": _col(frame, "config_json"),
            "metrics_json": _col(frame, "metrics_json"),
            "other_json": _col(frame, "other_json"),
        },
        index=frame.index,
    )
    derive_times(jobs)
    apply_gpu_options(jobs, opts)
    add_gpu_metrics(jobs, "mlflow")
    check_times(jobs, errors, names.get("end", "end_time"))
    return jobs, errors
