"""Assumptions behind every cost, energy and carbon figure, each with its origin.

An :class:`Assumptions` holds prices per GPU type (low-high, provider,
pricing model, date, source), power per GPU type (rated, measured or assumed),
PUE, carbon intensity (region, year, source), the electricity price, the size
of one model and of one tuning round, the crash threshold, the GPU-utilisation
threshold and the price date policy. Every value remembers where it came from (``origin``: built-in
default, reference table, preset, TOML file or command-line option) and the
publication behind it (``source``).

Layers are applied in order, later ones winning: built-in defaults, then each
``--assumptions`` preset or TOML file, then command-line options
(:func:`load`, :func:`apply_dict`). Values left unset are filled from the
bundled reference tables for the year the jobs ran (:meth:`Assumptions.for_year`)
or from the data itself (the summary's documented rules).

Prices and power of each job are resolved here (:func:`job_prices`,
:func:`job_power`), vectorized over the job table.
"""

from __future__ import annotations

import copy
import functools
import os
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rdcost.analysis import reference
from rdcost.analysis.costing import KG_PER_LB
from rdcost.analysis.energy import settings as energy_settings
from rdcost.analysis.energy.settings import EnergySettings
from rdcost.analysis.energy.settings import table as _table
from rdcost.errors import AssumptionError, UsageError

DEFAULT_NAME = "default"
#: hardware_costs.csv series used when PUE / electricity are not given.
PUE_SERIES = ("pue", "*Uptime*")
ELECTRICITY_SERIES = ("electricity_price", "US average industrial electricity price *")
PRICE_DATE_POLICIES = ("job_start", "today")
POWER_BASES = ("rated", "measured")


@dataclass(frozen=True)
class Sourced:
    """A number with its unit, the publication behind it and how it got here."""

    value: float
    unit: str
    source: str
    origin: str
    as_of: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class PriceRange:
    """Cloud price of one GPU (or device) hour: low (interruptible) to high (on-demand)."""

    usd_per_gpu_hour_low: float
    usd_per_gpu_hour_high: float
    provider: str
    pricing_model_low: str
    pricing_model_high: str
    as_of: str
    source: str
    origin: str
    note: str | None = None


@dataclass(frozen=True)
class PowerDraw:
    """Average draw of one GPU (or device) while a job holds it."""

    power_w: float
    basis: str  # rated | measured | assumed
    source: str
    origin: str
    note: str | None = None


@dataclass(frozen=True)
class Carbon:
    """Grid carbon intensity used for CO2e."""

    kg_co2e_per_kwh: float
    region: str | None
    year: int | None
    source: str
    origin: str
    as_of: str | None = None
    note: str | None = None

    @property
    def lbs_co2e_per_kwh(self) -> float:
        return self.kg_co2e_per_kwh / KG_PER_LB


def _default_crash() -> Sourced:
    return Sourced(
        5.0,
        "minutes",
        "rdcost default within the 3-5 minute range of issue 4; Strubell et al. (2019) read "
        "their 3-minute shortest job as a crash",
        "built-in default",
    )


#: The default GPU-utilisation threshold (percent): a job whose GPUs' mean utilisation
#: over its run is below it counts as under-used (docs/summarize.md, "Utilization waste").
DEFAULT_UTIL_THRESHOLD_PERCENT = 10.0


def _default_util_threshold() -> Sourced:
    return Sourced(
        DEFAULT_UTIL_THRESHOLD_PERCENT,
        "percent",
        "rdcost default (issue 16): a job whose GPUs' mean utilisation over the run is below "
        "this is under-used; 0% is reported on its own",
        "built-in default",
    )


