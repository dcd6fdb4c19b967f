"""The breakdown options (``--by``, ``--hierarchy``) of `rdcost summarize`, `report` and
`export`, and the owned-capacity options (``--capacity``, ``--spread``, ``--spread-by``) of
`report` and `compare-buy-vs-cloud`, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rdcost.analysis.breakdown import BreakdownSpec
    from rdcost.analysis.capacity import Capacity

ByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--by",
        help="Break the figures down by user, account, partition, qos, project, gpu_type, month, "
        "week, day, or a level of the site hierarchy (group, department, division): one or several, "
        "comma-separated or repeated.",
    ),
]
HierarchyOpt = Annotated[
    Path | None,
    typer.Option(
        "--hierarchy",
        envvar="RDCOST_HIERARCHY",
        show_envvar=True,
        help="Site hierarchy TOML mapping accounts to group, department and division "
        "([accounts.NAME] tables), for --by group|department|division.",
    ),
]


def breakdown_spec(by: list[str] | None, hierarchy: Path | None) -> BreakdownSpec | None:
    """The breakdown asked for (None without --by)."""
    from rdcost.analysis.breakdown import BreakdownSpec, load_hierarchy, parse_keys

    keys = parse_keys(by)
    if not keys:
        return None
    return BreakdownSpec(keys, None if hierarchy is None else load_hierarchy(hierarchy))


CapacityOpt = Annotated[
    Path | None,
    typer.Option(
        "--capacity",
        envvar="RDCOST_CAPACITY",
        show_envvar=True,
        help="The owned cluster: a TOML inventory (nodes, GPUs per node, dates, cost, shared costs), "
        'or a saved `sinfo -N -o "%N %P %G"` or `scontrol show node` output. Adds owned '
        "utilization, idle cost and its spread (docs/capacity.md).",
    ),
]
SpreadOpt = Annotated[
    str | None,
    typer.Option(
        "--spread",
        help="How idle and shared cost is spread: uniform, proportional (to used GPU-hours) or "
        "weighted (the capacity file's [spread.weights]); default: the file's, else proportional.",
    ),
]
SpreadByOpt = Annotated[
    str | None,
    typer.Option("--spread-by", help="Spread idle and shared cost over user, account or project."),
]


def load_capacity_for(
    path: Path | None, spread: str | None, spread_by: str | None
) -> Capacity | None:
    """The capacity of --capacity with --spread/--spread-by applied (None without one)."""
    if path is None:
        if spread is not None or spread_by is not None:
            from rdcost.errors import UsageError

            raise UsageError("--spread and --spread-by need --capacity")
        return None
    from rdcost.analysis.capacity import load_capacity

    return load_capacity(path).with_spread(spread, spread_by)
