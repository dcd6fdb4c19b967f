"""Grid carbon-intensity series a user supplies as CSV (docs/energy.md, "Carbon intensity
for the hours the jobs ran"), read into a :class:`CarbonSeries`.

Layouts (told apart by the header):

- ``electricity-maps``: the Electricity Maps data-portal CSV (hourly, daily, ...):
  ``Datetime (UTC)``, ``Zone Id`` (or ``Zone id``), and the intensities
  ``Carbon Intensity gCO₂eq/kWh (direct)`` and ``... (LCA)`` / ``(Life cycle)`` in any of
  the spellings of the 2021-2024 portal files (matched on the bracketed word, any case).
  ``basis`` picks the column: ``direct`` (the default; the portal says the direct factors
  follow the GHG Protocol Scope 2 location-based guidance) or ``life_cycle``.
- ``plain``: ``time,g_co2e_per_kwh``: ISO 8601 times (UTC when they carry no offset) and
  grams CO2e per kWh.

Each row holds from its time until the next row's (Electricity Maps marks the start of an
interval); the last row holds for the median step of the file. Rows must be in time
order, without repeats; a value that is not a number >= 0 is an error naming the file,
the line, the column and the value. The series is read whole (a year of hours is 8,784
rows).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rdcost.errors import ParseError, UsageError

LAYOUTS = ("electricity-maps", "plain")
BASES = ("direct", "life_cycle")
_EM_TIME = "datetime (utc)"
_EM_DIRECT = re.compile(r"carbon\s+intensity.*\(\s*direct\s*\)", re.IGNORECASE)
_EM_LCA = re.compile(
    r"carbon\s+intensity.*\(\s*(lca|life\s*cycle|life cycle assessment)\s*\)", re.I
)
_EM_ZONE = ("zone id",)
EXPECTED_TIME = "a time like 2024-01-01 00:00:00 or 2024-01-01T00:00:00Z"
EXPECTED_VALUE = "grams CO2e per kWh, a number >= 0"


@dataclass(frozen=True)
class CarbonSeries:
    """A carbon-intensity series: interval starts and ends (ns since the epoch, UTC) and
    grams CO2e per kWh of each interval, with where it came from."""

    path: str
    sha256: str
    layout: str  # electricity-maps | plain
    basis: str  # direct | life_cycle | as given (plain)
    zone: str | None
    start_ns: np.ndarray = field(repr=False)
    end_ns: np.ndarray = field(repr=False)
    g_co2e_per_kwh: np.ndarray = field(repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.g_co2e_per_kwh)

    @property
    def first_time(self) -> pd.Timestamp:
        return pd.Timestamp(int(self.start_ns[0]), tz="UTC")

    @property
    def last_time(self) -> pd.Timestamp:
        return pd.Timestamp(int(self.end_ns[-1]), tz="UTC")

    def mean_g_per_kwh(self) -> float:
        """The time-weighted mean of the whole series."""
        w = (self.end_ns - self.start_ns).astype(float)
        return float(np.sum(w * self.g_co2e_per_kwh) / np.sum(w))

    def describe(self) -> str:
        basis = {"direct": "direct", "life_cycle": "life cycle", "as given": "as given"}[self.basis]
        zone = f"zone {self.zone}, " if self.zone else ""
        return (
            f"{Path(self.path).name} ({self.layout} layout, {zone}{basis} intensity, "
            f"{self.n_rows:,} intervals {self.first_time:%Y-%m-%d %H:%M} to "
            f"{self.last_time:%Y-%m-%d %H:%M} UTC, sha256 {self.sha256[:12]})"
        )

    def over(self, start: pd.Series, end: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """For each [start, end): the mean intensity over the part the series covers (g CO2e
        per kWh; NaN where it covers none of it) and the covered fraction (0..1).

        The integral of the step function is piecewise linear between interval bounds, so
        it is interpolated exactly (``np.interp``) from the cumulative sums."""
        bounds = np.append(self.start_ns, self.end_ns[-1]).astype(np.float64)
        base = bounds[0]
        b = (bounds - base) / 1e9
        cum = np.concatenate([[0.0], np.cumsum(self.g_co2e_per_kwh * np.diff(b))])
        s = _ns(start)
        e = _ns(end)
        ok = ~np.isnan(s) & ~np.isnan(e) & (e > s)
        s_r, e_r = (np.where(ok, s, base) - base) / 1e9, (np.where(ok, e, base) - base) / 1e9
        integral = np.interp(e_r, b, cum) - np.interp(s_r, b, cum)
        covered = np.clip(e_r, b[0], b[-1]) - np.clip(s_r, b[0], b[-1])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(ok & (covered > 0), integral / covered, np.nan)
            frac = np.where(ok, covered / np.where(ok, e_r - s_r, 1.0), np.nan)
        return mean, frac


def _ns(t: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(t, utc=True)
    out = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
    out[ts.isna().to_numpy()] = np.nan
    return out


def read_series(path: str | Path, basis: str = "direct") -> CarbonSeries:
    """Read a carbon-intensity CSV (see the module doc for the layouts and rules)."""
    p = Path(path)
    if basis not in BASES:
        raise UsageError(f"carbon series basis must be one of {', '.join(BASES)}", value=basis)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the carbon series: {exc.strerror}", path=str(p)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("the carbon series is not UTF-8 text", path=str(p)) from exc
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if len(rows) < 2:
        raise ParseError(
            "the carbon series has no rows",
            path=str(p),
            expected="a header and one row per hour (or day)",
        )
    header = [c.strip() for c in rows[0]]
    low = [c.lower() for c in header]
    if _EM_TIME in low:
        layout = "electricity-maps"
        t_col = low.index(_EM_TIME)
        pattern = _EM_DIRECT if basis == "direct" else _EM_LCA
        hits = [i for i, c in enumerate(header) if pattern.search(c)]
        if not hits:
            raise ParseError(
                f"no {basis.replace('_', ' ')} carbon-intensity column in the Electricity Maps header",
                path=str(p),
                line=1,
                value=", ".join(header),
                expected="a column 'Carbon Intensity gCO₂eq/kWh (direct)' or '(LCA)' / '(Life cycle)'",
            )
        v_col = hits[0]
        z_col = next((low.index(z) for z in _EM_ZONE if z in low), None)
        used_basis = basis
    elif low[:2] == ["time", "g_co2e_per_kwh"]:
        layout, t_col, v_col, z_col, used_basis = "plain", 0, 1, None, "as given"
    else:
        raise ParseError(
            "not a carbon-intensity series",
            path=str(p),
            line=1,
            value=",".join(header)[:120],
            expected="the Electricity Maps data-portal header (Datetime (UTC), ..., Carbon Intensity "
            "gCO₂eq/kWh (direct), ...) or the header time,g_co2e_per_kwh",
        )
    return _series(p, raw, rows[1:], layout, t_col, v_col, z_col, used_basis, header)


def _series(
    p: Path,
    raw: bytes,
    body: list[list[str]],
    layout: str,
    t_col: int,
    v_col: int,
    z_col: int | None,
    basis: str,
    header: list[str],
) -> CarbonSeries:
    width = max(t_col, v_col) + 1
    times, values, zones = [], [], set()
    for n, row in enumerate(body, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            raise ParseError(
                f"the row has {len(row)} fields, the header {len(header)}",
                path=str(p),
                line=n,
                value=",".join(row)[:80],
            )
        t = _time(row[t_col], p, n, header[t_col])
        v = _value(row[v_col], p, n, header[v_col])
        times.append(t)
        values.append(v)
        if z_col is not None and z_col < len(row) and row[z_col].strip():
            zones.add(row[z_col].strip())
    start = np.array(times, dtype=np.int64)
    if len(start) > 1:
        step = np.diff(start)
        bad = np.flatnonzero(step <= 0)
        if len(bad):
            raise ParseError(
                "the series' times must increase from row to row",
                path=str(p),
                line=_line_of(body, int(bad[0]) + 1),
                column=header[t_col],
                value=str(pd.Timestamp(int(start[bad[0] + 1]), tz="UTC")),
                expected="rows in time order, each time once",
            )
        last = int(np.median(step))
    else:
        last = 3600 * 10**9
    end = np.append(start[1:], start[-1] + last)
    return CarbonSeries(
        path=str(p.resolve()),
        sha256=hashlib.sha256(raw).hexdigest(),
        layout=layout,
        basis=basis,
        zone=", ".join(sorted(zones)) if zones else None,
        start_ns=start,
        end_ns=end,
        g_co2e_per_kwh=np.array(values, dtype=np.float64),
    )


def _line_of(body: list[list[str]], k: int) -> int:
    """The file line of the k-th non-blank data row (0-based)."""
    seen = -1
    for n, row in enumerate(body, start=2):
        if any(c.strip() for c in row):
            seen += 1
            if seen == k:
                return n
    return len(body) + 1


def _time(text: str, p: Path, line: int, column: str) -> int:
    s = text.strip()
    try:
        t = pd.Timestamp(s)
    except (ValueError, TypeError):
        t = pd.NaT
    if pd.isna(t) or not re.match(r"^\d{4}-\d{2}-\d{2}", s):
        raise ParseError(
            "time not understood",
            path=str(p),
            line=line,
            column=column,
            value=text,
            expected=EXPECTED_TIME,
        )
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return int(t.as_unit("ns").value)


def _value(text: str, p: Path, line: int, column: str) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        v = float("nan")
    if not np.isfinite(v) or v < 0:
        raise ParseError(
            "carbon intensity not understood",
            path=str(p),
            line=line,
            column=column,
            value=text,
            expected=EXPECTED_VALUE,
        )
    return v
