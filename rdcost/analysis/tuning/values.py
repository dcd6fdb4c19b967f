"""The values each run logged: its metric, hyperparameters and seeds, from the job table's JSON columns.

``config_json`` holds hyperparameters and ``metrics_json`` metrics; ``other_json``
(an export that cannot tell them apart) is split by key names
(:mod:`rdcost.analysis.tuning.keys`). Nested objects are flattened to dotted keys,
W&B's ``{"value": x}`` is unwrapped, and values are compared as canonical text
(5000 == 5000.0). Rules in docs/tuning.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis.tuning.keys import (
    goal_of,
    is_metric_like,
    is_progress_key,
    is_seed_key,
    is_system_key,
    is_validation_key,
    tokens,
)
from rdcost.analysis.tuning.params import MetricError, TuningParams


@dataclass
class Values:
    """What :func:`read_values` found, aligned with the compute jobs."""

    hp: pd.DataFrame  # canonical text per hyperparameter key
    hp_num: pd.DataFrame  # numeric value per hyperparameter key (NaN if not a number)
    seed: pd.Series  # canonical text of the seed keys
    has_config: pd.Series
    y: pd.Series  # the metric (NaN = none)
    metric: str | None
    goal: str | None
    metric_rule: str
    goal_rule: str | None
    guessed: bool
    hp_keys: list[str]
    seed_keys: list[str]
    excluded: dict[str, str]


def read_values(cj: pd.DataFrame, shared: np.ndarray, p: TuningParams) -> Values:
    """The metric, hyperparameters and seeds of the compute jobs ``cj``; rows in ``shared``
    (jobs that ran several runs) have none."""
    keep = ~shared
    cfg, met, oth = (_frame(cj[c], keep) for c in ("config_json", "metrics_json", "other_json"))
    # rows whose values came only from other_json: their roles are told by key names
    guessed = bool(
        (oth.notna().any(axis=1) & ~cfg.notna().any(axis=1) & ~met.notna().any(axis=1)).any()
    )
    metric_cols = _metric_columns(met, oth)
    metric, metric_rule = _pick_metric(metric_cols, p.metric)
    y = metric_cols[metric].copy() if metric else pd.Series(np.nan, index=cj.index)
    if metric in met.columns and metric in oth.columns:
        y = y.fillna(_numbers(oth[metric]))
    goal, goal_rule = _goal(metric, p)
    source, excluded = _key_sources(cfg, met, oth, metric, metric_cols)
    seed_keys, hp_keys = _seed_and_hp_keys(source, p, excluded)
    hp = pd.DataFrame({k: source[k].map(_canon) for k in hp_keys}, index=cj.index)
    hp_num = pd.DataFrame({k: _numbers(source[k]) for k in hp_keys}, index=cj.index)
    has_config = pd.Series(False, index=cj.index)
    for k in [*hp_keys, *seed_keys]:
        has_config |= source[k].notna().to_numpy()
    seed = pd.Series("", index=cj.index)
    for k in seed_keys:
        seed = seed + k + "=" + source[k].map(_canon) + ";"
    return Values(
        hp,
        hp_num,
        seed,
        has_config,
        y,
        metric,
        goal,
        metric_rule,
        goal_rule,
        guessed,
        hp_keys,
        seed_keys,
        dict(sorted(excluded.items())),
    )


def uncanon(text: Any, binned: bool = False) -> Any:
    """The value of a canonical text (a bin label stays text)."""
    return text if binned or not isinstance(text, str) else json.loads(text)


# -- reading the JSON columns --------------------------------------------------------------


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if set(v) == {"value"}:
                out[key] = v["value"]
            else:
                out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _frame(col: pd.Series, keep: np.ndarray) -> pd.DataFrame:
    """A JSON object column -> one column per (flattened) key; rows not kept are empty."""
    recs = []
    for text, k in zip(col.to_numpy(dtype=object), keep, strict=True):
        obj = json.loads(text) if k and isinstance(text, str) and text else None
        recs.append(_flat(obj) if isinstance(obj, dict) else {})
    return (
        pd.DataFrame.from_records(recs, index=col.index) if recs else pd.DataFrame(index=col.index)
    )


def _numbers(s: pd.Series) -> pd.Series:
    """Finite int/float values as float64; everything else (text, bool, null, NaN, inf) NaN."""
    ok = s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).astype(bool)
    x = pd.to_numeric(s.where(ok), errors="coerce").astype("float64")
    return x.where(np.isfinite(x))


def _canon(v: Any) -> str:
    """A value as comparable text: 5000 == 5000.0, absent/null -> null."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "null"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return json.dumps(v, sort_keys=True, ensure_ascii=False, default=str)


# -- the metric --------------------------------------------------------------------------


