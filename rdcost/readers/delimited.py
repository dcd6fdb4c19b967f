"""What the W&B, MLflow and plain-CSV parsers share: reading delimited text,
the value grammars of their cells, and turning rows into checked job rows.

Grammars (each a vectorized function over a column of text cells that returns
the values and, per cell, the reason it was refused, or NA):

- :func:`parse_duration_s`: seconds (``3921``, ``12.5``), ``[D-]HH:MM:SS``,
  unit strings (``2h30m``, ``161ms``, ``5.6s``, ``2.2min``, ``2.7h``,
  ``1.1d``), Python/pandas timedelta text (``1 day, 2:03:04``,
  ``0 days 00:00:03``) and ISO 8601 (``PT2H30M``). Negative durations are
  refused.
- :func:`parse_times`: ISO 8601 (with ``Z``/offset, or naive in ``tz``),
  and for free-form text (plain CSV only) epoch seconds/milliseconds, numeric
  dates ``DD/MM/YYYY`` vs ``MM/DD/YYYY`` (only with an explicit day-first
  choice when both readings are valid) and dates in words through
  ``dateparser``, with an explicit time zone and date order.
- :func:`json_objects`: cells (numbers, booleans, JSON or Python literals,
  text) into one JSON object per row.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rdcost.errors import ParseError, UsageError
from rdcost.readers.base import ParseOptions, Rejected, Sample

# --------------------------------------------------------------------------
# Delimited text


@dataclass
class Table:
    """A delimited file as text cells: one row per record, columns by position."""

    header: list[str]
    cells: pd.DataFrame  # str cells ("" = empty), columns 0..len(header)-1
    lines: np.ndarray  # 1-based first line of each row of ``cells``
    delimiter: str
    header_line: int
    n_blank: int = 0  # blank lines (not records)
    bad: list[Rejected] = field(default_factory=list)  # rows with a wrong field count

    @property
    def n_records(self) -> int:
        return len(self.cells) + len(self.bad)


_DELIMITERS = (",", "\t", ";", "|")
#: Widest header read (W&B exports have hundreds of columns; each costs time and memory).
MAX_COLUMNS = 10_000
#: Longest cell read (Python's csv module stops at 128 KiB unless told).
MAX_CELL_CHARS = 1 << 28


def _line_text(row: list[str], delimiter: str, limit: int = 80) -> str:
    return delimiter.join(row[:20])[:limit]


def detect_delimiter(line: str) -> str | None:
    """The separator that occurs most often outside quotes in a header line."""
    outside = re.sub(r'"(?:[^"]|"")*"', "", line)
    counts = {d: outside.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], -_DELIMITERS.index(d)))
    return best if counts[best] else None


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a BOM is dropped); other encodings are refused."""
    raw = Path(path).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(
            "the file is not UTF-8 text",
            path=str(path),
            line=line,
            value=repr(raw[exc.start : exc.start + 8]),
            hint="save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        ) from None


def read_delimited(path: Path, delimiter: str | None = None) -> Table:
    """Read a delimited text with a header row into a :class:`Table`.

    Handles CRLF, a BOM, quoted cells with embedded delimiters/newlines, and a
    missing final newline. Rows whose field count differs from the header's
    become :class:`Rejected` records; blank lines are counted, not records.
    """
    text = read_text(path)
    if delimiter is not None and len(delimiter) != 1:
        raise UsageError(
            f"--delimiter must be one character for a CSV/TSV table, got {delimiter!r}",
            hint="several-character delimiters are read in sacct text (--format sacct-parsable)",
        )
    if delimiter is None:
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        delimiter = detect_delimiter(first) or ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    limit = csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    rows: list[list[str]] = []
    starts: list[int] = []
    header: list[str] | None = None
    header_line = 0
    n_blank = 0
    bad: list[Rejected] = []
    prev_end = 0
    try:
        for row in reader:
            start, prev_end = prev_end + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                n_blank += 1
                continue
            if header is None:
                header, header_line = [c.strip() for c in row], start
                if len(header) > MAX_COLUMNS:
                    raise ParseError(
                        f"the header row has {len(header):,} columns, more than the "
                        f"{MAX_COLUMNS:,} rdcost reads: is the first line a header?",
                        path=str(path),
                        line=start,
                        value=_line_text(row, delimiter),
                        hint="export fewer columns (the run table needs its name, state, "
                        "times and config columns)",
                    )
                continue
            if len(row) != len(header):
                bad.append(
                    Rejected(
                        path=str(path),
                        line=start,
                        reason=f"expected {len(header)} fields as in the header, found {len(row)}",
                        text=delimiter.join(row)[:500],
                    )
                )
                continue
            rows.append(row)
            starts.append(start)
    except csv.Error as exc:
        raise ParseError(
            f"unreadable delimited text: {exc}", path=str(path), line=reader.line_num
        ) from None
    finally:
        csv.field_size_limit(limit)
    if header is None:
        raise ParseError("the file has no header row", path=str(path))
    cells = (
        pd.DataFrame(rows, columns=range(len(header)), dtype="str")
        if rows
        else pd.DataFrame({i: pd.Series([], dtype="str") for i in range(len(header))})
    )
    return Table(
        header=header,
        cells=cells,
        lines=np.asarray(starts, dtype=np.int64),
        delimiter=delimiter,
        header_line=header_line,
        n_blank=n_blank,
        bad=bad,
    )


@dataclass
class Header:
    """The header row of a sample, for sniffers."""

    cells: list[str]
    delimiter: str
    is_all_quoted: bool
    line: str


def sniff_header(sample: Sample, delimiter: str | None = None) -> Header | None:
    """The first non-blank line of a sample read as a header row (None if none)."""
    first = next((ln for ln in sample.lines(20) if ln.strip()), None)
    if first is None:
        return None
    delim = delimiter or detect_delimiter(first)
    if delim is None:
        return Header([first.strip()], ",", first.strip().startswith('"'), first)
    try:
        cells = next(csv.reader([first], delimiter=delim))
    except (csv.Error, StopIteration):
        return None
    parts = first.split(delim)
    quoted = all(p.strip().startswith('"') and p.strip().endswith('"') for p in parts)
    return Header([c.strip() for c in cells], delim, quoted, first)


# --------------------------------------------------------------------------
# Row errors


class RowErrors:
    """The first problem found in each row, for rejecting it with its reason."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(pd.NA, index=index, dtype=object)
        self.column = pd.Series(pd.NA, index=index, dtype=object)
        self.value = pd.Series(pd.NA, index=index, dtype=object)
        self.expected = pd.Series(pd.NA, index=index, dtype=object)

    def add(
        self,
        mask: pd.Series,
        column: str | None,
        values: pd.Series | None,
        reason: str | pd.Series,
        expected: str | None = None,
    ) -> None:
        m = mask.fillna(False).astype(bool) & self.reason.isna()
        if not m.any():
            return
        self.reason[m] = reason[m] if isinstance(reason, pd.Series) else reason
        self.column[m] = column
        if values is not None:
            self.value[m] = values[m].astype(object)
        self.expected[m] = expected

    @property
    def bad(self) -> pd.Series:
        return self.reason.notna()

    def rejected(
        self, path: str, lines: pd.Series, text: pd.Series | None = None
    ) -> list[Rejected]:
        out = []
        for i in self.reason.index[self.bad]:
            out.append(
                Rejected(
                    path=path,
                    line=_opt_int(lines.get(i)),
                    reason=str(self.reason[i]),
                    column=_opt_str(self.column[i]),
                    value=_opt_str(self.value[i]),
                    expected=_opt_str(self.expected[i]),
                    text=None if text is None else _opt_str(text.get(i)),
                )
            )
        return out


def _opt_str(v) -> str | None:
    return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)


def _opt_int(v) -> int | None:
    return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else int(v)


def row_hash(cells: pd.DataFrame, keys: list[str]) -> pd.Series:
    """A stable 16-hex digest of each row's non-empty name=value pairs, in name order
    (independent of column order; the fallback record key of rows without an id)."""
    order = sorted(range(len(keys)), key=lambda p: keys[p])
    pieces = []
    for p in order:
        col = cells.iloc[:, p].astype(object)
        has = col.notna() & (col.astype(str) != "")
        pieces.append((keys[p] + "=" + col.astype(str)).where(has, None))
    text = join_columns(pieces, "\x1f", cells.index).fillna("")
    digest = pd.util.hash_pandas_object(text.astype(str), index=False, hash_key="rdcost-rowkey-01")
    return digest.map(lambda v: f"{int(v):016x}").astype(object)


def join_columns(columns: list[pd.Series], sep: str, index: pd.Index) -> pd.Series:
    """Row-wise join of text columns, skipping nulls (NA where every piece is null)."""
    if not columns:
        return pd.Series(pd.NA, index=index, dtype=object)
    arrays = [
        pa.array(c.astype(object).where(c.notna(), None).to_numpy(), type=pa.string())
        for c in columns
    ]
    allnull = np.logical_and.reduce([a.is_null().to_numpy(zero_copy_only=False) for a in arrays])
    if allnull.any():  # pyarrow (26) drops the rows in which every piece is null
        arrays[0] = pc.if_else(pa.array(allnull), pa.scalar("", pa.string()), arrays[0])
    joined = pc.binary_join_element_wise(*arrays, sep, null_handling="skip")
    out = pd.Series(joined.to_numpy(zero_copy_only=False), index=index, dtype=object)
    return out.where(~allnull, pd.NA)


def row_text(table: Table) -> pd.Series:
    """Each row of a table as delimited text (for the rejects file)."""
    cols = [table.cells[c].astype(object).fillna("") for c in table.cells.columns]
    return join_columns(cols, table.delimiter, table.cells.index).fillna("").str.slice(0, 500)


# --------------------------------------------------------------------------
# Durations

DURATION_EXPECTED = (
    "a duration: seconds (3600, 12.5), [D-]HH:MM:SS, 2h30m, 161ms, 5.6s, 2.2min, "
    "2.7h, 1.1d, PT2H30M, or timedelta text (1 day, 2:03:04)"
)

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_CLOCK = re.compile(
    r"^(?P<sign>-)?(?:(?P<d>\d+)-)?(?P<h>\d+):(?P<m>[0-5]\d):(?P<s>[0-5]\d(?:\.\d+)?)$"
)
_TIMEDELTA = re.compile(
    r"^(?P<d>-?\d+) days?,? (?P<h>\d{1,2}):(?P<m>[0-5]\d):(?P<s>[0-5]\d(?:\.\d+)?)$"
)
_UNIT_PART = r"(\d+(?:\.\d+)?)\s*(ms|msecs?|milliseconds?|s|secs?|seconds?|min|mins|minutes?|m|h|hrs?|hours?|d|days?)"
_UNITS_FULL = re.compile(rf"^(?P<sign>-)?\s*(?:{_UNIT_PART}\s*)+$")
_ISO_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_S = {
    "ms": 0.001,
    "msec": 0.001,
    "msecs": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "m": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_MISSING = {"", "nan", "NaN", "NAN", "None", "null", "NULL", "N/A", "n/a", "NA"}


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip()


def is_missing(s: pd.Series) -> pd.Series:
    """Empty cells and the missing-value words exports write (NaN, None, null, N/A)."""
    t = _text(s)
    return (t.isna() | t.isin(_MISSING)).astype(bool)


def _num(s: pd.Series) -> pd.Series:
    v = pd.to_numeric(s, errors="coerce").astype(float)
    # digits pandas cannot read (an integer of more than 4300 digits) are too big, not missing
    big = v.isna() & s.astype("string").str.fullmatch(r"\d+(?:\.\d+)?").fillna(False).astype(bool)
    return v.where(~big, np.inf)


def parse_duration_s(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Durations in seconds (float, NaN when empty) and per-cell refusal reasons."""
    t = _text(s)
    missing = is_missing(s)
    out = pd.Series(np.nan, index=s.index, dtype=float)
    reason = pd.Series(pd.NA, index=s.index, dtype=object)
    todo = ~missing

    num = t.str.fullmatch(_NUMBER).fillna(False).astype(bool) & todo
    out[num] = _num(t[num])
    todo &= ~num

    for rx in (_CLOCK, _TIMEDELTA):
        m = t[todo].str.extract(rx)
        ok = m["h"].notna()
        if ok.any():
            m = m[ok]
            days = _num(m["d"]).fillna(0.0)
            val = days * 86400 + _num(m["h"]) * 3600 + _num(m["m"]) * 60 + _num(m["s"])
            if "sign" in m:  # "-1:00:00"; timedelta text "-1 day, 23:59:59" adds to negative days
                val = val.where(m["sign"].isna(), -val)
            out[val.index] = val
            todo[val.index] = False

    units = t.str.fullmatch(_UNITS_FULL).fillna(False).astype(bool) & todo
    if units.any():
        parts = t[units].str.extractall(_UNIT_PART)
        secs = _num(parts[0]) * parts[1].str.lower().map(_UNIT_S).astype(float)
        total = secs.groupby(level=0).sum()
        neg = t[units].str.startswith("-")
        out[total.index] = total.where(~neg[total.index], -total)
        todo &= ~units

    iso = t[todo].str.extract(_ISO_DURATION)
    iso_ok = iso[["d", "h", "m", "s"]].notna().any(axis=1) & t[todo].str.startswith(("P", "-P"))
    if iso_ok.any():
        iso = iso[iso_ok]
        val = (
            _num(iso["d"]).fillna(0) * 86400
            + _num(iso["h"]).fillna(0) * 3600
            + _num(iso["m"]).fillna(0) * 60
            + _num(iso["s"]).fillna(0)
        )
        val = val.where(iso["sign"].isna(), -val)
        out[val.index] = val
        todo[val.index] = False

    reason[todo] = "not a duration"
    reason[~todo & ~missing & ~np.isfinite(out)] = "not a finite duration"
    neg = (out < 0) & reason.isna()
    reason[neg] = "negative duration"
    out[reason.notna()] = np.nan
    return out, reason


# --------------------------------------------------------------------------
# Times

TIME_EXPECTED_ISO = "an ISO 8601 time (2024-03-04T10:00:00Z, 2024-03-04 10:00:00+00:00)"
TIME_EXPECTED = (
    "a date and time: ISO 8601 (2024-03-04T10:00:00, with Z/offset or naive in --tz), "
    "epoch seconds, DD/MM/YYYY or MM/DD/YYYY with --dayfirst/--monthfirst, "
    "or a date in words (4 March 2024 10:00)"
)
AMBIGUOUS_DATE = (
    "ambiguous day/month order: both readings are valid dates; pass --dayfirst or --monthfirst"
)

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?))?$"
)
_ISO_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_EPOCH_S = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d{12,13}$")
_NUMERIC_DATE = re.compile(
    r"^(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?:[ T,]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d+))?)?\s*(?P<ampm>[AaPp][Mm])?)?$"
)
_LOCAL_GAP = "local time that does not exist or is ambiguous in {tz} (daylight-saving change)"