@dataclass(frozen=True)
class Assumptions:
    """Everything a summary or estimate assumes. ``None`` = derive (from refdata or data)."""

    name: str = DEFAULT_NAME
    layers: tuple[str, ...] = ("built-in defaults",)
    prices: Mapping[str, PriceRange] = field(default_factory=dict)
    cloud_equivalents: Mapping[str, str] = field(default_factory=dict)
    price_provider: str = "gcp"
    price_date: str = "job_start"  # job_start | today | YYYY-MM-DD
    power: Mapping[str, PowerDraw] = field(default_factory=dict)
    power_basis: str = "rated"
    pue: Sourced | None = None
    carbon: Carbon | None = None
    carbon_region: str = "US"
    carbon_year: int | None = None
    electricity_usd_per_kwh: Sourced | None = None
    one_model_gpu_hours: Sourced | None = None
    tuning_round_n_jobs: Sourced | None = None
    crash_threshold_minutes: Sourced = field(default_factory=_default_crash)
    util_threshold_percent: Sourced = field(default_factory=_default_util_threshold)
    gpu_aliases: Mapping[str, str] = field(default_factory=dict)
    gpu_partitions: Mapping[str, str] = field(default_factory=dict)  # [gpu_sites.partitions]
    gpu_nodes: Mapping[str, str] = field(default_factory=dict)  # [gpu_sites.nodes]: glob -> key
    energy: EnergySettings = field(default_factory=EnergySettings)  # [energy], [site], ...

    def environment(self) -> tuple[Sourced, Carbon, Sourced]:
        """PUE, carbon intensity and electricity price of year-resolved assumptions
        (:meth:`for_year` always sets all three)."""
        if self.pue is None or self.carbon is None or self.electricity_usd_per_kwh is None:
            raise AssumptionError(
                "PUE, carbon intensity and electricity price are unresolved: call for_year() first"
            )
        return self.pue, self.carbon, self.electricity_usd_per_kwh

    # -- filling from the reference tables ----------------------------------
    def for_year(self, year: int | None) -> Assumptions:
        """PUE, carbon intensity and electricity price filled from refdata where unset.

        ``year`` is the year the jobs ran (None: the latest value). Rules:
        PUE = the Uptime Institute global survey average series of
        hardware_costs.csv; electricity = the US industrial average series;
        carbon = :func:`rdcost.analysis.reference.carbon_intensity` for
        ``carbon_region`` and ``carbon_year`` (default: ``year``).
        """
        a = replace(self, energy=replace(self.energy, year=year))
        site_pue = a.energy.site.pue_for(year) if a.pue is None else None
        if site_pue is not None:
            a = replace(
                a,
                pue=Sourced(
                    site_pue.central,
                    "ratio",
                    site_pue.source,
                    f"site table ({site_pue.origin})",
                    site_pue.as_of,
                    site_pue.rule,
                ),
            )
        if a.pue is None:
            v = reference.series_value(*PUE_SERIES, year)
            a = replace(
                a,
                pue=Sourced(
                    v.value,
                    "ratio",
                    v.source,
                    f"refdata hardware_costs.csv: {v.item}",
                    v.as_of,
                    v.note,
                ),
            )
        if a.electricity_usd_per_kwh is None:
            v = reference.series_value(*ELECTRICITY_SERIES, year)
            a = replace(
                a,
                electricity_usd_per_kwh=Sourced(
                    v.value,
                    "USD per kWh",
                    v.source,
                    f"refdata hardware_costs.csv: {v.item}",
                    v.as_of,
                    v.note,
                ),
            )
        if a.carbon is None:
            cy = a.carbon_year if a.carbon_year is not None else year
            c = reference.carbon_intensity(a.carbon_region, cy)
            a = replace(
                a,
                carbon=Carbon(
                    c.kg_co2e_per_kwh,
                    c.region_code,
                    c.data_year,
                    c.source,
                    f"refdata carbon_intensity.csv: {c.region_name}, {c.metric}",
                    c.as_of,
                    c.note,
                ),
            )
        return a

    def to_dict(self) -> dict[str, Any]:
        """The settings as given (not yet resolved per job); JSON-ready."""
        d = asdict(self)
        d["layers"] = list(self.layers)
        return d


# -- loading -------------------------------------------------------------------


def preset_names() -> list[str]:
    """Bundled presets (``rdcost/presets/*.toml``) plus ``default``."""
    names = [
        p.name[:-5]
        for p in (resources.files("rdcost") / "presets").iterdir()
        if p.name.endswith(".toml")
    ]
    return sorted([DEFAULT_NAME, *names])


def load(specs: Sequence[str] = (), base: Assumptions | None = None) -> Assumptions:
    """Built-in defaults, then each spec in order: a preset name or a TOML file path."""
    a = base or Assumptions()
    for layer in read_layers(specs):
        a = apply_dict(a, layer.data, layer.origin)
        a = replace(a, name=layer.name if a.name == DEFAULT_NAME else f"{a.name}+{layer.name}")
    return a


@dataclass(frozen=True)
class Layer:
    """One ``--assumptions`` spec, read: its name (preset name or file stem), its origin
    (``preset NAME`` or ``file PATH``, as errors and origins name it) and the parsed TOML."""

    name: str
    origin: str
    data: dict[str, Any]


def read_layers(specs: Sequence[str]) -> Iterator[Layer]:
    """Each spec in order (``default`` = the built-in defaults, skipped): a bundled preset name,
    else a TOML file path; an error for a spec that is neither or a file that is not valid TOML.

    The one place ``--assumptions`` presets and files are read: :func:`load` applies their
    tables, :func:`rdcost.analysis.buy_vs_cloud.load_owned` their ``[owned]`` table. A file
    is parsed once while it is unchanged (same file, modification time and size); each layer holds
    its own copy of the parsed document. Specs are read one by one as the caller goes on, so
    an error in an earlier layer is reported before a later spec is looked at.
    """
    for spec in specs:
        if spec == DEFAULT_NAME:
            continue
        preset = resources.files("rdcost") / "presets" / f"{spec}.toml"
        if "/" not in spec and not spec.endswith(".toml") and preset.is_file():
            yield Layer(spec, f"preset {spec}", _parsed(preset))
            continue
        path = Path(spec)
        if not path.is_file():
            raise UsageError(
                f"--assumptions {spec!r} is neither a preset nor a file",
                value=spec,
                hint=f"presets: {', '.join(preset_names())}; or a TOML file path",
            )
        yield Layer(path.stem, f"file {path}", _parsed(path))


