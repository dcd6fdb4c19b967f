"""The inputs of the energy model with their ranges, each with its source and date.

A :class:`Range` is one input as low / central / high (the low and high ends are the ones
that give the low and high figure), its unit, the publication behind it (``source``), the
rule that turned the published numbers into it, its date and how it got into this run
(``origin``). The built-in defaults are the rows of ``rdcost/refdata/energy_defaults.csv``
(each names the rows of ``power_models.csv``, ``pue.csv``, ``embodied.csv`` or
``carbon_series.md`` it comes from); a CPU model's power per core is a row of
``cpu_power.csv``; a GPU's manufacturing footprint a row of ``embodied_gpus.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from rdcost.analysis import reference
from rdcost.errors import AssumptionError


@dataclass(frozen=True)
class Range:
    """One input of the energy model: low / central / high with where it came from."""

    low: float
    central: float
    high: float
    unit: str
    source: str
    origin: str
    rule: str | None = None
    as_of: str | None = None

    def text(self, fmt: str = "{:g}") -> str:
        """``0.76 (0.63 - 1)`` or ``0.2`` when the three are equal."""
        c = fmt.format(self.central)
        if self.low == self.central == self.high:
            return c
        return f"{c} ({fmt.format(self.low)} - {fmt.format(self.high)})"

    def with_central(self, central: float, origin: str | None = None) -> Range:
        """The same range around a new central value, widened to hold it."""
        return replace(
            self,
            central=central,
            low=min(self.low, central),
            high=max(self.high, central),
            origin=origin or self.origin,
        )


@cache
def _defaults() -> dict[str, dict[str, Any]]:
    t = reference.load_table("energy_defaults")
    return {str(r["input"]): r for r in t.to_dict("records")}


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def default(name: str, central: float | None = None) -> Range:
    """The built-in default of an input (a row of energy_defaults.csv). ``central``: the
    value the row leaves to another rule (the PUE of the year)."""
    r = _defaults()[name]
    c = _num(r["central"])
    c = central if c is None else c
    if c is None:
        raise ValueError(f"energy default {name} needs a central value")
    lo, hi = _num(r["low"]), _num(r["high"])
    lo = c if lo is None else lo
    hi = c if hi is None else hi
    return Range(
        min(lo, c),
        c,
        max(hi, c),
        str(r["unit"]),
        str(r["source"]),
        f"refdata energy_defaults.csv: {name} (from {r['rows']})",
        str(r["rule"]),
        str(r["as_of"]),
    )


def cpu_model(name: str) -> Range:
    """W per core of a CPU model (a row of cpu_power.csv, case-insensitive)."""
    t = reference.load_table("cpu_power")
    hit = t[t["model"].str.casefold() == name.strip().casefold()]
    if hit.empty:
        raise AssumptionError(
            f"no CPU model {name!r} in cpu_power.csv",
            value=name,
            hint="models: " + ", ".join(t["model"]) + "; or give site.watts_per_core",
        )
    r = hit.iloc[0]
    w = float(r["watts_per_core"])
    return Range(
        w,
        w,
        w,
        "W per core",
        str(r["source"]),
        f"refdata cpu_power.csv: {r['model']}",
        str(r["rule"]),
        str(r["as_of"]),
    )


@cache
def _embodied() -> dict[str, dict[str, Any]]:
    t = reference.load_table("embodied_gpus")
    rows = {str(r["gpu_key"]): r for r in t.to_dict("records")}
    for k, r in rows.items():  # 'as h100_sxm' rows take the named row's texts
        for c in ("boundary", "rule", "rows", "source"):
            v = str(r[c]) if r[c] == r[c] else ""
            if v.startswith("as "):
                named = v[3:].split(" ", 1)
                r[c] = str(rows[named[0]][c]) + (f" {named[1]}" if len(named) > 1 else "")
        rows[k] = r
    return rows


def embodied_kg(gpu_key: str | None) -> Range:
    """Manufacturing emissions of one GPU of ``gpu_key`` (embodied_gpus.csv; ``*`` for the
    others), kg CO2e."""
    rows = _embodied()
    key = gpu_key if gpu_key in rows else "*"
    r = rows[key]
    return Range(
        float(r["kg_low"]),
        float(r["kg_central"]),
        float(r["kg_high"]),
        "kg CO2e per GPU",
        str(r["source"]),
        f"refdata embodied_gpus.csv: {key}",
        f"{r['boundary']}" + (f"; {r['rule']}" if r["rule"] == r["rule"] and r["rule"] else ""),
        str(r["as_of"]),
    )


def parse_range(raw: Any, origin: str, where: str, unit: str, *, positive: bool = False) -> Range:
    """A range given in an assumptions layer: a number (exact), or a table with ``value``
    (or ``central``) and optional ``low``, ``high``, ``source``, ``as_of``, ``note``."""
    if isinstance(raw, bool):
        raise AssumptionError(f"{origin}: {where} must be a number or a table", value=repr(raw))
    if isinstance(raw, int | float):
        t: dict[str, Any] = {"value": raw}
    elif isinstance(raw, dict):
        t = raw
        extra = sorted(set(t) - {"value", "central", "low", "high", "source", "as_of", "note"})
        if extra:
            raise AssumptionError(
                f"{origin}: {where}: unknown key(s) {extra}",
                value=", ".join(extra),
                hint="known keys: value (or central), low, high, source, as_of, note",
            )
    else:
        raise AssumptionError(f"{origin}: {where} must be a number or a table", value=repr(raw))
    c = t.get("value", t.get("central"))
    if c is None:
        raise AssumptionError(f"{origin}: {where}.value is missing")
    vals = {}
    for k, v in (("central", c), ("low", t.get("low", c)), ("high", t.get("high", c))):
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v or v < 0:
            raise AssumptionError(f"{origin}: {where}.{k} must be a number >= 0", value=repr(v))
        if positive and v == 0:
            raise AssumptionError(f"{origin}: {where}.{k} must be > 0", value=repr(v))
        vals[k] = float(v)
    if not vals["low"] <= vals["central"] <= vals["high"]:
        raise AssumptionError(
            f"{origin}: {where}: low <= value <= high is needed",
            value=f"{vals['low']:g}, {vals['central']:g}, {vals['high']:g}",
        )
    return Range(
        vals["low"],
        vals["central"],
        vals["high"],
        unit,
        str(t.get("source") or f"given by {origin}"),
        origin,
        None if t.get("note") is None else str(t["note"]),
        None if t.get("as_of") is None else str(t["as_of"]),
    )


def provenance(row: dict[str, Any]) -> str:
    """Where an input row of the summary's ``energy.inputs`` comes from, in words: its
    origin, source, rule and date, those it has."""
    parts = (
        row.get("origin"),
        row.get("source"),
        row.get("rule"),
        f"as of {row['as_of']}" if row.get("as_of") else None,
    )
    return "; ".join(x for x in parts if x)