def _too_late(naive: pd.Series) -> pd.Series:
    """Year 9999 and later: no zone conversion exists for them (Python datetimes end there)."""
    return (naive.dt.year >= 9999).fillna(False).astype(bool)


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    if naive.empty:
        return pd.Series(pd.NaT, index=naive.index, dtype="datetime64[us, UTC]")
    naive = naive.where(~_too_late(naive))
    loc = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return loc.dt.tz_convert("UTC")


def parse_times(
    s: pd.Series,
    tz: str = "UTC",
    dayfirst: bool | None = None,
    free_form: bool = False,
    epoch: bool = False,
) -> tuple[pd.Series, pd.Series]:
    """UTC times (NaT when empty) and per-cell refusal reasons.

    ISO 8601 always; naive times are in ``tz``. With ``epoch`` (or
    ``free_form``) also epoch seconds (9-10 digits) and milliseconds (12-13
    digits); with ``free_form`` also numeric day/month dates and dates in words.
    """
    t = _text(s)
    missing = is_missing(s)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    reason = pd.Series(pd.NA, index=s.index, dtype=object)
    todo = ~missing

    iso = t.str.fullmatch(_ISO).fillna(False).astype(bool) & todo
    if iso.any():
        has_off = t.str.contains(_ISO_OFFSET).fillna(False).astype(bool) & iso
        aware = pd.to_datetime(
            t[has_off].str.replace(",", ".", regex=False),
            format="ISO8601",
            utc=True,
            errors="coerce",
        )
        out[has_off] = aware
        naive_m = iso & ~has_off
        naive = pd.to_datetime(
            t[naive_m].str.replace(",", ".", regex=False), format="ISO8601", errors="coerce"
        )
        loc = _localize(naive, tz)
        out[naive_m] = loc
        reason[naive_m & out.isna()] = _LOCAL_GAP.format(tz=tz)
        reason[naive.index[naive.isna() | _too_late(naive)]] = "not a valid date"
        reason[has_off & out.isna()] = "not a valid date"
        todo &= ~iso

    if (free_form or epoch) and todo.any():
        ep_s = t.str.fullmatch(_EPOCH_S).fillna(False).astype(bool) & todo
        ep_ms = t.str.fullmatch(_EPOCH_MS).fillna(False).astype(bool) & todo
        out[ep_s] = pd.to_datetime(_num(t[ep_s]), unit="s", utc=True)
        out[ep_ms] = pd.to_datetime(_num(t[ep_ms]), unit="ms", utc=True)
        todo &= ~(ep_s | ep_ms)
    if free_form and todo.any():
        _numeric_dates(t, todo, out, reason, tz, dayfirst)
        todo &= out.isna() & reason.isna()
        _words(t, todo, out, reason, tz, dayfirst)
        todo &= out.isna() & reason.isna()

    reason[todo] = "not a date"
    return out, reason