def _parsed(source: Any) -> dict[str, Any]:
    """The parsed TOML document of a preset or file (a copy: callers may change it)."""
    try:
        st = os.stat(source)
        stamp: tuple[int, ...] | None = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    except TypeError:  # a resource that is not a file on disk (e.g. in a zip)
        stamp = None
    return copy.deepcopy(_parse_toml(source, stamp))


@functools.lru_cache(maxsize=64)
def _parse_toml(source: Any, stamp: tuple[int, ...] | None) -> dict[str, Any]:
    """Parsed once per file version (``stamp``: device, inode, modification time, size)."""
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AssumptionError(f"invalid TOML: {exc}", path=str(source)) from exc


_TOP = {
    "name",
    "description",
    "price_provider",
    "price_date",
    "power_basis",
    "pue",
    "carbon",
    "electricity",
    "one_model",
    "tuning_round",
    "crash",
    "utilization",
    "prices",
    "gpu_power",
    "cloud_equivalents",
    "gpu_aliases",
    "gpu_sites",
    "owned",
    *energy_settings.TABLES,
}  # [owned]: read by rdcost.analysis.buy_vs_cloud.load_owned (compare-buy-vs-cloud)


def apply_dict(a: Assumptions, data: Mapping[str, Any], origin: str) -> Assumptions:
    """Apply one layer (a parsed TOML document, or options shaped like one).

    The format is documented in docs/summarize.md ("Assumptions files"). Unknown
    keys and invalid values raise :class:`AssumptionError` naming the layer.
    """
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise AssumptionError(
            f"{origin}: unknown key(s) {unknown}",
            value=", ".join(unknown),
            hint=f"known keys: {', '.join(sorted(_TOP))}",
        )
    ch: dict[str, Any] = {"layers": (*a.layers, origin)}
    if "price_provider" in data:
        ch["price_provider"] = _text(data["price_provider"], origin, "price_provider")
    if "price_date" in data:
        ch["price_date"] = _price_date(data["price_date"], origin)
    if "power_basis" in data:
        pb = _text(data["power_basis"], origin, "power_basis")
        if pb not in POWER_BASES:
            raise AssumptionError(f"{origin}: power_basis must be rated or measured", value=pb)
        ch["power_basis"] = pb
    if "pue" in data:
        t = _table(data["pue"], origin, "pue", {"value", "source", "as_of", "note"})
        v = _number(t, "value", origin, "pue")
        if v < 1:
            raise AssumptionError(
                f"{origin}: PUE must be at least 1 (facility / IT energy)", value=str(v)
            )
        ch["pue"] = Sourced(
            v, "ratio", _source(t, origin), origin, _opt(t, "as_of"), _opt(t, "note")
        )
    if "carbon" in data:
        ch.update(_carbon(data["carbon"], origin, a))
    if "electricity" in data:
        t = _table(
            data["electricity"], origin, "electricity", {"usd_per_kwh", "source", "as_of", "note"}
        )
        ch["electricity_usd_per_kwh"] = Sourced(
            _number(t, "usd_per_kwh", origin, "electricity", zero_ok=True),
            "USD per kWh",
            _source(t, origin),
            origin,
            _opt(t, "as_of"),
            _opt(t, "note"),
        )
    if "one_model" in data:
        t = _table(data["one_model"], origin, "one_model", {"gpu_hours", "source", "note"})
        ch["one_model_gpu_hours"] = Sourced(
            _number(t, "gpu_hours", origin, "one_model"),
            "GPU-hours",
            _source(t, origin),
            origin,
            None,
            _opt(t, "note"),
        )
    if "tuning_round" in data:
        t = _table(data["tuning_round"], origin, "tuning_round", {"n_jobs", "source", "note"})
        n = _number(t, "n_jobs", origin, "tuning_round")
        if not n.is_integer():
            raise AssumptionError(
                f"{origin}: tuning_round.n_jobs must be a whole number of jobs", value=str(n)
            )
        ch["tuning_round_n_jobs"] = Sourced(
            n, "jobs", _source(t, origin), origin, None, _opt(t, "note")
        )
    if "crash" in data:
        t = _table(data["crash"], origin, "crash", {"threshold_minutes", "source", "note"})
        ch["crash_threshold_minutes"] = Sourced(
            _number(t, "threshold_minutes", origin, "crash"),
            "minutes",
            _source(t, origin),
            origin,
            None,
            _opt(t, "note"),
        )
    if "utilization" in data:
        t = _table(
            data["utilization"], origin, "utilization", {"threshold_percent", "source", "note"}
        )
        v = _number(t, "threshold_percent", origin, "utilization")
        if v > 100:
            raise AssumptionError(
                f"{origin}: utilization.threshold_percent must be at most 100", value=str(v)
            )
        ch["util_threshold_percent"] = Sourced(
            v, "percent", _source(t, origin), origin, None, _opt(t, "note")
        )
    if "gpu_aliases" in data:
        aliases = dict(a.gpu_aliases)
        for k, v in _table(data["gpu_aliases"], origin, "gpu_aliases", None).items():
            aliases[str(k)] = _text(v, origin, f"gpu_aliases.{k}")
        reference.gpu_key("probe", aliases)  # validates the targets
        ch["gpu_aliases"] = aliases
    if "gpu_sites" in data:
        t = _table(data["gpu_sites"], origin, "gpu_sites", {"partitions", "nodes"})
        for sub, attr in (("partitions", "gpu_partitions"), ("nodes", "gpu_nodes")):
            if sub in t:
                m = dict(getattr(a, attr))
                for k, v in _table(t[sub], origin, f"gpu_sites.{sub}", None).items():
                    name = _text(v, origin, f"gpu_sites.{sub}.{k}")
                    key = reference.gpu_key(name, dict(a.gpu_aliases))
                    if key is None:
                        raise AssumptionError(
                            f"{origin}: gpu_sites.{sub}.{k}: {name!r} is no known GPU",
                            value=name,
                            hint="use a gpus.csv key or a GPU name, e.g. a100_80_sxm",
                        )
                    m[str(k)] = key
                ch[attr] = m
    if "cloud_equivalents" in data:
        eq = dict(a.cloud_equivalents)
        for k, v in _table(data["cloud_equivalents"], origin, "cloud_equivalents", None).items():
            eq[str(k)] = _text(v, origin, f"cloud_equivalents.{k}")
        ch["cloud_equivalents"] = eq
    if "prices" in data:
        ch["prices"] = _prices(data["prices"], origin, a)
    if "gpu_power" in data:
        ch["power"] = _power(data["gpu_power"], origin, a)
    if any(k in data for k in energy_settings.TABLES):
        ch["energy"] = energy_settings.apply(a.energy, data, origin)
        if isinstance(data.get("site"), dict) and "pue" in data["site"] and "pue" not in data:
            ch["pue"] = None  # the site's PUE table decides, for the jobs' year (for_year)
    return replace(a, **ch)


