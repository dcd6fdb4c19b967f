"""The JSON's ``method``: how each figure was computed, with the parameters used."""

from __future__ import annotations

from typing import Any

from rdcost.analysis.tuning.params import TuningParams
from rdcost.analysis.tuning.repeats import ROLE_TEXT
from rdcost.analysis.tuning.sensitivity import MAX_LEVELS, N_BINS
from rdcost.analysis.tuning.values import Values


def method(p: TuningParams, v: Values) -> dict[str, Any]:
    tol = (
        f"{100 * p.tolerance:g}% (relative)"
        if p.tolerance_kind == "relative"
        else f"{p.tolerance:g} {v.metric}"
    )
    return {
        "results_from": "COMPLETED runs" if p.completed_only else "runs in any state",
        "sensitivity": (
            "for each hyperparameter the search varied, over the runs with a result: the spread "
            "(max - min) of the mean metric across its values, and eta-squared (between-value "
            "sum of squares / total sum of squares); main effects, one hyperparameter at a "
            f"time; a numeric hyperparameter with more than {MAX_LEVELS} values is cut into "
            f"{N_BINS} quantile bins"
        ),
        "counterfactual": (
            "random search over the same runs: each resample is a random order of all the "
            "search's runs (without replacement); it spends each run's GPU-hours, runs "
            "without a result included, up to and including the first run within the "
            "tolerance of the search's best (an oracle stopping rule: the best is known)"
        ),
        "tolerance": p.tolerance,
        "tolerance_kind": p.tolerance_kind,
        "tolerance_text": tol,
        "n_resamples": p.n_resamples,
        "resample_seed": p.resample_seed,
        "quantile": p.quantile,
        "rng": "numpy.random.default_rng([resample_seed, CRC-32 of the search id])",
        "repeats": (
            "configuration = the values of every hyperparameter key, seeds excluded; runs in launch "
            "order over the whole project; " + "; ".join(f"{k}: {t}" for k, t in ROLE_TEXT.items())
        ),
    }