def _numeric_dates(t, todo, out, reason, tz, dayfirst) -> None:
    m = t[todo].str.extract(_NUMERIC_DATE)
    m = m[m["a"].notna()]
    if m.empty:
        return
    a, b = _num(m["a"]), _num(m["b"])
    if dayfirst is None:
        day_first = (a > 12) & (b <= 12)
        month_first = (b > 12) & (a <= 12)
        same = a == b
        ambiguous = (a <= 12) & (b <= 12) & ~same
        day_first |= same
        reason[m.index[ambiguous]] = AMBIGUOUS_DATE
        reason[m.index[(a > 12) & (b > 12)]] = "not a valid date"
        ok = day_first | month_first
    else:
        day_first = pd.Series(dayfirst, index=m.index)
        month = b if dayfirst else a
        wrong = month > 12
        reason[m.index[wrong]] = (
            "not a day-first date (DD/MM/YYYY) as --dayfirst says"
            if dayfirst
            else "not a month-first date (MM/DD/YYYY) as --monthfirst says"
        )
        ok = ~wrong
    m, a, b, day_first = m[ok], a[ok], b[ok], day_first[ok]
    if m.empty:
        return
    day = a.where(day_first, b).astype(int)
    month = b.where(day_first, a).astype(int)
    year = _num(m["y"]).astype(int)
    year = year.where(m["y"].str.len() == 4, np.where(year < 69, 2000 + year, 1900 + year))
    hour = _num(m["H"]).fillna(0)
    ampm = m["ampm"].str.lower()
    pm = (ampm == "pm").fillna(False).astype(bool)
    am = (ampm == "am").fillna(False).astype(bool)
    bad_clock = m["ampm"].notna().astype(bool) & ((hour > 12) | (hour == 0))
    hour = hour.where(~(pm & (hour < 12)), hour + 12).where(~(am & (hour == 12)), 0)
    iso = (
        year.astype(str).str.zfill(4)
        + "-"
        + month.astype(str).str.zfill(2)
        + "-"
        + day.astype(str).str.zfill(2)
        + "T"
        + hour.astype(int).astype(str).str.zfill(2)
        + ":"
        + m["M"].fillna("00")
        + ":"
        + m["S"].fillna("00")
        + "."
        + m["f"].fillna("0")
    )
    naive = pd.to_datetime(iso, format="ISO8601", errors="coerce")
    naive[bad_clock] = pd.NaT
    invalid = naive.isna() | _too_late(naive)
    reason[naive.index[invalid]] = "not a valid date"
    naive = naive[~invalid]
    loc = _localize(naive, tz)
    out[loc.index] = loc
    reason[loc.index[loc.isna()]] = _LOCAL_GAP.format(tz=tz)