def _metric_columns(met: pd.DataFrame, oth: pd.DataFrame) -> dict[str, pd.Series]:
    """Candidate metrics: numeric keys of metrics_json, and metric-like numeric keys of other_json."""
    metric_cols: dict[str, pd.Series] = {}
    for k in met.columns:
        if is_system_key(k) or is_progress_key(k):
            continue
        x = _numbers(met[k])
        if x.notna().any():
            metric_cols[k] = x
    for k in oth.columns:
        if k in metric_cols or is_system_key(k) or is_progress_key(k):
            continue
        x = _numbers(oth[k])
        if is_metric_like(k) and x.notna().any():
            metric_cols[k] = x
    return metric_cols


def _pick_metric(all_cols: dict[str, pd.Series], given: str | None) -> tuple[str | None, str]:
    """The metric: the given one (any numeric logged key), else the one a rule picks among
    the keys named like results (:func:`is_metric_like`); a key named like a setting
    (``eval_interval``, ``train_cfg.gamma``) is never picked or listed as a metric."""
    cols = {k: v for k, v in all_cols.items() if is_metric_like(k)}
    counts = {k: int(v.notna().sum()) for k, v in cols.items()}
    listed = ", ".join(
        f"{k} ({n:,} runs)" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    if given is not None:
        if given not in all_cols:
            raise MetricError(
                "no run reports this metric",
                value=given,
                hint=f"metrics the runs report: {listed or 'none'}",
            )
        return given, "given"
    if not cols:
        return None, "no run reports a metric"
    val = [k for k in cols if is_validation_key(k)]
    if len(val) == 1:
        return val[0], "the only validation metric: val, valid, validation, eval or dev in its name"
    if not val and len(cols) == 1:
        only = next(iter(cols))
        if "test" in tokens(only):
            raise MetricError(
                "the only metric is measured on test data; tuning for it is not picked "
                "without being named",
                value=only,
                hint=f"if the searches were tuned for it, give --metric {only}",
            )
        return only, "the only metric the runs report"
    raise MetricError(
        "several metrics could be the one to tune for; name one with --metric",
        hint=f"metrics the runs report: {listed}",
    )


def _goal(metric: str | None, p: TuningParams) -> tuple[str | None, str | None]:
    """max or min, and the rule that said so: given, else from the metric's name."""
    goal, goal_rule = p.goal, None if p.goal is None else "given"
    if metric and goal is None:
        goal = goal_of(metric)
        if goal is None:
            raise MetricError(
                "cannot tell from the name of the metric whether higher or lower is better",
                value=metric,
                hint="give --goal max or --goal min",
            )
        goal_rule = "from the metric's name"
    return goal, goal_rule


# -- hyperparameters and seeds -------------------------------------------------------------


def _key_sources(
    cfg: pd.DataFrame,
    met: pd.DataFrame,
    oth: pd.DataFrame,
    metric: str | None,
    metric_cols: dict[str, pd.Series],
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """The keys that can be hyperparameters or seeds (config_json first, then other_json), and the
    keys left out with why."""
    excluded: dict[str, str] = {}
    source: dict[str, pd.Series] = {}
    for frame, from_other in ((cfg, False), (oth, True)):
        for k in frame.columns:
            if k in source or k in met.columns:
                continue
            if k == metric or k in metric_cols:
                excluded.setdefault(k, "metric")
            elif is_progress_key(k):
                excluded[k] = "progress counter"
            elif is_system_key(k):
                excluded[k] = "system value, name or id"
            elif from_other and is_metric_like(k) and _numbers(frame[k]).notna().any():
                excluded[k] = "metric"
            else:
                source[k] = frame[k]
    return source, excluded


def _seed_and_hp_keys(
    source: dict[str, pd.Series], p: TuningParams, excluded: dict[str, str]
) -> tuple[list[str], list[str]]:
    """The seed keys and the hyperparameter keys (named in ``p``, else by the rules); identifiers
    (a different text in every run) are added to ``excluded``."""
    if p.seed_keys:
        _known(p.seed_keys, source, "seed key")
        seed_keys = list(p.seed_keys)
    else:
        seed_keys = sorted(k for k in source if is_seed_key(k))
    if p.hyperparameters:
        _known(p.hyperparameters, source, "hyperparameter")
        hp_keys = [k for k in p.hyperparameters if k not in seed_keys]
    else:
        hp_keys = []
        for k in sorted(source):
            if k in seed_keys:
                continue
            v = source[k].dropna()
            if len(v) >= 3 and v.map(lambda x: isinstance(x, str)).all() and v.nunique() == len(v):
                excluded[k] = "identifier (a different text in every run)"
                continue
            hp_keys.append(k)
    return seed_keys, hp_keys


def _known(keys: tuple[str, ...], source: dict[str, pd.Series], what: str) -> None:
    missing = [k for k in keys if k not in source]
    if missing:
        raise MetricError(
            f"no run logs this {what}",
            value=missing[0],
            hint=f"keys the runs log: {', '.join(sorted(source)) or 'none'}",
        )