def override_all_prices(a: Assumptions, low: float, high: float, origin: str) -> Assumptions:
    """One price range for every GPU type (replaces all per-type prices)."""
    a = replace(a, prices={}, cloud_equivalents={})
    return apply_dict(
        a,
        {
            "prices": {
                "*": {
                    "usd_per_gpu_hour_low": low,
                    "usd_per_gpu_hour_high": high,
                    "source": f"given by {origin}",
                }
            }
        },
        origin,
    )


def override_all_power(a: Assumptions, power_w: float, origin: str) -> Assumptions:
    """One draw for every GPU type (replaces all per-type power values)."""
    a = replace(a, power={})
    return apply_dict(
        a,
        {
            "gpu_power": {
                "*": {"power_w": power_w, "basis": "assumed", "source": f"given by {origin}"}
            }
        },
        origin,
    )


def _carbon(raw: Any, origin: str, a: Assumptions) -> dict[str, Any]:
    t = _table(
        raw,
        origin,
        "carbon",
        {"kg_co2e_per_kwh", "lbs_co2e_per_kwh", "region", "year", "source", "as_of", "note"},
    )
    out: dict[str, Any] = {}
    region = _opt(t, "region")
    year = t.get("year")
    if year is not None and not isinstance(year, int):
        raise AssumptionError(f"{origin}: carbon.year must be an integer", value=str(year))
    if region is not None:
        out["carbon_region"] = region
    if year is not None:
        out["carbon_year"] = year
    if "kg_co2e_per_kwh" in t and "lbs_co2e_per_kwh" in t:
        raise AssumptionError(f"{origin}: give carbon intensity in kg or in lbs, not both")
    if "kg_co2e_per_kwh" in t or "lbs_co2e_per_kwh" in t:
        if "kg_co2e_per_kwh" in t:
            kg = _number(t, "kg_co2e_per_kwh", origin, "carbon", zero_ok=True)
            note = _opt(t, "note")
        else:
            lbs = _number(t, "lbs_co2e_per_kwh", origin, "carbon", zero_ok=True)
            kg = lbs * KG_PER_LB
            note = _opt(t, "note") or f"given as {lbs:g} lbs CO2e/kWh"
        out["carbon"] = Carbon(kg, region, year, _source(t, origin), origin, _opt(t, "as_of"), note)
    else:
        out["carbon"] = None  # region/year changed: look the value up again
    return out