#: Longest text given to dateparser (it takes seconds on kilobytes, minutes on a megabyte).
MAX_DATE_WORDS_CHARS = 100


def _words(t, todo, out, reason, tz, dayfirst) -> None:
    """Dates in words through dateparser, once per distinct text."""
    if not todo.any():
        return
    import dateparser  # slow to import; only free-form dates need it

    def settings(order: str) -> dict:
        return {
            "TIMEZONE": tz,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "TO_TIMEZONE": "UTC",
            "DATE_ORDER": order,
            "PARSERS": ["custom-formats", "absolute-time"],
            "REQUIRE_PARTS": ["day", "month", "year"],
        }

    orders = ["DMY" if dayfirst else "MDY"] if dayfirst is not None else ["DMY", "MDY"]
    found: dict[str, object] = {}
    for text in t[todo].unique():
        if len(text) > MAX_DATE_WORDS_CHARS:  # no date is that long; dateparser is slow on it
            continue
        results = {dateparser.parse(text, settings=settings(o)) for o in orders}
        if len(results) > 1:
            found[text] = AMBIGUOUS_DATE
        else:
            found[text] = results.pop()
    vals = t[todo].map(found)
    is_reason = vals.map(lambda v: isinstance(v, str))
    reason[vals.index[is_reason]] = vals[is_reason]
    parsed = vals[~is_reason & vals.notna()]
    if len(parsed):
        out[parsed.index] = pd.to_datetime(parsed.astype(object), utc=True)


