"""Exact per-group sums (a user, a grid search) that partitions add up, and the top of
them: what the utilization waste's lists are made of.

A :class:`Grouped` holds, per group name, job counts, exact sums of values
(:func:`rdcost.analysis.summary.exact.exact_sums`: the same whatever the split) and how
many jobs had an unknown value (a money or energy figure of an unknown price or power).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from rdcost.analysis.summary.exact import exact_float, exact_sums


@dataclass
class Grouped:
    """Per group name: counts, exact sums and unknown counts of named values."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> count -> n
    sums: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> value -> exact sum
    nans: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> value -> n unknown


def grouped(
    codes: np.ndarray,
    names: Sequence[str],
    counts: Mapping[str, np.ndarray],
    values: Mapping[str, np.ndarray],
) -> Grouped:
    """Sums per group of the rows with ``codes`` >= 0 (a code indexes ``names``): ``counts``
    are boolean masks (rows counted), ``values`` floats (NaN: unknown, left out, counted)."""
    g = Grouped()
    have = codes >= 0
    c = codes[have]
    n = len(names)
    present = np.bincount(c, minlength=n) > 0
    cnt = {k: np.bincount(c[m[have]], minlength=n) for k, m in counts.items()}
    sm, nn = {}, {}
    for k, v in values.items():
        x = v[have]
        bad = np.isnan(x)
        sm[k] = exact_sums(np.where(bad, 0.0, x), c, n)
        nn[k] = np.bincount(c[bad], minlength=n)
    for i in np.flatnonzero(present).tolist():
        name = str(names[i])
        g.counts[name] = {k: int(a[i]) for k, a in cnt.items()}
        g.sums[name] = {k: s[i] for k, s in sm.items()}
        g.nans[name] = {k: int(a[i]) for k, a in nn.items()}
    return g


def merge(parts: Sequence[Grouped]) -> Grouped:
    """The groups of several partitions as one (same names added up)."""
    out = Grouped()
    for p in parts:
        for name in p.counts:
            for dst, src in ((out.counts, p.counts), (out.sums, p.sums), (out.nans, p.nans)):
                have = dst.setdefault(name, {})
                for k, v in src[name].items():
                    have[k] = have.get(k, 0) + v
    return out


def value(g: Grouped, name: str, key: str) -> float | None:
    """A group's sum as a float; None (unknown) when no job of it had a known value and
    some had an unknown one."""
    total = g.sums[name][key]
    return None if total == 0 and g.nans[name].get(key, 0) else exact_float(total)


def ranked(g: Grouped, keys: Sequence[str], limit: int) -> tuple[list[str], int]:
    """The names of the groups with any of ``keys`` above 0, most first (by ``keys`` in
    order, then name), at most ``limit`` of them; and how many groups there are."""
    scored = []
    for name in g.sums:
        v = [exact_float(g.sums[name][k]) for k in keys]
        if any(x > 0 for x in v):
            scored.append((tuple(-x for x in v), name))
    scored.sort()
    return [name for _, name in scored[:limit]], len(scored)
