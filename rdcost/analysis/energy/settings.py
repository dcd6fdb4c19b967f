"""What the energy model assumes, as set by the assumption layers: the method, every input
range a layer gives, the site (PUE by year, CPU model, node power, carbon-free energy share,
shared and exclusive partitions), the embodied emissions and a carbon-intensity series.

Layers are the TOML tables ``[energy]``, ``[site]``, ``[embodied]`` and ``[carbon_series]``
of an ``--assumptions`` preset or file (docs/energy.md lists every key), applied in order by
:func:`apply`; unknown keys are errors naming the layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rdcost.analysis.energy.inputs import Range, cpu_model, default, parse_range
from rdcost.errors import AssumptionError
from rdcost.readers.carbon_series import BASES, CarbonSeries, read_series

#: ``gpu_power``: GPU-hours x one power per GPU (rated, measured or assumed) x PUE, the
#: paper's method and rdcost's default; ``best_available``: per job the best source the logs
#: allow (a node meter, measured GPU power, measured utilisation through a model, rated
#: power x a utilisation factor), plus the CPU, memory and the node's share.
METHODS = ("gpu_power", "best_available")
#: The inputs a layer may set in ``[energy]`` (the rows of energy_defaults.csv).
INPUTS = {
    "meter_uncertainty": "fraction of the reading",
    "gpu_sensor_uncertainty": "fraction of the reading",
    "max_node_w": "W per node",
    "rated_factor": "fraction of rated power (TDP)",
    "idle_fraction": "fraction of rated power (TDP)",
    "max_fraction": "fraction of rated power (TDP)",
    "cpu_w_per_core": "W per core",
    "cpu_usage_unknown": "fraction of the allocated core-hours",
    "memory_w_per_gb": "W per GB of memory held",
    "host_w_per_gpu": "W per GPU held",
    "pue": "ratio (facility / IT energy)",
    "carbon_factor": "factor on an annual average intensity",
    "embodied_lifetime_years": "years",
    "embodied_utilization": "fraction of the lifetime in use",
}


@dataclass(frozen=True)
class SitePue:
    """The PUE of the site for a year (None: any year), with its range and source."""

    year: int | None
    pue: Range


@dataclass(frozen=True)
class Site:
    """The site the jobs ran at (``[site]``); None = not given."""

    name: str | None = None
    origin: str | None = None
    pue: tuple[SitePue, ...] = ()
    cpu_w_per_core: Range | None = None
    host_w_per_gpu: Range | None = None
    max_node_w: Range | None = None
    gpus_per_node: int | None = None
    exclusive_partitions: tuple[str, ...] = ()
    shared_partitions: tuple[str, ...] = ()
    cfe_fraction: Range | None = None

    def pue_for(self, year: int | None) -> Range | None:
        """The site's PUE for ``year``: the entry of that year, else the entry without a year
        (it holds for every year), else the latest entry before the year, else the earliest."""
        if not self.pue:
            return None
        dated = sorted((p for p in self.pue if p.year is not None), key=lambda p: p.year or 0)
        undated = [p for p in self.pue if p.year is None]
        exact = [p for p in dated if p.year == year]
        if exact:
            return exact[-1].pue
        if undated:
            return undated[-1].pue
        if year is None:
            return _dated(dated[-1], year)
        before = [p for p in dated if (p.year or 0) < year]
        return _dated(before[-1] if before else dated[0], year)


def _dated(p: SitePue, year: int | None) -> Range:
    note = f"the site's PUE of {p.year}" + ("" if year is None else f" (none given for {year})")
    return replace(p.pue, rule=note if p.pue.rule is None else f"{p.pue.rule}; {note}")


@dataclass(frozen=True)
class EnergySettings:
    """Everything the energy model assumes beyond the GPU power, PUE, carbon intensity and
    electricity price of :class:`rdcost.analysis.assumptions.Assumptions`."""

    method: str = "gpu_power"
    method_origin: str = "built-in default"
    use_meter: bool = True
    given: Mapping[str, Range] = field(default_factory=dict)  # [energy] inputs given by a layer
    site: Site = field(default_factory=Site)
    embodied_kg: Mapping[str, Range] = field(default_factory=dict)  # GPU key or '*' -> given
    carbon_series: CarbonSeries | None = None
    carbon_series_origin: str | None = None
    time_matched: bool | None = None  # None: when the method is best_available
    year: int | None = None  # the year of the jobs, set by Assumptions.for_year

    def input(self, name: str, central: float | None = None) -> Range:
        """An input's range: given by a layer, else the site's, else the built-in default."""
        if name in self.given:
            return self.given[name]
        site = {
            "cpu_w_per_core": self.site.cpu_w_per_core,
            "host_w_per_gpu": self.site.host_w_per_gpu,
            "max_node_w": self.site.max_node_w,
        }.get(name)
        return site if site is not None else default(name, central)

    @property
    def is_best_available(self) -> bool:
        return self.method == "best_available"

    @property
    def uses_series(self) -> bool:
        """Whether the central CO2e is time-matched (a series is given and wanted)."""
        if self.carbon_series is None:
            return False
        return self.is_best_available if self.time_matched is None else self.time_matched


_ENERGY_KEYS = {"method", "use_meter", "time_matched", *INPUTS}
_SITE_KEYS = {
    "name",
    "source",
    "pue",
    "cpu_model",
    "watts_per_core",
    "host_w_per_gpu",
    "max_node_w",
    "gpus_per_node",
    "exclusive_partitions",
    "shared_partitions",
    "cfe_fraction",
}
_EMBODIED_KEYS = {"kg_per_gpu", "gpus", "lifetime_years", "utilization"}
_SERIES_KEYS = {"path", "basis", "time_matched"}
#: Top-level tables this module reads.
TABLES = ("energy", "site", "embodied", "carbon_series")


def apply(e: EnergySettings, data: Mapping[str, Any], origin: str) -> EnergySettings:
    """Apply one layer's ``[energy]``, ``[site]``, ``[embodied]`` and ``[carbon_series]``."""
    if "energy" in data:
        e = _energy(e, table(data["energy"], origin, "energy", _ENERGY_KEYS), origin)
    if "site" in data:
        e = replace(e, site=_site(e.site, table(data["site"], origin, "site", _SITE_KEYS), origin))
    if "embodied" in data:
        e = _embodied(e, table(data["embodied"], origin, "embodied", _EMBODIED_KEYS), origin)
    if "carbon_series" in data:
        t = table(data["carbon_series"], origin, "carbon_series", _SERIES_KEYS)
        e = with_series(e, t.get("path"), origin, t.get("basis", "direct"), t.get("time_matched"))
    return e