# --------------------------------------------------------------------------
# Cells -> JSON

_JSON_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_NULL_WORDS = {"json": {"NaN", "nan"}, "python": {"NaN", "nan", "None"}}
_TRUE_WORDS = {"json": {"true"}, "python": {"true", "True"}}
_FALSE_WORDS = {"json": {"false"}, "python": {"false", "False"}}
_CONTROL = re.compile(r"[\x00-\x1f]")


def json_string(s: pd.Series) -> pd.Series:
    """Text cells as JSON string literals (vectorized escaping)."""
    e = (
        s.astype(str)
        .str.replace("\\", "\\\\", regex=False)
        .str.replace('"', '\\"', regex=False)
        .str.replace("\n", "\\n", regex=False)
        .str.replace("\r", "\\r", regex=False)
        .str.replace("\t", "\\t", regex=False)
    )
    ctl = e.str.contains(_CONTROL)
    if ctl.any():
        e[ctl] = e[ctl].str.replace(_CONTROL, lambda m: f"\\u{ord(m.group()):04x}", regex=True)
    return '"' + e + '"'


def encode_cells(s: pd.Series, mode: str = "json") -> pd.Series:
    """Text cells as JSON values: numbers, booleans, null (NaN/None), JSON or
    Python lists/dicts (``mode="python"`` also reads Python reprs), else strings."""
    out = json_string(s)
    # a number JSON readers can take back (Python refuses integers over 4300 digits)
    num = (s.str.fullmatch(_JSON_NUMBER) & (s.str.len() <= 1000)).fillna(False).astype(bool)
    out[num] = s[num]
    out[s.isin(_NULL_WORDS[mode])] = "null"
    out[s.isin(_TRUE_WORDS[mode])] = "true"
    out[s.isin(_FALSE_WORDS[mode])] = "false"
    opens = ("[", "{", "(") if mode == "python" else ("[", "{")
    structured = s.str.lstrip().str.startswith(opens).fillna(False).astype(bool)
    if structured.any():
        conv = s[structured].map(lambda v: literal_json(v, mode))
        ok = conv.notna()
        out[conv.index[ok]] = conv[ok]
    return out


