"""GPU power and utilisation from the system metrics a W&B or MLflow export carries, into
the job-table columns ``gpu_power_w``, ``gpu_util_percent``, ``n_gpus_unused`` and
``gpu_metrics_source`` (docs/runs-formats.md, "GPU power and utilisation").

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
``n_gpus_unused`` counts the GPUs whose utilisation value is 0 (held, never used); null when
the run has no per-GPU utilisation.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

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


class RunGpuMetrics(NamedTuple):
    """One run's GPU use from its system metrics (Nones: none it can use)."""

    util_percent: float | None  # mean over its GPUs
    power_w: float | None  # mean per GPU
    source: str | None  # where from (gpu_metrics_source)
    n_unused: int | None  # GPUs whose utilisation is 0 (None: no per-GPU utilisation)


NOTHING = RunGpuMetrics(None, None, None, None)


def from_keys(d: dict[str, Any], source: str, n_gpus: float | None) -> RunGpuMetrics:
    """Mean utilisation %, mean power W per GPU, where from and GPUs at 0% of one run's flat
    key->value map (see the module doc)."""
    if source == "wandb":
        proc = _collect(d, _WB_PROC)
        if proc["util"] or proc["power"]:
            return _means(proc, "wandb system metrics (process GPUs)")
        host, what = _collect(d, _WB_HOST), "wandb system metrics (host GPUs)"
    else:
        host, what = _collect(d, _MLFLOW), "mlflow system metrics"
    n_host = len(set(host["util"]) | set(host["power"]))
    if not n_host or (n_gpus is not None and not np.isnan(n_gpus) and n_host > n_gpus):
        return NOTHING
    return _means(host, what)


def _means(v: dict[str, dict[str, float]], what: str) -> RunGpuMetrics:
    util = sum(v["util"].values()) / len(v["util"]) if v["util"] else None
    power = sum(v["power"].values()) / len(v["power"]) if v["power"] else None
    unused = sum(1 for x in v["util"].values() if x == 0) if v["util"] else None
    return RunGpuMetrics(util, power, what, unused)


def _flat(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        d = json.loads(text)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def add_gpu_metrics(jobs: pd.DataFrame, source: str, system: pd.Series | None = None) -> None:
    """Set gpu_util_percent, gpu_power_w, n_gpus_unused and gpu_metrics_source of run rows
    from their metrics_json and other_json (and ``system``: JSON text of a record's system
    metrics)."""
    n = len(jobs)
    util, power, unused = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
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
        m = from_keys(d, source, gpus[i])
        util[i] = np.nan if m.util_percent is None else m.util_percent
        power[i] = np.nan if m.power_w is None else m.power_w
        unused[i] = np.nan if m.n_unused is None else m.n_unused
        src[i] = m.source
    jobs["gpu_util_percent"] = util
    jobs["gpu_power_w"] = power
    jobs["n_gpus_unused"] = unused
    jobs["gpu_metrics_source"] = src
