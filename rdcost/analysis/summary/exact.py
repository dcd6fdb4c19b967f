"""Exact sums and order statistics from value counts: what lets the summary be
computed partition by partition and give the same figures whatever the split.

Sums are integers in units of 2**-1130 (every finite double is a whole number
of them), added freely across partitions and rounded once at the end; medians
and quantiles come from merged value counts, as numpy computes them from the
values themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SCALE = 1130  # sums are integers in units of 2**-1130: every finite double is one


def exact_sums(values: np.ndarray, seg: np.ndarray | None = None, n_seg: int = 1) -> list[int]:
    """Exact sums of finite float64 ``values`` per segment ``seg`` (0..n_seg-1), as
    integers in units of 2**-1130; add them freely, :func:`exact_float` rounds once."""
    v = np.asarray(values, dtype=np.float64)
    s = np.zeros(len(v), np.int64) if seg is None else np.asarray(seg, np.int64)
    nz = v != 0
    v, s = v[nz], s[nz]
    out = [0] * n_seg
    if not len(v):
        return out
    if not np.isfinite(v).all():
        raise ValueError("exact_sums needs finite values")
    m, e = np.frexp(v)
    mi = (m * 2.0**53).astype(np.int64)  # v = mi * 2**(e - 53), exactly
    sh = e.astype(np.int64) + (SCALE - 53)  # >= 0 for every double
    hi, lo = mi >> 26, mi & ((1 << 26) - 1)  # mi = hi * 2**26 + lo
    base = int(sh.min())
    n_exp = int(sh.max()) - base + 1
    idx = s * n_exp + (sh - base)
    step = 1 << 25  # bin sums stay below 2**53: exact in float64
    for a in range(0, len(v), step):
        i = idx[a : a + step]
        hs = np.bincount(i, weights=hi[a : a + step], minlength=n_seg * n_exp)
        ls = np.bincount(i, weights=lo[a : a + step], minlength=n_seg * n_exp)
        for k in np.flatnonzero((hs != 0) | (ls != 0)):
            sg, x = divmod(int(k), n_exp)
            out[sg] += ((int(hs[k]) << 26) + int(ls[k])) << (x + base)
    return out


def exact_float(total: int) -> float:
    """An exact sum of :func:`exact_sums` as the nearest float."""
    return total / (1 << SCALE)


def value_counts(values: np.ndarray) -> pd.Series:
    """Distinct values -> how many, sorted by value (what a partition keeps of a distribution)."""
    return pd.Series(values).value_counts(sort=False).sort_index()


def merge_counts(series: Sequence[pd.Series | None]) -> pd.Series:
    """The value counts of several partitions as one."""
    s = [x for x in series if x is not None and len(x)]
    if not s:
        return pd.Series(dtype="int64")
    return pd.concat(s).groupby(level=0).sum().sort_index()


def _order_stat(values: np.ndarray, cum: np.ndarray, rank: int) -> float:
    return float(values[np.searchsorted(cum, rank + 1)])


def median(vc: pd.Series) -> float | None:
    """The median of the values counted in ``vc`` (index sorted); None when empty."""
    if vc.empty:
        return None
    v, cum = vc.index.to_numpy(dtype=float), np.cumsum(vc.to_numpy())
    n = int(cum[-1])
    if n % 2:
        return _order_stat(v, cum, n // 2)
    return (_order_stat(v, cum, n // 2 - 1) + _order_stat(v, cum, n // 2)) / 2


def quantile(vc: pd.Series, q: float) -> float:
    """numpy's linear quantile of the values counted in ``vc`` (index sorted)."""
    v, cum = vc.index.to_numpy(dtype=float), np.cumsum(vc.to_numpy())
    n = int(cum[-1])
    qa = np.asarray([q], dtype=np.float64)
    vi = (n - 1) * qa  # numpy's "linear" virtual index
    prev = np.floor(vi)
    gamma = np.asanyarray(vi - prev)
    lo = int(min(max(prev[0], 0), n - 1))
    hi = int(min(max(prev[0] + 1, 0), n - 1))
    if vi[0] >= n - 1:
        lo = hi = n - 1
    elif vi[0] < 0:
        lo = hi = 0
    a, b = np.float64(_order_stat(v, cum, lo)), np.float64(_order_stat(v, cum, hi))
    diff = b - a
    res = a + diff * gamma[0]
    if gamma[0] >= 0.5:
        res = b - diff * (1 - gamma[0])
    return float(res)