def literal_json(text: str, mode: str = "json") -> str | None:
    """JSON text for a cell holding a JSON (or, in python mode, Python) literal; None if not one."""
    value = literal(text, mode)
    return None if value is _NOT_LITERAL else json.dumps(value, ensure_ascii=False)


_NOT_LITERAL = object()
_NAMES = {
    "nan": None,
    "NaN": None,
    "None": None,
    "null": None,
    "True": True,
    "true": True,
    "False": False,
    "false": False,
    "inf": "Infinity",
    "Infinity": "Infinity",
}


def literal(text: str, mode: str = "json"):
    """The value of a JSON literal (or Python literal in python mode), made JSON-safe:
    NaN -> None, +-inf -> "Infinity"/"-Infinity", tuples -> lists. Returns a sentinel
    when the text is no literal."""
    try:
        return jsonable(json.loads(text))
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        pass
    if mode != "python":
        return _NOT_LITERAL
    try:
        tree = ast.parse(text.strip(), mode="eval")
        return jsonable(_eval(tree.body))
    except (SyntaxError, ValueError, RecursionError):
        return _NOT_LITERAL


def _eval(node):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand)
        if v == "Infinity":
            return "-Infinity" if isinstance(node.op, ast.USub) else v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else v
        raise ValueError("not a literal")
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_eval(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("not a literal")
        return {str(_eval(k)): _eval(v) for k, v in zip(node.keys, node.values, strict=True)}
    raise ValueError("not a literal")


def jsonable(v):
    """A value that json.dumps writes as strict JSON."""
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    return str(v)


def flatten(d: dict, prefix: str = "") -> dict:
    """Nested dicts to dotted keys, as the W&B runs table writes them."""
    out: dict = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def unique_keys(keys: list[str]) -> list[str]:
    """Repeated names get '#2', '#3' (a config key and a metric of the same name)."""
    seen: dict[str, int] = {}
    out = []
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
        out.append(k if seen[k] == 1 else f"{k}#{seen[k]}")
    return out


def json_objects(cells: pd.DataFrame, keys: list[str], mode: str = "json") -> pd.Series:
    """One flat JSON object per row from text cells (columns in ``keys`` order);
    empty cells are left out; a row with no value gives NA."""
    result = pd.Series(pd.NA, index=cells.index, dtype=object)
    if cells.shape[1] == 0 or len(cells) == 0:
        return result
    frame = cells.copy()
    frame.columns = range(frame.shape[1])
    long = frame.stack()
    long = long[long.notna() & (long.astype(str) != "")].astype(str)
    if long.empty:
        return result
    enc = encode_cells(long, mode)
    names = np.asarray(
        [json.dumps(k, ensure_ascii=False) for k in unique_keys(list(keys))], dtype=object
    )
    pieces = pd.Series(names[long.index.get_level_values(1)], index=long.index) + ": " + enc
    wide = pieces.unstack()
    joined = join_columns([wide[c] for c in wide.columns], ", ", wide.index)
    result[wide.index] = "{" + joined + "}"
    return result


def dict_json(records: list[dict | None]) -> list[str | None]:
    """JSON text of already-parsed (flat) dicts; None for empty/missing."""
    return [json.dumps(jsonable(r), ensure_ascii=False) if r else None for r in records]


# --------------------------------------------------------------------------
# Values found by key

SLURM_JOB_KEY = re.compile(r"(?i)^(?:.*[./])?slurm[._/]?job[._]?id$")
_JOB_ID = re.compile(r"^\d+(?:_\d+)?(?:\+\d+)?$")


def first_by_key(cells: pd.DataFrame, keys: list[str], pattern: re.Pattern) -> pd.Series:
    """Per row, the first non-empty cell among columns whose key matches ``pattern``."""
    out = pd.Series(pd.NA, index=cells.index, dtype=object)
    for pos, k in enumerate(keys):
        if pattern.match(k):
            col = cells.iloc[:, pos]
            col = col.where(~is_missing(col))
            out = out.where(out.notna(), col)
    return out


def slurm_job_ids(values: pd.Series) -> pd.Series:
    """Slurm job ids as text ('12345', from '12345.0' too); NA where not a job id."""
    t = _text(values).str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return t.where(t.str.fullmatch(_JOB_ID).fillna(False).astype(bool)).astype(object)


def count_indices(cells: pd.DataFrame, keys: list[str], pattern: re.Pattern) -> pd.Series:
    """Per row, how many distinct device indices (group 1 of ``pattern``) have a value."""
    by_index: dict[str, pd.Series] = {}
    for pos, k in enumerate(keys):
        m = pattern.match(k)
        if m:
            has = ~is_missing(cells.iloc[:, pos])
            prev = by_index.get(m.group(1))
            by_index[m.group(1)] = has if prev is None else (prev | has)
    if not by_index:
        return pd.Series(np.nan, index=cells.index)
    n = sum(v.astype(int) for v in by_index.values())
    return n.where(n > 0).astype(float)


# --------------------------------------------------------------------------
# From parsed rows to checked chunks


def apply_gpu_options(df: pd.DataFrame, opts: ParseOptions) -> None:
    """n_gpus/gpu_type from the log when present, else --gpus-per-run/--gpu-type
    (is_gpu_assumed True), else null; is_gpu_assumed null when nothing is known."""
    n = df["n_gpus"].astype(float) if "n_gpus" in df else pd.Series(np.nan, index=df.index)
    t = (
        df["gpu_type"].astype(object)
        if "gpu_type" in df
        else pd.Series(None, index=df.index, dtype=object)
    )
    t = t.where(t.notna(), None)
    assumed = pd.Series(False, index=df.index)
    if opts.gpus_per_run is not None:
        assumed |= n.isna()
        n = n.fillna(float(opts.gpus_per_run))
    if opts.gpu_type is not None:
        assumed |= t.isna()
        t = t.where(t.notna(), opts.gpu_type)
    known = n.notna() | t.notna()
    df["n_gpus"] = n
    df["gpu_type"] = t
    df["is_gpu_assumed"] = pd.array(assumed.where(known, None), dtype="boolean")


def check_times(df: pd.DataFrame, errors: RowErrors, end_column: str) -> None:
    """Reject rows that end before they start."""
    both = df["start_time"].notna() & df["end_time"].notna()
    before = both & (df["end_time"] < df["start_time"])
    errors.add(
        before,
        end_column,
        df["end_time"].astype(str),
        "end before start",
        "an end time at or after the start time",
    )


def finish(
    df: pd.DataFrame,
    errors: RowErrors,
    *,
    path: Path,
    lines: pd.Series,
    text: pd.Series | None,
    opts: ParseOptions,
    n_records: int,
    n_ignored: int,
    pre_rejected: list[Rejected],
    format_detail: str,
):
    """Split rows into stored / rejected / merged duplicates and yield chunks.

    Rows with the same record_key: an identical repeat is merged (counted
    n_merged), a conflicting one rejected with the line of the first.
    """
    from rdcost.readers.base import Chunk, handle_bad

    rejected: list[Rejected] = []
    found = pre_rejected + errors.rejected(str(path), lines, text)
    for r in sorted(found, key=lambda r: (r.line is None, r.line or 0)):  # file order
        handle_bad(rejected, r, opts)
    good = df[~errors.bad.to_numpy()]
    n_merged = 0
    dup = good["record_key"].duplicated(keep="first")
    if dup.any():
        firsts = good[~dup].set_index("record_key")
        compare = [c for c in good.columns if c != "source_line"]
        drop = []
        for i in good.index[dup]:
            row = good.loc[i]
            first = firsts.loc[row["record_key"]]
            same = all(_same(row[c], first[c]) for c in compare if c != "record_key")
            drop.append(i)
            if same:
                n_merged += 1
            else:
                handle_bad(
                    rejected,
                    Rejected(
                        path=str(path),
                        line=_opt_int(row.get("source_line")),
                        reason=f"same record as line {_opt_int(first.get('source_line'))} "
                        f"(key {row['record_key']}) with different values",
                        column=None,
                        value=None,
                        text=None if text is None else _opt_str(text.get(i)),
                    ),
                    opts,
                )
        good = good.drop(index=drop)
    good = good.reset_index(drop=True)
    good["source_format"] = format_detail
    size = Path(path).stat().st_size
    step = max(1, int(opts.chunk_rows))
    starts = list(range(0, len(good), step)) or [0]
    for k, s0 in enumerate(starts):
        part = good.iloc[s0 : s0 + step]
        last = k == len(starts) - 1
        yield Chunk(
            jobs=part,
            n_records=len(part) + (n_merged + n_ignored + len(rejected) if last else 0),
            n_merged=n_merged if last else 0,
            n_ignored=n_ignored if last else 0,
            rejected=rejected if last else [],
            format_detail=format_detail,
            bytes_done=size if last else None,
        )


def _same(a, b) -> bool:
    na, nb = (
        pd.isna(a) if not isinstance(a, (list, dict)) else False,
        pd.isna(b) if not isinstance(b, (list, dict)) else False,
    )
    if na or nb:
        return bool(na and nb)
    return bool(a == b)
