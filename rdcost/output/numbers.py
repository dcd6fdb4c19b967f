"""Numbers for reading: the one place that turns a count, a quantity, money, a share or a
range into text, for every table, sentence, caption and plot label rdcost prints.

Rules:

- **unknown**: None, NA, NaN and NaT print as ``unknown`` (never ``nan`` or ``None``);
  a caller that means "not applicable" asks for an empty cell (``missing=""``).
- **counts** (integers): thousands separators, ``4,789``.
- **quantities** (:func:`number`): as many decimals as the size needs to be read at a
  glance: ``239,942``, ``58.1``, ``3.02``, ``0.00123``.
- **dollars** (:func:`usd`): whole dollars from $10 (``$1,234``), cents below ($5.43,
  ``$0.43``), and ``$0`` for nothing; a range is ``$52 - $175``.
- **shares** (:func:`pct`): a fraction as a percentage, ``12.3%``.
- **given values** (:func:`given`): an assumption as it was set (PUE 1.58, $0.43 per
  GPU-hour): the shortest form, up to 6 significant digits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from rdcost.jsonable import plain

UNKNOWN = "unknown"
#: Money at or above this many dollars is rounded to whole dollars.
WHOLE_DOLLARS_FROM = 10


def is_unknown(v: Any) -> bool:
    """None, NA, NaT or NaN."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float | np.floating) and math.isnan(v)


def integer(v: Any, missing: str = UNKNOWN) -> str:
    """A count: rounded to a whole number, with thousands separators (``4,789``)."""
    if is_unknown(v):
        return missing
    return f"{int(round(v)):,}"


def number(v: Any, missing: str = UNKNOWN) -> str:
    """A quantity, with the decimals its size needs: 239,942; 58.1; 3.02; 0.00123.

    Integers print whole (``4,789``).
    """
    if is_unknown(v):
        return missing
    if isinstance(v, int | np.integer):
        return integer(v)
    a = abs(float(v))
    if a >= 100 or a == 0:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    if a >= 0.01:
        return f"{v:,.2f}"
    return f"{v:.3g}"


def fixed(v: Any, decimals: int, missing: str = UNKNOWN) -> str:
    """A quantity with a fixed number of decimals and thousands separators (``1,415.78``)."""
    if is_unknown(v):
        return missing
    return f"{v:,.{decimals}f}"


def trimmed(v: Any, decimals: int = 2, missing: str = UNKNOWN) -> str:
    """A measured value to at most ``decimals`` decimals, trailing zeros dropped, with
    thousands separators: ``1,415.78``, ``3,200``, ``12,041.51``."""
    if is_unknown(v):
        return missing
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def significant(v: Any, digits: int, missing: str = UNKNOWN) -> str:
    """A value to ``digits`` significant digits, no separators (``0.4327``)."""
    if is_unknown(v):
        return missing
    return f"{v:.{digits}g}"


def metric(v: Any, digits: int = 3, missing: str = "") -> str:
    """A metric value (an F1, a loss): ``digits`` significant digits below 1,000, whole
    numbers with separators above. Empty when there is none (not every run reports one)."""
    if is_unknown(v):
        return missing
    return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:,.0f}"


def given(v: Any, *, grouped: bool = False, missing: str = UNKNOWN) -> str:
    """A value as it was set (an assumption, a price per hour, a count of GPUs): the
    shortest form, up to 6 significant digits (1.58, 0.0692, 7.25); ``grouped`` adds
    thousands separators (20,000)."""
    if is_unknown(v):
        return missing
    return f"{v:,g}" if grouped else f"{v:g}"


def usd(v: Any, missing: str = UNKNOWN) -> str:
    """Dollars: whole from $10 ($1,234), with cents below ($5.43, $0.43), $0 for nothing, -$12 below."""
    if is_unknown(v):
        return missing
    if v == 0:
        return "$0"
    if v < 0:
        return "-" + usd(-v)
    return f"${v:,.0f}" if v >= WHOLE_DOLLARS_FROM else f"${v:,.2f}"


def usd_rate(v: Any, missing: str = UNKNOWN) -> str:
    """A price as it was set, per hour or per kWh: ``$0.43``, ``$0.0692``."""
    if is_unknown(v):
        return missing
    return f"${given(v)}"


def usd_range(low: Any, high: Any) -> str:
    """'$52 - $175', or 'unknown' when either end is unknown."""
    if is_unknown(low) or is_unknown(high):
        return UNKNOWN
    return f"{usd(low)} - {usd(high)}"


def usd_short(v: Any, missing: str = UNKNOWN) -> str:
    """Dollars for an axis: $1.2M, $145k, $900."""
    if is_unknown(v):
        return missing
    if abs(v) >= 1e6:
        return f"${v / 1e6:,.1f}M"
    if abs(v) >= 1e3:
        return f"${v / 1e3:,.0f}k"
    return f"${v:,.0f}"


def pct(v: Any, decimals: int = 1, missing: str = UNKNOWN) -> str:
    """A fraction as a percentage: 0.123 -> ``12.3%``."""
    if is_unknown(v):
        return missing
    return f"{100 * v:.{decimals}f}%"


def ratio(v: Any, missing: str = UNKNOWN) -> str:
    """A ratio of two amounts, two decimals: ``0.41``."""
    return fixed(v, 2, missing)


def months(v: Any) -> str:
    """A wait in months (``3.8 months``); None means it never comes: ``never``."""
    return "never" if is_unknown(v) else f"{fixed(v, 1)} months"


def data_value(v: Any) -> str:
    """A cell of a listed data table (the stored jobs, the searches) as text: floats with two
    decimals and separators, other values as they are, empty when missing."""
    v = plain(v)  # numpy scalars to Python, timestamps to ISO 8601, NA to None
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1e15 else f"{v:.3g}"
    return str(v)
