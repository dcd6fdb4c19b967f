"""Two versions of one record (the stored row and a newer export of the same job, or
two exports ingested together) merged field by field, so that an update never turns a
known figure into unknown (docs/job-table.md, "One job, one row").

Which version leads: a logged allocation beats one inferred from its steps
(``is_inferred``); then a final state beats a non-final one (a COMPLETED export beats an
earlier RUNNING one, in whatever order they are ingested); otherwise the newer one.
Per column, the first of these wins: a value read from the log (not cut, not derived)
of the leader, then of the other version; a derived value (``derived_columns``); a
value cut by a fixed-width column (``cut_columns``); unknown. The values that change
while a job runs (state, end, elapsed, exit code, usage) come from a final leader
only, never filled in from a non-final version (they were the state so far).
``project`` is the newer version's (re-ingest with another ``--project`` moves the
job, and ingest says so); provenance (file, line, format) is the leader's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rdcost.jobtable import schema

#: Values that change while a job runs: taken from a final leader as they are.
RUN_STATE_COLUMNS = (
    "state",
    "state_raw",
    "end_time",
    "elapsed_s",
    "exit_code",
    "exit_signal",
    "total_cpu_s",
    "max_rss_bytes",
    "energy_j",
)
#: Columns whose value is the newer version's, whatever it is.
NEWER_COLUMNS = ("project",)
#: Provenance: the leader's.
PROVENANCE_COLUMNS = ("source_file", "source_line", "source_format", "ingested_time")
_MARK_COLUMNS = ("cut_columns", "derived_columns")


def merge_versions(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Row i of the result merges ``old`` row i with ``new`` row i (same columns, the
    job-table schema; ``new`` is the newer version). See the module doc for the rules."""
    old, new = old.reset_index(drop=True), new.reset_index(drop=True)
    old_final, new_final = _final(old), _final(new)
    new_leads = new_final | ~old_final  # a final one beats a non-final one; else the newer
    old_inf, new_inf = _inferred(old), _inferred(new)
    new_leads = np.where(old_inf != new_inf, old_inf, new_leads)  # a logged allocation leads
    lead, other = _pick(new_leads, new, old), _pick(~new_leads, new, old)
    lead_final = np.where(new_leads, new_final, old_final)
    other_final = np.where(new_leads, old_final, new_final)
    frozen = lead_final & ~other_final  # run-state values: the final leader's only
    marks = {
        (who, m): _Marks(df[m])
        for who, df in (("lead", lead), ("other", other))
        for m in _MARK_COLUMNS
    }
    out = lead.copy()
    chosen: dict[str, dict[str, np.ndarray]] = {m: {} for m in _MARK_COLUMNS}
    for c in schema.COLUMN_NAMES:
        if c in _MARK_COLUMNS or c in PROVENANCE_COLUMNS or c == "record_key":
            continue
        if c in NEWER_COLUMNS:
            out[c] = new[c].where(new[c].notna(), old[c])
            continue
        lc, ld = marks["lead", "cut_columns"].has(c), marks["lead", "derived_columns"].has(c)
        oc, od = marks["other", "cut_columns"].has(c), marks["other", "derived_columns"].has(c)
        take_other = _rank(other[c], oc, od) > _rank(lead[c], lc, ld)
        if c in RUN_STATE_COLUMNS:
            take_other &= ~frozen
        if take_other.any():
            out[c] = lead[c].where(pd.Series(~take_other, index=lead.index), other[c])
        known = out[c].notna().to_numpy(dtype=bool)  # an unknown value carries no mark
        chosen["cut_columns"][c] = np.where(take_other, oc, lc) & known
        chosen["derived_columns"][c] = np.where(take_other, od, ld) & known
    for m in _MARK_COLUMNS:
        out[m] = _join(chosen[m], len(out))
    return out


class _Marks:
    """Which columns a ``cut_columns``/``derived_columns`` list names, per row."""

    def __init__(self, values: pd.Series):
        self._values = values.astype("string")
        self._any = bool(self._values.notna().any())

    def has(self, column: str) -> np.ndarray:
        if not self._any:
            return np.zeros(len(self._values), dtype=bool)
        return (
            self._values.str.contains(rf"(?:^|,){column}(?:,|$)", regex=True)
            .fillna(False)
            .to_numpy(dtype=bool)
        )


def _final(df: pd.DataFrame) -> np.ndarray:
    return df["state"].isin(list(schema.TERMINAL_STATES)).fillna(False).to_numpy(dtype=bool)


def _inferred(df: pd.DataFrame) -> np.ndarray:
    return df["is_inferred"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _pick(mask: np.ndarray, a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``a`` where ``mask``, else of ``b`` (column by column, dtypes kept)."""
    m = pd.Series(np.asarray(mask, dtype=bool), index=a.index)
    return pd.DataFrame({c: a[c].where(m, b[c]) for c in a.columns}, index=a.index)


def _rank(values: pd.Series, cut: np.ndarray, derived: np.ndarray) -> np.ndarray:
    """read (3) > derived (2) > cut (1) > unknown (0)."""
    known = values.notna().to_numpy(dtype=bool)
    return np.where(~known, 0, np.where(cut, 1, np.where(derived, 2, 3)))


def _join(masks: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per row, the names whose mask is set, comma-joined (None where none)."""
    out = np.full(n, "", dtype=object)
    for name, m in masks.items():
        if m.any():
            out[m] = out[m] + np.where(out[m] == "", "", ",") + name
    out[out == ""] = None
    return out


def fold_versions(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per ``record_key`` from its versions, oldest first in ``rows`` order,
    merged pairwise by :func:`merge_versions` in rounds (every key's second version,
    then every third, ...). Returns (merged rows in order of first appearance, the
    first version of each key in the same order)."""
    rows = rows.reset_index(drop=True)
    version = rows.groupby("record_key", sort=False).cumcount().to_numpy()
    first = rows[version == 0].set_index("record_key", drop=False)
    acc = first
    for v in range(1, int(version.max(initial=0)) + 1):
        nxt = rows[version == v].reset_index(drop=True)
        cur = acc.loc[nxt["record_key"]].reset_index(drop=True)
        merged = merge_versions(cur, nxt).set_index("record_key", drop=False)
        acc = pd.concat([acc.drop(index=merged.index), merged])
    return acc.loc[first.index].reset_index(drop=True), first.reset_index(drop=True)