def _prices(raw: Any, origin: str, a: Assumptions) -> dict[str, PriceRange]:
    prices = dict(a.prices)
    keys = {
        "usd_per_gpu_hour_low",
        "usd_per_gpu_hour_high",
        "provider",
        "pricing_model_low",
        "pricing_model_high",
        "as_of",
        "source",
        "note",
        "stand_in",
    }
    entries = _table(raw, origin, "prices", None)

    # plain entries first, so a stand_in can name a key of the same layer
    def is_stand_in(item: tuple[str, Any]) -> bool:
        return isinstance(item[1], dict) and "stand_in" in item[1]

    for key, v in sorted(entries.items(), key=is_stand_in):
        where = f"prices.{key}"
        t = _table(v, origin, where, keys)
        if "stand_in" in t:
            target = _text(t["stand_in"], origin, f"{where}.stand_in")
            if target not in prices:
                raise AssumptionError(
                    f"{origin}: {where}.stand_in names {target!r}, which has no price", value=target
                )
            p = prices[target]
            prices[str(key)] = replace(
                p, origin=origin, note=_opt(t, "note") or f"{target} prices used"
            )
            continue
        low = _number(t, "usd_per_gpu_hour_low", origin, where, zero_ok=True)
        high = _number(t, "usd_per_gpu_hour_high", origin, where, zero_ok=True)
        if low > high:
            raise AssumptionError(f"{origin}: {where}: low price {low} is above high price {high}")
        prices[str(key)] = PriceRange(
            low,
            high,
            _opt(t, "provider") or "unspecified",
            _opt(t, "pricing_model_low") or "low",
            _opt(t, "pricing_model_high") or "high",
            _opt(t, "as_of") or "unknown",
            _source(t, origin),
            origin,
            _opt(t, "note"),
        )
    return prices


def _power(raw: Any, origin: str, a: Assumptions) -> dict[str, PowerDraw]:
    power = dict(a.power)
    for key, v in _table(raw, origin, "gpu_power", None).items():
        where = f"gpu_power.{key}"
        t = _table(v, origin, where, {"power_w", "basis", "source", "note"})
        basis = _opt(t, "basis") or "assumed"
        if basis not in ("rated", "measured", "assumed"):
            raise AssumptionError(
                f"{origin}: {where}.basis must be rated, measured or assumed", value=basis
            )
        power[str(key)] = PowerDraw(
            _number(t, "power_w", origin, where), basis, _source(t, origin), origin, _opt(t, "note")
        )
    return power


