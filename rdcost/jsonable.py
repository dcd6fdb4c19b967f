"""Plain Python values for JSON and text: NA/NaN/NaT -> None, numpy scalars -> Python,
timestamps -> ISO 8601 UTC with a ``Z``. Used by every result's ``to_dict``."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def plain(value: Any) -> Any:
    """A JSON-friendly Python value: NA/NaN/NaT -> None, timestamps -> ISO 8601."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "item"):
        return value.item()
    return value


def iso(ts: Any) -> str | None:
    """A timestamp as ISO 8601 UTC with a ``Z`` (None when missing)."""
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).isoformat().replace("+00:00", "Z")


def json_ready(x: Any) -> Any:
    """Dicts, lists and scalars made JSON-ready, recursively: NA/NaN/NaT/inf -> None,
    numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_ready(v) for v in x]
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        try:
            x = x.item()
        except (TypeError, ValueError):
            return x
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
