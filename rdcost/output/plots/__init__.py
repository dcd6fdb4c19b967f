"""Plots. The only package that imports matplotlib (so `rdcost --help` stays fast).

``KINDS`` maps a plot kind (what `rdcost plot KIND` takes) to
``"module:function"`` inside this package; each function has the signature
``fn(ctx, path: Path) -> Path`` and writes PNG, SVG or PDF by the suffix.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

#: Plot kind -> "module:function" (modules under rdcost.output.plots). Filled as kinds land.
KINDS: dict[str, str] = {
    "buy-vs-cloud-cumulative": "buy_vs_cloud:cumulative",
    "sizing": "buy_vs_cloud:sizing",
    "gpus-in-use": "case_study:gpus_in_use",
    "cumulative": "case_study:cumulative",
    "job-lengths": "case_study:job_lengths",
    "grid-searches": "case_study:grid_searches",
    "rd-cost": "case_study:rd_cost",
    "waste": "case_study:waste",
    "tuning-return": "tuning:tuning_return",
    "sensitivity": "tuning:sensitivity",
}


def get_plot(kind: str) -> Callable:
    from rdcost.errors import UsageError
    try:
        target = KINDS[kind]
    except KeyError:
        raise UsageError(f"unknown plot kind {kind!r}; choose one of: {', '.join(sorted(KINDS))}") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)