def with_series(
    e: EnergySettings,
    path: Any,
    origin: str,
    basis: Any = "direct",
    time_matched: Any = None,
) -> EnergySettings:
    """``e`` with the carbon-intensity series at ``path`` (relative to the layer's file when
    the layer is a file)."""
    if not isinstance(path, str) or not path.strip():
        raise AssumptionError(f"{origin}: carbon_series.path must be a file path", value=repr(path))
    if basis not in BASES:
        raise AssumptionError(
            f"{origin}: carbon_series.basis must be one of {', '.join(BASES)}", value=repr(basis)
        )
    if time_matched is not None and not isinstance(time_matched, bool):
        raise AssumptionError(
            f"{origin}: carbon_series.time_matched must be true or false",
            value=repr(time_matched),
        )
    p = Path(path)
    if not p.is_absolute() and origin.startswith("file "):
        p = Path(origin[5:]).parent / p
    series = read_series(p, basis)
    return replace(
        e,
        carbon_series=series,
        carbon_series_origin=origin,
        time_matched=e.time_matched if time_matched is None else time_matched,
    )


def _energy(e: EnergySettings, t: Mapping[str, Any], origin: str) -> EnergySettings:
    ch: dict[str, Any] = {}
    if "method" in t:
        if t["method"] not in METHODS:
            raise AssumptionError(
                f"{origin}: energy.method must be one of {', '.join(METHODS)}",
                value=repr(t["method"]),
            )
        ch["method"], ch["method_origin"] = t["method"], origin
    for k in ("use_meter", "time_matched"):
        if k in t:
            if not isinstance(t[k], bool):
                raise AssumptionError(
                    f"{origin}: energy.{k} must be true or false", value=repr(t[k])
                )
            ch[k] = t[k]
    given = dict(e.given)
    for k, unit in INPUTS.items():
        if k in t:
            given[k] = parse_range(t[k], origin, f"energy.{k}", unit, positive=k.startswith("pue"))
    if "pue" in given and given["pue"].low < 1:
        raise AssumptionError(f"{origin}: energy.pue must be at least 1", value=given["pue"].text())
    ch["given"] = given
    return replace(e, **ch)


