"""A function applied once per distinct value of a column, not once per row.

Job tables repeat a few GPU types, partitions and node lists over millions of rows;
resolving each distinct value once and spreading the results by the column's codes
keeps the per-row cost to one factorize and one take.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def codes_and_values(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """The column as codes into its distinct values (-1 for null), and those values."""
    codes, uniques = pd.factorize(values.astype("string"))
    return codes, [str(u) for u in uniques]


def spread(codes: np.ndarray, results: list[Any], missing: Any = None) -> np.ndarray:
    """Per row, the result of its distinct value (``missing`` for code -1): an object array."""
    out = np.empty(len(results) + 1, dtype=object)
    for i, r in enumerate(results):  # one by one: a tuple result stays one element
        out[i] = r
    out[-1] = missing
    return out[codes]


def per_value(values: pd.Series, fn: Callable[[str], Any], missing: Any = None) -> np.ndarray:
    """``fn(str(v))`` for each row's value ``v`` (an object array, same order), computed
    once per distinct value; ``missing`` where the value is null."""
    codes, uniques = codes_and_values(values)
    return spread(codes, [fn(u) for u in uniques], missing)
