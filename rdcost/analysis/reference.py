"""The bundled reference tables (``rdcost/refdata/*.csv``) and lookups into them.

Every table keeps the ``source`` and ``as_of`` columns of the research notes
(``rdcost/refdata/README.md``); nothing here invents a number. Lookups:

- :func:`load_table` -- one bundled CSV as a DataFrame (a fresh copy each call);
- :func:`gpu_key` / :func:`gpu_keys` -- a Slurm gres type or nvidia-smi name
  (``gpu:titanx``, ``Tesla P100-PCIE-16GB``, ``a100l.2``) to a ``gpus.csv`` key,
  through a user-overridable alias map;
- :func:`gpu_power` -- rated (TDP per visible device) or measured draw of a key;
- :func:`prices_in_effect` -- the cloud price of each (GPU key, date), vectorized;
- :func:`carbon_intensity` -- grid intensity of a region for a year;
- :func:`series_value` -- a dated series of ``hardware_costs.csv`` (PUE, electricity);
- :func:`comparisons` -- everyday CO2e comparisons (Strubell et al., Table 1).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from rdcost.analysis import gpu_names
from rdcost.errors import AssumptionError, UsageError

#: Name -> bundled file. ``cloud_equivalents`` is rdcost's own join table
#: (GPU types that clouds do not rent -> the cloud GPU priced in their place).
TABLES: dict[str, str] = {
    "gpus": "gpus.csv",
    "cloud_prices": "cloud_prices.csv",
    "carbon_intensity": "carbon_intensity.csv",
    "hardware_costs": "hardware_costs.csv",
    "comparisons": "comparisons.csv",
    "cloud_equivalents": "cloud_equivalents.csv",
    "power_models": "power_models.csv",
    "pue": "pue.csv",
    "embodied": "embodied.csv",
    "energy_defaults": "energy_defaults.csv",
    "embodied_gpus": "embodied_gpus.csv",
    "cpu_power": "cpu_power.csv",
}

#: Pricing models that count as the low (interruptible) end of a price range.
LOW_PRICING_MODELS: tuple[str, ...] = ("preemptible", "spot")
#: Pricing models that count as the high end.
HIGH_PRICING_MODELS: tuple[str, ...] = ("on_demand",)

#: Names that several gpus.csv rows claim, resolved to one key (the table and
#: its rules are :data:`rdcost.analysis.gpu_names.DEFAULT_ALIASES`). Users override any
#: entry (``--gpu-alias titanx=titanx_pascal``, or ``[gpu_aliases]`` in TOML).
DEFAULT_GPU_ALIASES: dict[str, str] = gpu_names.DEFAULT_ALIASES


# -- tables ------------------------------------------------------------------


@cache
def _read(name: str) -> pd.DataFrame:
    ref = resources.files("rdcost") / "refdata" / TABLES[name]
    with ref.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"as_of": "string", "data_year": "string"})


def load_table(name: str) -> pd.DataFrame:
    """One bundled reference table, as written (a copy: callers may change it)."""
    if name not in TABLES:
        raise UsageError(
            f"no reference table named {name!r}",
            value=name,
            hint=f"known tables: {', '.join(TABLES)}",
        )
    return _read(name).copy()


_AS_OF = re.compile(
    r"^\s*(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?|-H(?P<h>[12])|-Q(?P<q>[1-4]))?"
)


def as_of_date(values: pd.Series) -> pd.Series:
    """The first day of the period an ``as_of`` text names, as a UTC timestamp.

    ``2019`` -> 2019-01-01, ``2019-08`` -> 2019-08-01, ``2023-H2`` -> 2023-07-01,
    ``2021-Q2`` -> 2021-04-01, ``2024 (before 2025-01-01 update)`` -> 2024-01-01;
    text without a leading year (``static list (file snapshot)``) -> NaT.
    """
    parts = values.astype("string").str.extract(_AS_OF)
    year = pd.to_numeric(parts["y"], errors="coerce")
    month = pd.to_numeric(parts["m"], errors="coerce")
    month = month.fillna((pd.to_numeric(parts["h"], errors="coerce") - 1) * 6 + 1)
    month = month.fillna((pd.to_numeric(parts["q"], errors="coerce") - 1) * 3 + 1).fillna(1)
    day = pd.to_numeric(parts["d"], errors="coerce").fillna(1)
    text = (
        year.astype("Int64").astype("string")
        + "-"
        + month.astype("Int64").astype("string")
        + "-"
        + day.astype("Int64").astype("string")
    )
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce", utc=True)


def _first_year(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.astype("string").str.extract(r"(\d{4})")[0], errors="coerce")


# -- GPU names ---------------------------------------------------------------
# Matching rules live in rdcost.analysis.gpu_names (self-contained); this section keeps
# the historic entry points and validates user aliases against the tables.

_VENDOR_PREFIXES = ("nvidia", "tesla", "geforce", "amd", "instinct")


def normalize_gpu_name(text: str) -> str:
    """The comparison form of a GPU name: ``gpu:Tesla_V100-PCIE-16GB:2`` -> ``v100pcie16gb``.

    Lower case; a ``gpu:`` prefix, a trailing count and a MIG slice suffix
    (``a100l.2``) dropped; vendor words (NVIDIA, Tesla, GeForce, AMD) dropped;
    everything but letters and digits dropped. (:func:`gpu_key` matches with
    the richer rules of :mod:`rdcost.analysis.gpu_names`.)
    """
    s = str(text).strip().lower()
    s = re.sub(r"^gpu:", "", s)
    s = re.sub(r":\d+$", "", s)
    s = re.sub(r"\.\d+$", "", s)
    s = re.sub(r"[^a-z0-9]", "", s)
    changed = True
    while changed:
        changed = False
        for p in _VENDOR_PREFIXES:
            if s.startswith(p) and len(s) > len(p):
                s = s[len(p) :]
                changed = True
    return s


def ambiguous_gpu_names() -> dict[str, tuple[str, ...]]:
    """Names that more than one gpus.csv row claims (each needs an alias)."""
    return gpu_names.ambiguous_names()


def gpu_match(name: str | None, aliases: dict[str, str] | None = None) -> gpu_names.GpuMatch:
    """How a GPU name maps to a gpus.csv key (:func:`rdcost.analysis.gpu_names.match_gpu`),
    with ``aliases`` validated and winning over :data:`DEFAULT_GPU_ALIASES`."""
    if name is None or (isinstance(name, float) and pd.isna(name)) or name is pd.NA:
        return gpu_names.GpuMatch("", None, "none", "no GPU type")
    return gpu_names.match_gpu(name, _alias_table(aliases))


def gpu_key(name: str | None, aliases: dict[str, str] | None = None) -> str | None:
    """The gpus.csv key of a GPU name, or None when unknown.

    ``aliases`` (any spelling of a name -> key) win over the built-in
    :data:`DEFAULT_GPU_ALIASES`, which win over the names in gpus.csv; a MIG
    slice (``1g.10gb``, ``a100l.2``) gives its parent GPU. Rules:
    :mod:`rdcost.analysis.gpu_names`.
    """
    return gpu_match(name, aliases).key


def gpu_keys(names: pd.Series, aliases: dict[str, str] | None = None) -> pd.Series:
    """:func:`gpu_key` over a column (each distinct name resolved once)."""
    s = names.astype("string")
    uniq = s.dropna().unique()
    table = _alias_table(aliases)
    mapping = {u: gpu_names.match_gpu(u, table).key for u in uniq}
    return s.map(mapping).astype("string")


def _alias_table(aliases: dict[str, str] | None) -> dict[str, str]:
    """User aliases, each target checked to be a key of gpus.csv or cloud_prices.csv."""
    known = set(_read("gpus")["key"]) | set(_read("cloud_prices")["gpu_key"])
    out: dict[str, str] = {}
    for k, v in (aliases or {}).items():
        if v not in known:
            raise AssumptionError(
                f"GPU alias {k}={v}: {v!r} is no key of gpus.csv or cloud_prices.csv",
                value=v,
                hint="see `rdcost/refdata/gpus.csv` for the keys",
            )
        out[str(k)] = v
    return out


@dataclass(frozen=True)
class PowerRow:
    """The draw of one device of a GPU type, as the reference table gives it."""

    gpu_key: str
    power_w: float
    basis: str  # "rated" (TDP per visible device) or "measured" (average draw)
    source: str
    as_of: str


def gpu_power(key: str, basis: str = "rated") -> PowerRow | None:
    """Rated (TDP per visible device) or measured average draw of a GPU key.

    ``basis="measured"`` uses ``measured_avg_w`` where gpus.csv has it and
    falls back to the rated value otherwise (the returned ``basis`` says which).
    """
    if basis not in ("rated", "measured"):
        raise UsageError(f"power basis must be rated or measured, got {basis!r}", value=basis)
    g = _read("gpus")
    rows = g[g["key"] == key]
    if rows.empty:
        return None
    r = rows.iloc[0]
    if basis == "measured" and pd.notna(r["measured_avg_w"]):
        return PowerRow(
            key, float(r["measured_avg_w"]), "measured", str(r["tdp_source"]), str(r["as_of"])
        )
    if pd.isna(r["tdp_w_per_visible_device"]):
        return None
    return PowerRow(
        key, float(r["tdp_w_per_visible_device"]), "rated", str(r["tdp_source"]), str(r["as_of"])
    )


def launch_year(key: str) -> int | None:
    """The launch year of a gpus.csv key (None when the table has none)."""
    g = _read("gpus")
    y = g.loc[g["key"] == key, "launch_year"].dropna()
    return None if y.empty else int(y.iloc[0])


# -- the unidentified GPU ------------------------------------------------------

#: How many years of launches before a job's year count as "the GPUs of that year".
UNIDENTIFIED_WINDOW_YEARS = 4
#: Data-centre GPUs left out of the unidentified GPU's range: boards for one market
#: (A800, H800, H20) and CPU-GPU superchips, which a plain gres/gpu=N job is not on.
_NOT_TYPICAL = ("a800_pcie", "a800_sxm", "h800_sxm", "h20", "gh200", "gb200", "gb300")


@dataclass(frozen=True)
class UnidentifiedGpu:
    """The GPU a job with an unreadable type is taken to run on in ``year``: the NVIDIA
    data-centre GPUs launched in the :data:`UNIDENTIFIED_WINDOW_YEARS` years up to it."""

    year: int
    keys: tuple[str, ...]
    power_w_low: float
    power_w_central: float  # the median rated power of ``keys``
    power_w_high: float
    first_year: int
    source: str

    def describe(self) -> str:
        names = ", ".join(self.keys)
        return (
            f"the NVIDIA data-centre GPUs launched {self.first_year}-{self.year} ({names}); rated "
            f"{self.power_w_low:g}-{self.power_w_high:g} W, median {self.power_w_central:g} W"
        )


@cache
def unidentified_gpu(year: int) -> UnidentifiedGpu:
    """The unidentified GPU of ``year`` (see :class:`UnidentifiedGpu`); the window moves
    back to the earliest launches for years before them."""
    g = _read("gpus")
    dc = g[
        (g["segment"] == "datacenter")
        & (g["vendor"] == "NVIDIA")
        & g["tdp_w_per_visible_device"].notna()
        & g["launch_year"].notna()
        & ~g["key"].isin(_NOT_TYPICAL)
    ]
    year = max(int(year), int(dc["launch_year"].min()))
    first = year - UNIDENTIFIED_WINDOW_YEARS
    rows = dc[(dc["launch_year"] >= first) & (dc["launch_year"] <= year)].sort_values(
        ["launch_year", "key"]
    )
    w = rows["tdp_w_per_visible_device"].astype(float)
    return UnidentifiedGpu(
        year,
        tuple(rows["key"]),
        float(w.min()),
        float(w.median()),
        float(w.max()),
        first,
        "refdata gpus.csv: tdp_w_per_visible_device of those rows (their tdp_source)",
    )


# -- prices ------------------------------------------------------------------


def cloud_equivalents() -> dict[str, str]:
    """GPU key -> the cloud GPU key priced in its place (rdcost's join table)."""
    t = _read("cloud_equivalents")
    return dict(zip(t["gpu_key"], t["cloud_gpu_key"], strict=True))


def price_rows(provider: str, pricing_models: tuple[str, ...]) -> pd.DataFrame:
    """Rows of cloud_prices.csv for a provider and pricing models, with ``as_of_date``."""
    p = _read("cloud_prices")
    rows = p[
        (p["provider"] == provider)
        & p["pricing_model"].isin(pricing_models)
        & p["usd_per_gpu_hour"].notna()
    ].copy()
    rows["as_of_date"] = as_of_date(rows["as_of"])
    rows["price_row"] = rows.index + 2  # line in the CSV (header = line 1)
    return rows


def prices_in_effect(
    keys: pd.Series, dates: pd.Series, provider: str, pricing_models: tuple[str, ...]
) -> pd.DataFrame:
    """The price in effect for each (GPU key, date), aligned with ``keys``.

    For each key, the row with the latest ``as_of`` on or before the date; when
    every row of the key is later, the earliest one (``is_price_before_known``
    True); of several rows with the same date, the first in the file; rows
    whose ``as_of`` has no date are used only for keys without dated rows.
    Keys with no row get nulls. Columns: usd_per_gpu_hour,
    pricing_model, as_of, source, price_row, is_price_before_known.
    """
    cols = ["usd_per_gpu_hour", "pricing_model", "as_of", "source", "price_row"]
    rows = price_rows(provider, pricing_models).reset_index(drop=True)
    rows["_rid"] = np.arange(len(rows), dtype="float64")
    # as_of dates are days, so the price of a job depends on its key and its day only:
    # look each distinct (key, day) up once, then spread the row ids to the jobs
    left = pd.DataFrame(
        {
            "gpu_key": keys.astype("string").reset_index(drop=True),
            "day": pd.to_datetime(dates, utc=True).dt.floor("D").reset_index(drop=True),
        }
    )
    ok = (left["gpu_key"].notna() & left["day"].notna()).to_numpy()
    left = left[ok].astype({"day": "datetime64[ns, UTC]", "gpu_key": "string"})
    uniq = left.drop_duplicates().sort_values("day", kind="stable")
    dated = rows[rows["as_of_date"].notna()].drop_duplicates(["gpu_key", "as_of_date"])
    dated = dated.sort_values("as_of_date", kind="stable")
    right = dated[["gpu_key", "as_of_date", "_rid"]].astype(
        {"as_of_date": "datetime64[ns, UTC]", "gpu_key": "string"}
    )
    back = pd.merge_asof(
        uniq, right, left_on="day", right_on="as_of_date", by="gpu_key", direction="backward"
    )
    fwd = pd.merge_asof(
        uniq, right, left_on="day", right_on="as_of_date", by="gpu_key", direction="forward"
    )
    back["before"] = back["_rid"].isna() & fwd["_rid"].notna()
    back["_rid"] = back["_rid"].fillna(fwd["_rid"])
    undated = (
        rows[rows["as_of_date"].isna()].drop_duplicates("gpu_key").set_index("gpu_key")["_rid"]
    )
    back["_rid"] = back["_rid"].fillna(back["gpu_key"].map(undated).astype("float64"))
    per_job = left.merge(
        back[["gpu_key", "day", "_rid", "before"]], on=["gpu_key", "day"], how="left"
    )
    rid = np.full(len(keys), -1, dtype="int64")
    rid[ok] = per_job["_rid"].fillna(-1).to_numpy().astype("int64")
    before = np.zeros(len(keys), dtype=bool)
    before[ok] = per_job["before"].fillna(False).to_numpy(dtype=bool)
    found, take = rid >= 0, np.clip(rid, 0, None)
    if rows.empty:
        rows = pd.concat([rows, pd.DataFrame({c: [None] for c in cols})], ignore_index=True)
    out = pd.DataFrame({c: rows[c].iloc[take].reset_index(drop=True).where(found) for c in cols})
    out.index = keys.index
    out["usd_per_gpu_hour"] = pd.to_numeric(out["usd_per_gpu_hour"]).astype("float64")
    out["price_row"] = out["price_row"].astype("Int64")
    out["is_price_before_known"] = before
    return out


def priced_keys(provider: str) -> set[str]:
    """GPU keys with at least one price row for the provider."""
    p = _read("cloud_prices")
    return set(p.loc[p["provider"] == provider, "gpu_key"])


# -- carbon, PUE, electricity, comparisons ------------------------------------


@dataclass(frozen=True)
class CarbonRow:
    kg_co2e_per_kwh: float
    region_code: str
    region_name: str
    data_year: int | None
    metric: str
    source: str
    as_of: str
    note: str | None  # set when the rule had to fall back


def carbon_intensity(region: str, year: int | None) -> CarbonRow:
    """Grid carbon intensity of a region (code or name, any case) for a year.

    Rule: among the rows of the region, the latest ``data_year`` on or before
    ``year`` (the latest of all when year is None, the earliest when every row
    is later), preferring CO2e metrics over CO2-only ones (the figures rdcost
    prints are CO2e), then the latest ``as_of``.
    """
    c = _read("carbon_intensity")
    want = region.strip().lower()
    rows = c[
        (c["region_code"].astype("string").str.lower() == want)
        | (c["region_name"].astype("string").str.lower() == want)
    ].copy()
    if rows.empty:
        raise AssumptionError(
            f"no carbon intensity for region {region!r} in carbon_intensity.csv",
            value=region,
            hint="give a region code or name of the table (US, WORLD, DEU, "
            "us-central1, ...) or a value with --kg-co2e-per-kwh",
        )
    rows["year"] = _first_year(rows["data_year"])
    rows["is_co2e"] = (
        rows["metric"]
        .astype("string")
        .str.contains(r"CO2e|carbon intensity", case=False, regex=True)
    )
    rows["as_of_date"] = as_of_date(rows["as_of"])
    note = None
    pool = rows
    if year is not None:
        pool = rows[rows["year"] <= year]
        if pool.empty:
            first = rows["year"].min()
            pool = rows[rows["year"] == first]
            note = f"no value for {year} or earlier; the earliest ({first:.0f}) is used"
    pool = pool.sort_values(
        ["is_co2e", "year", "as_of_date"], ascending=False, kind="stable", na_position="last"
    )
    r = pool.iloc[0]
    return CarbonRow(
        float(r["g_co2e_per_kwh"]) / 1000.0,
        str(r["region_code"]),
        str(r["region_name"]),
        None if pd.isna(r["year"]) else int(r["year"]),
        str(r["metric"]),
        str(r["source"]),
        str(r["as_of"]),
        note,
    )


@dataclass(frozen=True)
class SeriesValue:
    value: float
    item: str
    unit: str
    source: str
    as_of: str
    note: str | None


def series_value(category: str, item_glob: str, year: int | None) -> SeriesValue:
    """A value of a dated series of hardware_costs.csv for a year.

    The series is the rows of ``category`` whose ``item`` matches the glob
    (case-insensitive); the row with the latest ``as_of`` year on or before
    ``year`` is used (the latest when year is None, the earliest when all are
    later).
    """
    h = _read("hardware_costs")
    pat = re.compile(fnmatch.translate(item_glob), re.IGNORECASE)
    rows = h[(h["category"] == category) & h["item"].map(lambda s: bool(pat.match(str(s))))].copy()
    if rows.empty:
        raise AssumptionError(
            f"no {category} row matching {item_glob!r} in hardware_costs.csv", value=item_glob
        )
    rows["year"] = _first_year(rows["as_of"])
    rows = rows.sort_values("year", kind="stable")
    note = None
    if year is None:
        r = rows.iloc[-1]
    else:
        earlier = rows[rows["year"] <= year]
        if earlier.empty:
            r = rows.iloc[0]
            note = f"no value for {year} or earlier; the earliest ({int(r['year'])}) is used"
        else:
            r = earlier.iloc[-1]
    return SeriesValue(
        float(r["value"]), str(r["item"]), str(r["unit"]), str(r["source"]), str(r["as_of"]), note
    )


def comparisons(paper_only: bool = True) -> pd.DataFrame:
    """Everyday CO2e comparisons; by default the four of Strubell et al., Table 1.

    Columns: item, value_lbs_co2e, value_kg_co2e, unit, source, as_of; only rows
    with a numeric value.
    """
    t = _read("comparisons").copy()
    t["value_kg_co2e"] = pd.to_numeric(t["value_kg_co2e"], errors="coerce")
    if paper_only:
        t = t[t["value_lbs_co2e"].notna()]
    t = t[t["value_kg_co2e"].notna() | t["value_lbs_co2e"].notna()]
    return t[["item", "value_lbs_co2e", "value_kg_co2e", "unit", "source", "as_of"]].reset_index(
        drop=True
    )
