"""sacct timestamps in every form ``SLURM_TIME_FORMAT`` makes sacct print them
(formats.md 1.4; Slurm's ``src/common/parse_time.c``):

- ``standard`` (the default): ``2024-03-01T08:05:10``, local time of the exporting
  host, no offset; also read with a space for the ``T`` (``%F %T``) and with an
  offset (``%FT%T%z``, kept as written);
- epoch seconds (``%s``, as jobstats exports): 9 to 11 digits, never anything else
  in a sacct time field, so read whatever the time format;
- ``relative`` (``--time-format relative``, or sniffed from the values): relative to
  the day of the export, in its zone: ``12:34:56`` (that day), ``Ystday 12:34``,
  ``Tomorr 12:34``, ``Wed 12:34`` (within the next six days), ``6 Jun 12:34`` (that
  year) and ``6 Jun 2012`` (the date only; midnight); minutes are the precision;
- any other strftime format (``--time-format '%d/%m/%Y %H:%M'``).

``Unknown`` and ``None`` are null. Naive local times are read in ``tz`` (``--tz``);
the repeated autumn hour is taken as its first (daylight-saving) instant and the
skipped spring hour moved forward, both deterministic.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rdcost.errors import UsageError
from rdcost.readers.slurm.grammar import (
    Parsed,
    _arrow,
    _invalid,
    _is_in,
    _matches,
    _np_bool,
    _present,
    _str_series,
    check_tz,
)

_TS_NAIVE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$"
_TS_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})$"
_EPOCH = r"^\d{9,11}$"
_NO_TIME = ["unknown", "none"]
#: Time formats a user can name besides a strftime string.
NAMED_FORMATS = ("standard", "relative")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_RELATIVE = [
    (re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})$"), "today"),
    (re.compile(r"^Ystday (\d{1,2}):(\d{2})$", re.I), "yesterday"),
    (re.compile(r"^Tomorr (\d{1,2}):(\d{2})$", re.I), "tomorrow"),
    (re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{1,2}):(\d{2})$", re.I), "weekday"),
    (re.compile(r"^(\d{1,2}) ([A-Za-z]{3}) (\d{1,2}):(\d{2})$"), "day_month"),
    (re.compile(r"^(\d{1,2}) ([A-Za-z]{3}) (\d{4})$"), "date"),
]
#: What a timestamp field may hold, as error messages show it.
EXPECTED = (
    "YYYY-MM-DDTHH:MM:SS, epoch seconds, Unknown or None (other SLURM_TIME_FORMATs: pass "
    "--time-format relative or the strftime format used)"
)


def check_time_format(fmt: str | None) -> str | None:
    """``--time-format``: standard, relative or a strftime string with a ``%``."""
    if fmt is None or fmt in NAMED_FORMATS:
        return fmt
    if "%" not in fmt:
        raise UsageError(
            f"--time-format must be standard, relative or a strftime format with %, got {fmt!r}",
            value=fmt,
        )
    return fmt


def looks_relative(values: pd.Series) -> bool:
    """True when time values are in SLURM_TIME_FORMAT=relative form and none is standard."""
    v = [str(x) for x in values.dropna() if str(x) and str(x).lower() not in _NO_TIME]
    if not v or any(re.match(_TS_NAIVE, x) or re.match(_EPOCH, x) for x in v):
        return False
    return all(any(p.match(x) for p, _ in _RELATIVE) for x in v)


def parse_timestamp(
    s: pd.Series,
    tz: str = "UTC",
    time_format: str | None = None,
    export_time: pd.Timestamp | None = None,
) -> Parsed:
    """sacct timestamps -> UTC (see the module doc). ``export_time`` dates relative times.

    The standard form (``YYYY-MM-DDTHH:MM:SS``, nearly every value of a real export) is
    read from the bytes with integer arithmetic (:func:`_standard_bytes`); only the other
    values go through the readers of each form."""
    check_tz(tz)
    arr = _arrow(s)
    fast_ok, fast_us = _standard_bytes(arr)
    if not fast_ok.any():
        return _parse_all(s, tz, time_format, export_time)
    utc = fast_us.astype("datetime64[us]")
    if tz != "UTC" and fast_ok.any():
        local = pd.DatetimeIndex(np.where(fast_ok, utc, np.datetime64("NaT", "us")))
        utc = _localize(local, tz).tz_convert(None).to_numpy(dtype="datetime64[us]")
    utc = np.where(fast_ok, utc, np.datetime64("NaT", "us"))
    invalid = np.zeros(len(arr), dtype=bool)
    rest = np.flatnonzero(_present(arr) & ~fast_ok)
    if len(rest):
        sub = _parse_all(
            pd.Series(arr.take(pa.array(rest)).to_pandas(), dtype=object),
            tz,
            time_format,
            export_time,
        )
        utc[rest] = sub.values.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")
        invalid[rest] = sub.invalid.to_numpy(dtype=bool)
    values = pd.Series(pd.DatetimeIndex(utc).tz_localize("UTC"), index=s.index)
    return Parsed(values, _invalid(s.index, invalid))


#: Byte positions of the digits and separators of ``YYYY-MM-DDTHH:MM:SS``.
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _standard_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(ok, local microseconds since the epoch) of the values in the standard form, read
    as a matrix of 19 bytes per value: exactly the values :func:`_standard` reads (the
    regex's digits and separators, a real calendar date, hours < 24, minutes and seconds
    < 60, years 0 to 9998)."""
    n = len(arr)
    ok = np.zeros(n, dtype=bool)
    us = np.zeros(n, dtype=np.int64)
    if not n or arr.null_count == n:
        return ok, us
    arr = arr.cast(pa.large_string())
    lengths = np.asarray(
        pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    cand = np.flatnonzero(lengths == 19)
    if not len(cand):
        return ok, us
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    m = data[offsets[cand][:, None] + np.arange(19)]
    digits = m[:, _DIGITS] - np.uint8(48)
    good = (digits < 10).all(axis=1)
    good &= (m[:, 4] == 45) & (m[:, 7] == 45) & ((m[:, 10] == 84) | (m[:, 10] == 32))
    good &= (m[:, 13] == 58) & (m[:, 16] == 58)
    d = digits.astype(np.int64)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    hour, minute, sec = d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    dim = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    good &= month_ok & (day >= 1) & (day <= dim) & (hour < 24) & (minute < 60) & (sec < 60)
    good &= year < 9999
    # days_from_civil (H. Hinnant), proleptic Gregorian
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = np.where(month > 2, month - 3, month + 9)
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    secs = days * 86400 + hour * 3600 + minute * 60 + sec
    ok[cand[good]] = True
    us[cand[good]] = secs[good] * 1_000_000
    return ok, us


def _parse_all(
    s: pd.Series,
    tz: str,
    time_format: str | None,
    export_time: pd.Timestamp | None,
) -> Parsed:
    """Every reader in turn (standard, with offset, epoch, then relative or custom)."""
    arr = _arrow(s)
    present = _present(arr)
    unknown = _is_in(arr, _NO_TIME)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    good = np.zeros(len(arr), dtype=bool)
    for reader in (_standard, _with_offset, _epoch):
        ok, values = reader(arr, s.index, tz)
        take = ok & ~good
        if take.any():
            out[take] = values[take]
            good |= take
    if time_format == "relative":
        ok, values = _relative(arr, s.index, tz, export_time)
        take = ok & ~good
        out[take] = values[take]
        good |= take
    elif time_format not in (None, "standard"):
        ok, values = _custom(arr, s.index, tz, time_format)
        take = ok & ~good
        out[take] = values[take]
        good |= take
    invalid = present & ~unknown & ~good
    return Parsed(out.where(good).dt.as_unit("us"), _invalid(s.index, invalid))


def _localize(local: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    if tz == "UTC":
        return local.tz_localize("UTC")
    return local.tz_localize(
        tz, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
    ).tz_convert("UTC")


def _standard(arr: pa.Array, index: pd.Index, tz: str) -> tuple[np.ndarray, pd.Series]:
    naive_ok = _matches(arr, _TS_NAIVE)
    sel = pc.if_else(pa.array(naive_ok), arr, pa.scalar(None, arr.type))
    sel = pc.replace_substring(sel, " ", "T")
    parsed = pc.strptime(sel, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    # strptime rolls impossible dates over (02-30 -> 03-01): the day must survive
    same = pc.equal(pc.day(parsed), pc.cast(pc.utf8_slice_codeunits(sel, 8, 10), pa.int64()))
    # year 9999 cannot be moved between zones (Python datetimes end there)
    good = _np_bool(same) & _np_bool(pc.less(pc.year(parsed), 9999))
    parsed = pc.if_else(pa.array(good), parsed, pa.scalar(None, parsed.type))
    local = pd.DatetimeIndex(parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]"))
    return good, pd.Series(_localize(local, tz), index=index)


def _with_offset(arr: pa.Array, index: pd.Index, tz: str) -> tuple[np.ndarray, pd.Series]:
    ok = _matches(arr, _TS_OFFSET) & ~_matches(arr, _TS_NAIVE)
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
    if ok.any():
        txt = _str_series(arr, index).astype(object)[ok].str.replace(" ", "T", n=1)
        conv = pd.to_datetime(txt, utc=True, format="ISO8601", errors="coerce")
        out.loc[ok] = conv.dt.as_unit("us")
        ok = ok & out.notna().to_numpy()
    return ok, out


def _epoch(arr: pa.Array, index: pd.Index, tz: str) -> tuple[np.ndarray, pd.Series]:
    ok = _matches(arr, _EPOCH)
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
    if ok.any():
        secs = pd.to_numeric(_str_series(arr, index).astype(object)[ok])
        out.loc[ok] = pd.to_datetime(secs, unit="s", utc=True).dt.as_unit("us")
    return ok, out


def _custom(arr: pa.Array, index: pd.Index, tz: str, fmt: str) -> tuple[np.ndarray, pd.Series]:
    has_zone = "%z" in fmt or "%Z" in fmt
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
    ok = np.zeros(len(arr), dtype=bool)
    texts = _str_series(arr, index).to_numpy(dtype=object)
    for pos, t in enumerate(
        texts
    ):  # custom formats are rare; Python's strptime knows every directive
        if t is None or t is pd.NA:
            continue
        try:
            d = datetime.strptime(str(t), fmt)
        except ValueError:
            continue
        ts = pd.Timestamp(d)
        out.iloc[pos] = (
            ts.tz_convert("UTC")
            if has_zone and ts.tzinfo
            else _localize(pd.DatetimeIndex([ts]), tz)[0]
        )
        ok[pos] = True
    return ok, out


def _relative(
    arr: pa.Array, index: pd.Index, tz: str, export_time: pd.Timestamp | None
) -> tuple[np.ndarray, pd.Series]:
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
    ok = np.zeros(len(arr), dtype=bool)
    if export_time is None:
        return ok, out
    today = pd.Timestamp(export_time).tz_convert(tz).tz_localize(None).normalize().to_pydatetime()
    texts = _str_series(arr, index).to_numpy(dtype=object)
    cache: dict[str, datetime | None] = {}
    local = []
    for pos, t in enumerate(texts):
        if t is None or t is pd.NA:
            continue
        t = str(t)
        if t not in cache:
            cache[t] = _relative_one(t, today)
        if cache[t] is not None:
            local.append((pos, cache[t]))
    if local:
        at, when = zip(*local, strict=True)
        values = _localize(pd.DatetimeIndex(list(when)), tz)
        out.iloc[list(at)] = values
        ok[list(at)] = True
    return ok, out


def _relative_one(text: str, today: datetime) -> datetime | None:
    """One relative time (see the module doc) on the export day ``today`` (local, midnight)."""
    for pattern, kind in _RELATIVE:
        m = pattern.match(text)
        if not m:
            continue
        g = m.groups()
        try:
            if kind == "today":
                return today.replace(hour=int(g[0]), minute=int(g[1]), second=int(g[2]))
            if kind in ("yesterday", "tomorrow"):
                day = today + timedelta(days=-1 if kind == "yesterday" else 1)
                return day.replace(hour=int(g[0]), minute=int(g[1]))
            if kind == "weekday":
                ahead = (_DAYS[g[0].lower()] - today.weekday()) % 7  # Slurm: 2 to 6 days ahead
                return (today + timedelta(days=ahead)).replace(hour=int(g[1]), minute=int(g[2]))
            month = _MONTHS.get(g[1].lower())
            if month is None:
                return None
            if kind == "day_month":
                return today.replace(month=month, day=int(g[0]), hour=int(g[2]), minute=int(g[3]))
            return datetime(int(g[2]), month, int(g[0]))
        except ValueError:
            return None
    return None
