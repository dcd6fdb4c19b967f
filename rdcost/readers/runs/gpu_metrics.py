"""GPU power and utilisation from the system metrics a W&B or MLflow export carries, into
the job-table columns ``gpu_power_w``, ``gpu_util_percent`` and ``gpu_metrics_source``
(docs/runs-formats.md, "GPU power and utilisation").

Keys read (in the run's summary, metrics, other columns or ``system_metrics``):

- W&B: ``system.gpu.process.N.powerWatts`` and ``system.gpu.process.N.gpu`` (percent), the
  GPUs the run's process used; else ``system.gpu.N.powerWatts`` / ``system.gpu.N.gpu``, every
  GPU of the host, used only when they are no more than the run's GPUs (a host's other GPUs
  are not the run's). The ``system.`` prefix may be absent or ``system/``.
- MLflow: ``system/gpu_N_power_usage_watts`` and ``system/gpu_N_utilization_percentage``
  (MLflow's monitor reads every GPU the process sees), under the same rule.

A run's value is the mean over its GPUs of each GPU's value, taken as the run's mean draw
(an export of the runs table holds one value per key: export the mean of the run's system
metrics, see docs/runs-formats.md). Power <= 0 and utilisation outside 0-100 are not read.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

_WB_PROC = re.compile(r"^(?:system[./])?gpu\.process\.(\d+)\.(gpu|powerWatts)$")
_WB_HOST = re.compile(r"^(?:system[./])?gpu\.(\d+)\.(gpu|powerWatts)$")
_MLFLOW = re.compile(
    r"^(?:metrics\.)?system/(?:[^/]+/)?gpu_(\d+)_(utilization_percentage|power_usage_watts)$"
)
_KIND = {
    "gpu": "util",
    "powerWatts": "power",
    "utilization_percentage": "util",
    "power_usage_watts": "power",
}


def _collect(d: dict[str, Any], pattern: re.Pattern[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"util": {}, "power": {}}
    for k, v in d.items():
        m = pattern.match(str(k))
        if not m or isinstance(v, bool):
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        kind = _KIND[m.group(2)]
        ok = 0 <= x <= 100 if kind == "util" else x > 0
        if ok and np.isfinite(x):
            out[kind][m.group(1)] = x
    return out


def from_keys(
    d: dict[str, Any], source: str, n_gpus: float | None
) -> tuple[float | None, float | None, str | None]:
    """(mean utilisation %, mean power W per GPU, where from) of one run's flat key->value
    map (see the module doc); Nones when the run has none it can use."""
    if source == "wandb":
        proc = _collect(d, _WB_PROC)
        if proc["util"] or proc["power"]:
            return _means(proc, "wandb system metrics (process GPUs)")
        host, what = _collect(d, _WB_HOST), "wandb system metrics (host GPUs)"
    else:
        host, what = _collect(d, _MLFLOW), "mlflow system metrics"
    n_host = len(set(host["util"]) | set(host["power"]))
    if not n_host or (n_gpus is not None and not np.isnan(n_gpus) and n_host > n_gpus):
        return None, None, None
    return _means(host, what)


def _means(v: dict[str, dict[str, float]], what: str) -> tuple[float | None, float | None, str]:
    util = sum(v["util"].values()) / len(v["util"]) if v["util"] else None
    power = sum(v["power"].values()) / len(v["power"]) if v["power"] else None
    return util, power, what


def _flat(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        d = json.loads(text)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def add_gpu_metrics(jobs: pd.DataFrame, source: str, system: pd.Series | None = None) -> None:
    """Set gpu_util_percent, gpu_power_w and gpu_metrics_source of run rows from their
    metrics_json and other_json (and ``system``: JSON text of a record's system metrics)."""
    n = len(jobs)
    util, power = np.full(n, np.nan), np.full(n, np.nan)
    src = np.full(n, None, dtype=object)
    cols = [c for c in ("metrics_json", "other_json") if c in jobs]
    gpus = pd.to_numeric(jobs["n_gpus"], errors="coerce").to_numpy(dtype=float)
    for i in range(n):
        d: dict[str, Any] = {}
        for c in cols:
            d.update(_flat(jobs[c].iat[i]))
        if system is not None:
            d.update(_flat(system.iat[i]))
        if not d:
            continue
        u, p, s = from_keys(d, source, gpus[i])
        util[i] = np.nan if u is None else u
        power[i] = np.nan if p is None else p
        src[i] = s
    jobs["gpu_util_percent"] = util
    jobs["gpu_power_w"] = power
    jobs["gpu_metrics_source"] = src
