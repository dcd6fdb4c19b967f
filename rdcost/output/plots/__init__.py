"""Plots. The only package that imports matplotlib (so `rdcost --help` stays fast).

``KINDS`` maps a plot kind (what `rdcost plot KIND` takes) to
``"module:function"`` inside this package; each function has the signature
``fn(ctx, path: Path) -> Path`` and writes PNG, SVG or PDF by the suffix.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Plot kind -> "module:function" (modules under rdcost.output.plots). Filled as kinds land.
KINDS: dict[str, str] = {
    "breakdown": "breakdown:breakdown",
    "buy-vs-cloud-cumulative": "buy_vs_cloud:cumulative",
    "sizing": "buy_vs_cloud:sizing",
    "gpus-in-use": "case_study:gpus_in_use",
    "cumulative": "case_study:cumulative",
    "job-lengths": "case_study:job_lengths",
    "grid-searches": "case_study:grid_searches",
    "rd-cost": "case_study:rd_cost",
    "waste": "case_study:waste",
    "energy": "energy:energy",
    "tuning-return": "tuning:tuning_return",
    "sensitivity": "tuning:sensitivity",
}


def get_plot(kind: str) -> Callable:
    from rdcost.errors import UsageError

    try:
        target = KINDS[kind]
    except KeyError:
        raise UsageError(
            f"unknown plot kind {kind!r}; choose one of: {', '.join(sorted(KINDS))}"
        ) from None
    module, func = target.split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), func)


#: Plot kinds whose function takes something other than the Context: kind -> how to get it.
PLOT_INPUTS: dict[str, Any] = {
    "buy-vs-cloud-cumulative": lambda ctx: ctx.buy_vs_cloud(),
    "sizing": lambda ctx: ctx.buy_vs_cloud(sizing=True),
}


def draw(kind: str, ctx: Any, path: Path | str, source: Any = None) -> Path:
    """Write plot ``kind`` for ``ctx`` to ``path`` (PNG, SVG or PDF by the suffix).

    ``source``: what the plot is drawn from when already at hand (e.g. the
    :class:`rdcost.analysis.tuning.TuningResult` of a chosen metric for the tuning kinds);
    default: the context, or what :data:`PLOT_INPUTS` gets from it.
    """
    fn = get_plot(kind)
    arg = source if source is not None else PLOT_INPUTS[kind](ctx) if kind in PLOT_INPUTS else ctx
    return Path(fn(arg, Path(path)))


def plot_kinds() -> dict[str, str]:
    """Every registered plot kind with the first line of its function's doc."""
    out = {}
    for kind in sorted(KINDS):
        doc = (get_plot(kind).__doc__ or "").strip().splitlines()
        out[kind] = doc[0].strip() if doc else ""
    return out
