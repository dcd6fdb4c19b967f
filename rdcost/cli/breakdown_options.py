"""The breakdown options (``--by``, ``--hierarchy``) of `rdcost summarize`, `report` and
`export`, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rdcost.analysis.breakdown import BreakdownSpec

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
