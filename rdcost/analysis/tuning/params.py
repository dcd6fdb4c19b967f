"""How the tuning analysis is done (:class:`TuningParams`), and the error for a metric or key no run reports."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rdcost.errors import UsageError


@dataclass(frozen=True)
class TuningParams:
    """How the analysis is done (see :mod:`rdcost.analysis.tuning` and docs/tuning.md).

    metric / goal: the metric and whether higher (max) or lower (min) is
        better; None = from the names.
    tolerance / tolerance_kind: a run is "within tolerance" of the best when
        its metric is at most ``tolerance`` worse (absolute, in metric
        units) or ``tolerance`` x |best| worse (relative).
    n_resamples / resample_seed / quantile: the counterfactual's resampling.
    completed_only: only COMPLETED runs' metrics count as results.
    hyperparameters / seed_keys: name the keys instead of the rule.
    """

    metric: str | None = None
    goal: str | None = None
    tolerance: float = 0.01
    tolerance_kind: str = "relative"
    n_resamples: int = 10_000
    resample_seed: int = 0
    quantile: float = 0.9
    completed_only: bool = True
    hyperparameters: tuple[str, ...] = ()
    seed_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.goal is not None and self.goal not in ("max", "min"):
            raise UsageError("goal must be max or min", value=str(self.goal))
        if self.tolerance_kind not in ("relative", "absolute"):
            raise UsageError(
                "tolerance kind must be relative or absolute", value=str(self.tolerance_kind)
            )
        if not (self.tolerance >= 0 and math.isfinite(self.tolerance)):
            raise UsageError("tolerance must be a number >= 0", value=str(self.tolerance))
        if self.n_resamples < 1:
            raise UsageError(
                "the number of resamples must be at least 1", value=str(self.n_resamples)
            )
        if not 0 < self.quantile < 1:
            raise UsageError(
                "quantile must be between 0 and 1 (e.g. 0.9)", value=str(self.quantile)
            )


DEFAULT_PARAMS = TuningParams()


class MetricError(UsageError):
    """A metric (or key) that no run reports, or none that can be picked without being named."""