def _site(s: Site, t: Mapping[str, Any], origin: str) -> Site:
    ch: dict[str, Any] = {"origin": origin}
    if "name" in t:
        ch["name"] = str(t["name"])
    src = t.get("source")

    def rng(raw: Any, where: str, unit: str) -> Range:
        if isinstance(raw, int | float) and not isinstance(raw, bool) and src:
            raw = {"value": raw, "source": src}
        return parse_range(raw, origin, f"site.{where}", unit)

    if "pue" in t:
        ch["pue"] = _site_pue(t["pue"], origin, src)
    if "cpu_model" in t and "watts_per_core" in t:
        raise AssumptionError(f"{origin}: give site.cpu_model or site.watts_per_core, not both")
    if "cpu_model" in t:
        ch["cpu_w_per_core"] = cpu_model(str(t["cpu_model"]))
    if "watts_per_core" in t:
        ch["cpu_w_per_core"] = rng(t["watts_per_core"], "watts_per_core", "W per core")
    if "host_w_per_gpu" in t:
        ch["host_w_per_gpu"] = rng(t["host_w_per_gpu"], "host_w_per_gpu", "W per GPU held")
    if "max_node_w" in t:
        ch["max_node_w"] = rng(t["max_node_w"], "max_node_w", "W per node")
    if "gpus_per_node" in t:
        n = t["gpus_per_node"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise AssumptionError(
                f"{origin}: site.gpus_per_node must be a whole number >= 1", value=repr(n)
            )
        ch["gpus_per_node"] = n
    for k in ("exclusive_partitions", "shared_partitions"):
        if k in t:
            v = t[k]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise AssumptionError(
                    f"{origin}: site.{k} must be a list of partition names", value=repr(v)
                )
            ch[k] = tuple(v)
    if "cfe_fraction" in t:
        c = rng(t["cfe_fraction"], "cfe_fraction", "fraction of the site's electricity")
        if c.high > 1:
            raise AssumptionError(f"{origin}: site.cfe_fraction must be at most 1", value=c.text())
        ch["cfe_fraction"] = c
    return replace(s, **ch)


def _site_pue(raw: Any, origin: str, src: Any) -> tuple[SitePue, ...]:
    entries = raw if isinstance(raw, list) else [raw]
    out = []
    for i, v in enumerate(entries):
        where = f"site.pue[{i}]" if isinstance(raw, list) else "site.pue"
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = {"value": v}
        if not isinstance(v, dict):
            raise AssumptionError(f"{origin}: {where} must be a number or a table", value=repr(v))
        v = dict(v)
        year = v.pop("year", None)
        if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
            raise AssumptionError(f"{origin}: {where}.year must be a year", value=repr(year))
        if src and "source" not in v:
            v["source"] = src
        r = parse_range(v, origin, where, "ratio (facility / IT energy)", positive=True)
        if r.low < 1:
            raise AssumptionError(f"{origin}: {where}: a PUE is at least 1", value=r.text())
        out.append(SitePue(year, r))
    return tuple(out)


def _embodied(e: EnergySettings, t: Mapping[str, Any], origin: str) -> EnergySettings:
    kg = dict(e.embodied_kg)
    given = dict(e.given)
    if "kg_per_gpu" in t:
        kg["*"] = parse_range(t["kg_per_gpu"], origin, "embodied.kg_per_gpu", "kg CO2e per GPU")
    if "gpus" in t:
        for key, v in table(t["gpus"], origin, "embodied.gpus", None).items():
            kg[str(key)] = parse_range(v, origin, f"embodied.gpus.{key}", "kg CO2e per GPU")
    for k, name in (
        ("lifetime_years", "embodied_lifetime_years"),
        ("utilization", "embodied_utilization"),
    ):
        if k in t:
            r = parse_range(t[k], origin, f"embodied.{k}", INPUTS[name], positive=True)
            if name == "embodied_utilization" and r.high > 1:
                raise AssumptionError(
                    f"{origin}: embodied.utilization must be at most 1", value=r.text()
                )
            given[name] = r
    return replace(e, embodied_kg=kg, given=given)


def table(v: Any, origin: str, where: str, allowed: set[str] | None) -> dict[str, Any]:
    """A TOML table of an assumptions file, with only ``allowed`` keys (any when None)."""
    if not isinstance(v, dict):
        raise AssumptionError(f"{origin}: {where} must be a table", value=repr(v))
    if allowed is not None:
        extra = sorted(set(v) - allowed)
        if extra:
            raise AssumptionError(
                f"{origin}: {where}: unknown key(s) {extra}",
                value=", ".join(extra),
                hint=f"known keys: {', '.join(sorted(allowed))}",
            )
    return v