def _number(
    t: Mapping[str, Any], key: str, origin: str, where: str, zero_ok: bool = False
) -> float:
    if key not in t:
        raise AssumptionError(f"{origin}: {where}.{key} is missing")
    v = t[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise AssumptionError(f"{origin}: {where}.{key} must be a number", value=str(v))
    v = float(v)
    if v != v or v < 0 or (v == 0 and not zero_ok):
        raise AssumptionError(
            f"{origin}: {where}.{key} must be {'>= 0' if zero_ok else '> 0'}", value=str(v)
        )
    return v


def _text(v: Any, origin: str, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise AssumptionError(f"{origin}: {where} must be a non-empty string", value=str(v))
    return v.strip()


def _opt(t: Mapping[str, Any], key: str) -> str | None:
    v = t.get(key)
    return None if v is None else str(v)


def _source(t: Mapping[str, Any], origin: str) -> str:
    return str(t.get("source") or f"given by {origin}")


def _price_date(v: Any, origin: str) -> str:
    s = _text(v, origin, "price_date")
    if s in PRICE_DATE_POLICIES:
        return s
    try:
        pd.Timestamp(s)
    except ValueError as exc:
        raise AssumptionError(
            f"{origin}: price_date must be job_start, today or a date (YYYY-MM-DD)", value=s
        ) from exc
    return s


# -- per-job resolution ----------------------------------------------------------

#: A price row's values, as the price table gives them per day and key.
PRICE_VALUE_COLUMNS = [
    "usd_per_gpu_hour_low",
    "usd_per_gpu_hour_high",
    "price_provider",
    "pricing_model_low",
    "pricing_model_high",
    "price_as_of_low",
    "price_as_of_high",
    "price_source",
]
PRICE_COLUMNS = [
    "price_key",
    "price_rule",
    *PRICE_VALUE_COLUMNS,
    "price_note",
    "is_price_before_known",
]


def price_dates(a: Assumptions, start_time: pd.Series, today: pd.Timestamp) -> pd.Series:
    """The date whose prices apply to each job under the price date policy."""
    if a.price_date == "job_start":
        return pd.to_datetime(start_time, utc=True)
    when = today if a.price_date == "today" else pd.Timestamp(a.price_date)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    return pd.Series(when, index=start_time.index)


def price_plan(a: Assumptions, key: str | None) -> tuple[str, str | None, str]:
    """How the price of one GPU key is found: (rule, key priced, explanation).

    rule is ``fixed`` (an assumptions price), ``table`` (cloud_prices.csv by
    date) or ``missing``. Order: a price for the key itself; for its cloud
    equivalent (user map, else ``*`` of the user map, else the bundled
    cloud_equivalents.csv); the ``*`` price; the table's rows for the key,
    then for its equivalent.
    """
    bundled = reference.cloud_equivalents()
    eq = None
    if key is not None:
        eq = a.cloud_equivalents.get(key) or a.cloud_equivalents.get("*") or bundled.get(key)
    if key is not None and key in a.prices:
        return "fixed", key, f"price for {key}"
    if eq is not None and eq in a.prices:
        return "fixed", eq, f"{key} priced as {eq} (cloud equivalent)"
    if "*" in a.prices:
        return "fixed", "*", f"{key or 'unknown GPU type'} priced at the price for any GPU ('*')"
    table = reference.priced_keys(a.price_provider)
    if key is not None and key in table:
        return "table", key, f"{a.price_provider} price list for {key}"
    if eq is not None and eq in table:
        return (
            "table",
            eq,
            f"{key} priced as {eq} (cloud equivalent), {a.price_provider} price list",
        )
    return "missing", None, f"no {a.price_provider} price for {key or 'unknown GPU type'}"


def job_prices(
    a: Assumptions,
    keys: pd.Series,
    start_time: pd.Series,
    today: pd.Timestamp,
    fallback: bool = False,
) -> pd.DataFrame:
    """Price range of each job's GPU type (columns :data:`PRICE_COLUMNS`), aligned with keys.

    Fixed prices come from the assumptions; table prices are the rows of
    cloud_prices.csv in effect on each job's price date (see
    :func:`rdcost.analysis.reference.prices_in_effect`). Missing prices stay null,
    unless ``fallback``: then they are the price range of the GPUs of the job's year
    (:func:`year_range_prices`, rule ``year_range``), as is the price of the
    unidentified GPU.
    """
    out = _job_prices(a, keys, start_time, today)
    need = out["price_rule"].eq("missing").to_numpy(dtype=bool)
    unid = keys.astype("string").eq("unidentified").fillna(False).to_numpy(dtype=bool)
    need = need & (unid | fallback) & keys.notna().to_numpy(dtype=bool)
    if need.any():
        dates = price_dates(a, start_time[need], today)
        yr = year_range_prices(a, dates)
        why = keys.astype("string")[need].map(
            lambda k: "an unidentified GPU" if k == "unidentified" else f"{k} (no cloud price)"
        )
        for c in PRICE_VALUE_COLUMNS:
            out[c] = out[c].astype(object)
            out.loc[need, c] = yr[c].to_numpy()
        out.loc[need, "price_rule"] = "year_range"
        out.loc[need, "price_key"] = yr["price_key"].to_numpy()
        out.loc[need, "price_note"] = (
            why + " priced as " + yr["price_note"].astype(str)
        ).to_numpy()
        out.loc[need, "is_price_before_known"] = yr["is_price_before_known"].to_numpy()
        for c in ("usd_per_gpu_hour_low", "usd_per_gpu_hour_high"):
            out[c] = pd.to_numeric(out[c]).astype("float64")
        out["is_price_before_known"] = out["is_price_before_known"].astype(bool)
    return out


def year_range_prices(a: Assumptions, dates: pd.Series) -> pd.DataFrame:
    """Per date: the price range of the data-centre GPUs of its year
    (:func:`rdcost.analysis.reference.unidentified_gpu`): the lowest low price and the
    highest high price in effect on that date among them (or their cloud equivalents)."""
    days = pd.to_datetime(dates, utc=True).dt.floor("D")
    uniq = pd.Series(days.dropna().unique())
    rows = []
    bundled = reference.cloud_equivalents()
    priced = reference.priced_keys(a.price_provider)
    for day in uniq:
        g = reference.unidentified_gpu(day.year)
        cands = sorted({k if k in priced else bundled.get(k, k) for k in g.keys} & priced)
        ks, ds = pd.Series(cands, dtype="string"), pd.Series([day] * len(cands))
        lo = reference.prices_in_effect(ks, ds, a.price_provider, reference.LOW_PRICING_MODELS)
        hi = reference.prices_in_effect(ks, ds, a.price_provider, reference.HIGH_PRICING_MODELS)
        i_lo, i_hi = lo["usd_per_gpu_hour"].idxmin(), hi["usd_per_gpu_hour"].idxmax()
        ok = pd.notna(i_lo) and pd.notna(i_hi)
        rows.append(
            {
                "day": day,
                "usd_per_gpu_hour_low": lo["usd_per_gpu_hour"].min() if ok else np.nan,
                "usd_per_gpu_hour_high": hi["usd_per_gpu_hour"].max() if ok else np.nan,
                "price_provider": a.price_provider,
                "pricing_model_low": lo.at[i_lo, "pricing_model"] if ok else None,
                "pricing_model_high": hi.at[i_hi, "pricing_model"] if ok else None,
                "price_as_of_low": lo.at[i_lo, "as_of"] if ok else None,
                "price_as_of_high": hi.at[i_hi, "as_of"] if ok else None,
                "price_source": "; ".join(
                    dict.fromkeys(str(x) for x in (lo.at[i_lo, "source"], hi.at[i_hi, "source"]))
                )
                if ok
                else None,
                "price_key": f"{g.first_year}-{g.year} GPUs",
                "price_note": (
                    f"the range of the {len(cands)} priced data-centre GPUs launched {g.first_year}-{g.year} "
                    f"({cands[0] if cands else '-'} to {cands[-1] if cands else '-'}; lowest "
                    f"{lo.at[i_lo, 'usd_per_gpu_hour'] if ok else 'unknown'}: "
                    f"{ks[i_lo] if ok else '-'}, highest: {ks[i_hi] if ok else '-'})"
                ),
                "is_price_before_known": bool(
                    lo["is_price_before_known"].any() or hi["is_price_before_known"].any()
                ),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        table = pd.DataFrame(
            columns=[
                "day",
                *PRICE_VALUE_COLUMNS,
                "price_key",
                "price_note",
                "is_price_before_known",
            ]
        )
    out = pd.DataFrame({"day": days}).merge(table, on="day", how="left")
    out.index = dates.index
    return out


def _job_prices(
    a: Assumptions, keys: pd.Series, start_time: pd.Series, today: pd.Timestamp
) -> pd.DataFrame:
    idx = keys.index
    codes, uniq = pd.factorize(keys.astype("string"), use_na_sentinel=False)
    plans = [price_plan(a, None if pd.isna(u) else str(u)) for u in uniq]

    def per_key(values: list[Any]) -> pd.Series:
        """Spread one value per distinct key to the jobs."""
        return pd.Series(np.asarray(values, dtype=object)[codes], index=idx)

    rule, pkey = per_key([p[0] for p in plans]), per_key([p[1] for p in plans])
    table = (rule == "table").astype(bool)

    def fixed_col(attr: str) -> pd.Series:
        return per_key(
            [getattr(a.prices[p[1]], attr) if p[0] == "fixed" and p[1] else None for p in plans]
        )

    cols: dict[str, pd.Series] = {
        "price_key": pkey,
        "price_rule": rule,
        "usd_per_gpu_hour_low": fixed_col("usd_per_gpu_hour_low"),
        "usd_per_gpu_hour_high": fixed_col("usd_per_gpu_hour_high"),
        "price_provider": fixed_col("provider"),
        "pricing_model_low": fixed_col("pricing_model_low"),
        "pricing_model_high": fixed_col("pricing_model_high"),
        "price_as_of_low": fixed_col("as_of"),
        "price_as_of_high": fixed_col("as_of"),
        "price_source": fixed_col("source"),
        "price_note": per_key([p[2] for p in plans]),
        "is_price_before_known": pd.Series(False, index=idx),
    }
    if table.any():
        dates = price_dates(a, start_time[table], today)
        lo = reference.prices_in_effect(
            pkey[table], dates, a.price_provider, reference.LOW_PRICING_MODELS
        ).reindex(idx)
        hi = reference.prices_in_effect(
            pkey[table], dates, a.price_provider, reference.HIGH_PRICING_MODELS
        ).reindex(idx)
        for col, val in (
            ("usd_per_gpu_hour_low", lo["usd_per_gpu_hour"]),
            ("usd_per_gpu_hour_high", hi["usd_per_gpu_hour"]),
            ("price_provider", pd.Series(a.price_provider, index=idx)),
            ("pricing_model_low", lo["pricing_model"]),
            ("pricing_model_high", hi["pricing_model"]),
            ("price_as_of_low", lo["as_of"]),
            ("price_as_of_high", hi["as_of"]),
            ("price_source", hi["source"].where(hi["source"].notna(), lo["source"])),
        ):
            cols[col] = cols[col].where(~table, val.astype(object))
        before = lo["is_price_before_known"].fillna(False) | hi["is_price_before_known"].fillna(
            False
        )
        cols["is_price_before_known"] = before.astype(bool) & table
    out = pd.DataFrame(cols, index=idx)[PRICE_COLUMNS]
    for c in ("usd_per_gpu_hour_low", "usd_per_gpu_hour_high"):
        out[c] = pd.to_numeric(out[c]).astype("float64")
    out["is_price_before_known"] = out["is_price_before_known"].astype(bool)
    return out


def hardware_price(
    a: Assumptions, key: str | None, when: pd.Timestamp
) -> tuple[PriceRange | None, str]:
    """Price range of one GPU key on a date (see :func:`price_plan`), with the explanation."""
    rule, pkey, why = price_plan(a, key)
    if rule == "fixed" and pkey is not None:
        return a.prices[pkey], why
    if rule == "missing":
        return None, why
    when = pd.Timestamp(when)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    keys, dates = pd.Series([pkey]), pd.Series([when])
    lo = reference.prices_in_effect(
        keys, dates, a.price_provider, reference.LOW_PRICING_MODELS
    ).iloc[0]
    hi = reference.prices_in_effect(
        keys, dates, a.price_provider, reference.HIGH_PRICING_MODELS
    ).iloc[0]
    if pd.isna(lo["usd_per_gpu_hour"]) or pd.isna(hi["usd_per_gpu_hour"]):
        return None, f"{why}: no {'low' if pd.isna(lo['usd_per_gpu_hour']) else 'high'} price"
    as_of = lo["as_of"] if lo["as_of"] == hi["as_of"] else f"{lo['as_of']} / {hi['as_of']}"
    note = why
    if lo["is_price_before_known"] or hi["is_price_before_known"]:
        note += f"; {when.date()} is before the earliest known price, which is used"
    return PriceRange(
        float(lo["usd_per_gpu_hour"]),
        float(hi["usd_per_gpu_hour"]),
        a.price_provider,
        str(lo["pricing_model"]),
        str(hi["pricing_model"]),
        str(as_of),
        str(hi["source"]),
        f"refdata cloud_prices.csv (price in effect on {when.date()})",
        note,
    ), why


POWER_COLUMNS = ["power_w", "power_basis", "power_source", "power_rule"]


def power_plan(a: Assumptions, key: str | None) -> PowerDraw | None:
    """Power of one GPU key: the assumptions' entry, then ``*``, then gpus.csv."""
    if key is not None and key in a.power:
        return a.power[key]
    if "*" in a.power:
        return a.power["*"]
    if key is None:
        return None
    row = reference.gpu_power(key, a.power_basis)
    if row is None:
        return None
    note = None
    if a.power_basis == "measured" and row.basis == "rated":
        note = "no measured draw in gpus.csv; rated used"
    what = "TDP per visible device" if row.basis == "rated" else "measured average draw"
    return PowerDraw(row.power_w, row.basis, row.source, f"refdata gpus.csv: {key} {what}", note)


def job_power(
    a: Assumptions, keys: pd.Series, days: pd.Series | None = None, fallback: bool = False
) -> pd.DataFrame:
    """Power per device of each job's GPU type (columns :data:`POWER_COLUMNS`).

    The unidentified GPU (and, with ``fallback``, a GPU whose power is unknown) draws
    the median rated power of the GPUs of the job's year (``days``; rule ``year_range``).
    """
    out = _job_power(a, keys)
    if days is None:
        return out
    unid = keys.astype("string").eq("unidentified").fillna(False).to_numpy(dtype=bool)
    need = (
        out["power_w"].isna().to_numpy()
        & (unid | fallback)
        & keys.notna().to_numpy(dtype=bool)
        & pd.to_datetime(days, utc=True).notna().to_numpy()
    )
    for year in sorted(set(pd.to_datetime(days, utc=True)[need].dt.year)):
        g = reference.unidentified_gpu(int(year))
        sel = need & (pd.to_datetime(days, utc=True).dt.year == year).to_numpy()
        out.loc[sel, "power_w"] = g.power_w_central
        out.loc[sel, "power_basis"] = "rated (median of the GPUs of the year)"
        out.loc[sel, "power_source"] = g.source
        out.loc[sel, "power_rule"] = f"year_range: {g.describe()}"
    return out


def _job_power(a: Assumptions, keys: pd.Series) -> pd.DataFrame:
    codes, uniq = pd.factorize(keys.astype("string"), use_na_sentinel=False)
    plans = [power_plan(a, None if pd.isna(u) or u == "unidentified" else str(u)) for u in uniq]
    out = pd.DataFrame(index=keys.index)
    out["power_w"] = np.asarray([p.power_w if p else np.nan for p in plans], dtype="float64")[codes]
    for col, attr in (("power_basis", "basis"), ("power_source", "source")):
        out[col] = np.asarray([getattr(p, attr) if p else None for p in plans], dtype=object)[codes]
    out["power_rule"] = np.asarray([p.origin if p else "missing" for p in plans], dtype=object)[
        codes
    ]
    return out
