"""The owned hardware resolved: the given settings (:class:`~rdcost.analysis.buy_vs_cloud.owned_spec.OwnedSpec`)
completed from the bundled tables (the server to buy for the project's GPU type and its price,
lifetime, hosting, maintenance and staff rows of hardware_costs.csv; power, PUE and electricity
from the assumptions) into :class:`~rdcost.analysis.buy_vs_cloud.cost_model.OwnedParams`, with
what was assumed and where it came from."""

from __future__ import annotations

from typing import Any

from rdcost.analysis import assumptions as assumptions_mod
from rdcost.analysis import reference
from rdcost.analysis.buy_vs_cloud.cost_model import OwnedParams
from rdcost.analysis.buy_vs_cloud.owned_spec import OwnedSpec
from rdcost.errors import AssumptionError

#: GPU key -> (the hardware_costs.csv server_price row, as an item glob; GPUs
#: per server). rdcost's own join between gpus.csv keys and server rows.
SERVERS: dict[str, tuple[str, int]] = {
    "gtx1080ti": ("8x NVIDIA GTX 1080 Ti*", 8),
    "p100_sxm2": ("NVIDIA DGX-1 (8x P100)*", 8),
    "v100_sxm2": ("NVIDIA DGX-1 (8x V100)*", 8),
    "a100_40_sxm": ("NVIDIA DGX A100 (8x A100 40GB)*", 8),
    "a100_80_sxm": ("NVIDIA DGX A100 640GB*", 8),
    "h100_sxm": ("Supermicro HGX H100 server*", 8),
    "b200": ("NVIDIA DGX B200*", 8),
}
#: GPU types with no server row -> the server bought in their place (same
#: chip in another form factor; Maxwell/Pascal-era workstation and datacentre
#: cards -> the 1080 Ti server Strubell et al. priced for the LISA project).
SERVER_EQUIVALENTS: dict[str, str] = {
    "titanx_maxwell": "gtx1080ti",
    "titanx_pascal": "gtx1080ti",
    "titan_xp": "gtx1080ti",
    "m40": "gtx1080ti",
    "p100": "p100_sxm2",
    "p100_pcie": "p100_sxm2",
    "v100_pcie": "v100_sxm2",
    "a100_40_pcie": "a100_40_sxm",
    "a100_80_pcie": "a100_80_sxm",
    "h100_pcie": "h100_sxm",
    "h100_nvl": "h100_sxm",
}
#: hardware_costs.csv rows behind the owned-side defaults (category, item glob).
LIFETIME_ROW = ("amortization", "Typical HPC depreciation period*")
HOSTING_ROWS = ("hosting", "*asking*")
MAINTENANCE_ROW = ("maintenance", "Annual hardware maintenance*")
STAFF_ROW = ("staff", "Cost of a person per year*")
PERCENT = 100


def server_for(gpu_key: str | None) -> str | None:
    """The server key (a key of :data:`SERVERS`) to buy for a GPU key."""
    if gpu_key is None:
        return None
    if gpu_key in SERVERS:
        return gpu_key
    return SERVER_EQUIVALENTS.get(gpu_key)


def resolve_owned(
    spec: OwnedSpec, a, project_gpu_key: str | None, year: int | None
) -> tuple[OwnedParams, dict[str, Any]]:
    """Owned-side parameters from the spec, filling the rest from the bundled
    tables, and the list of what was assumed (value, unit, origin, source).

    ``a`` is the year-resolved :class:`rdcost.analysis.assumptions.Assumptions`
    (electricity, PUE, power per GPU); ``project_gpu_key`` the GPU type with
    the most GPU-hours, whose server is bought unless ``server`` is given.
    """
    v, o = spec.values, spec.origins
    used: dict[str, Any] = {}
    server_key, price, per, label = _server(spec, project_gpu_key, used, year)
    power_w = _power_w(spec, a, server_key or project_gpu_key, used)
    lifetime = _from_row(spec, used, "lifetime_years", LIFETIME_ROW, "years")
    hosting = _from_row(
        spec, used, "hosting_usd_per_kw_month", HOSTING_ROWS, "USD per kW-month", year=year
    )
    maintenance = _from_row(
        spec,
        used,
        "maintenance_fraction_per_year",
        MAINTENANCE_ROW,
        "fraction of purchase per year",
        scale=1 / PERCENT,
    )
    fte = float(v.get("staff_fte", 0.0))
    _note(
        used,
        "staff_fte",
        fte,
        "FTE",
        o.get("staff_fte", "built-in default: no staff charged to the project"),
    )
    per_fte = (
        _from_row(spec, used, "staff_usd_per_fte_year", STAFF_ROW, "USD per FTE-year")
        if fte > 0
        else 0.0
    )
    is_whole = bool(v.get("is_whole_servers", False))
    _note(
        used,
        "is_whole_servers",
        is_whole,
        "",
        o.get(
            "is_whole_servers",
            "built-in default: GPUs priced one by one (a share of a server), as in the paper",
        ),
    )
    _note(used, "pue", a.pue.value, "ratio", a.pue.origin, a.pue.source, a.pue.as_of)
    e = a.electricity_usd_per_kwh
    _note(used, "electricity_usd_per_kwh", e.value, "USD per kWh", e.origin, e.source, e.as_of)
    params = OwnedParams(
        server_price_usd=price,
        gpus_per_server=per,
        lifetime_years=lifetime,
        power_w_per_gpu=power_w,
        pue=a.pue.value,
        electricity_usd_per_kwh=e.value,
        hosting_usd_per_kw_month=hosting,
        maintenance_fraction_per_year=maintenance,
        staff_usd_per_year=fte * per_fte,
        is_whole_servers=is_whole,
        server_label=label,
    )
    return params, used


def _note(
    used: dict[str, Any],
    name: str,
    value: Any,
    unit: str,
    origin: str,
    source: str = "",
    as_of: str | None = None,
) -> None:
    """Record one owned-side value as assumed (what the JSON's ``assumptions.owned`` lists)."""
    used[name] = {"value": value, "unit": unit, "origin": origin, "source": source, "as_of": as_of}


def newest_server(year: int | None) -> tuple[str, int | None]:
    """The server (key of :data:`SERVERS`) of the newest GPU launched by ``year`` (the newest
    of all without a year), and that launch year: what a project whose main GPU has no
    server of its own (an unidentified GPU, a workstation card) is taken to buy."""
    launched = {k: reference.launch_year(k) for k in SERVERS}
    known = {k: y for k, y in launched.items() if y is not None}
    fit = {k: y for k, y in known.items() if year is None or y <= year} or known
    key = max(fit, key=lambda k: (fit[k], k))
    return key, fit[key]


def _server(
    spec: OwnedSpec, project_gpu_key: str | None, used: dict[str, Any], year: int | None = None
) -> tuple[str | None, float, int, str]:
    """The server bought (key), its price, GPUs per server and label: as given, else the bundled
    server row for the given server or the project's main GPU type, else the newest server
    of the jobs' year (:func:`newest_server`)."""
    v, o = spec.values, spec.origins
    server_key = v.get("server")
    if server_key is None:
        server_key = server_for(project_gpu_key)
        server_origin = f"the project's main GPU type {project_gpu_key}" + (
            "" if server_key == project_gpu_key else f", bought as {server_key}"
        )
        if server_key is None and not ("server_price_usd" in v and "gpus_per_server" in v):
            server_key, launched = newest_server(year)
            server_origin = (
                f"no server of its own for the project's main GPU type {project_gpu_key or 'unknown'}: "
                f"bought as the newest server GPU launched by {year or 'now'} ({server_key}, {launched})"
            )
    else:
        server_origin = o["server"]
    if "server_price_usd" in v and "gpus_per_server" in v:
        price, per = float(v["server_price_usd"]), int(v["gpus_per_server"])
        label = server_key or "server"
        _note(used, "server_price_usd", price, "USD per server", o["server_price_usd"])
        _note(used, "gpus_per_server", per, "GPUs", o["gpus_per_server"])
        return server_key, price, per, label
    if server_key not in SERVERS:
        raise AssumptionError(
            f"no server price for GPU type {server_key or project_gpu_key or 'unknown'}",
            value=str(server_key or project_gpu_key),
            hint=f"choose a server with --server ({', '.join(SERVERS)}) or give "
            "--server-price-usd and --gpus-per-server",
        )
    glob, per_default = SERVERS[server_key]
    row = reference.series_value("server_price", glob, None)
    price = float(v.get("server_price_usd", row.value))
    per = int(v.get("gpus_per_server", per_default))
    _note(
        used,
        "server_price_usd",
        price,
        "USD per server",
        o.get("server_price_usd", f"refdata hardware_costs.csv: {row.item} ({server_origin})"),
        row.source,
        row.as_of,
    )
    _note(
        used,
        "gpus_per_server",
        per,
        "GPUs",
        o.get("gpus_per_server", f"rdcost server table ({server_key})"),
    )
    return server_key, price, per, row.item


def _power_w(spec: OwnedSpec, a, power_key: str | None, used: dict[str, Any]) -> float:
    """Power per owned GPU: as given, else the assumptions' draw for the owned GPU type."""
    if "power_w_per_gpu" in spec.values:
        power_w = float(spec.values["power_w_per_gpu"])
        _note(used, "power_w_per_gpu", power_w, "W per GPU", spec.origins["power_w_per_gpu"])
        return power_w
    draw = assumptions_mod.power_plan(a, power_key)
    if draw is None:
        raise AssumptionError(
            f"no power per GPU for the owned GPU type {power_key}",
            value=str(power_key),
            hint="give --owned-watts-per-gpu or owned.power_w_per_gpu",
        )
    _note(
        used,
        "power_w_per_gpu",
        draw.power_w,
        "W per GPU",
        f"{draw.origin} ({draw.basis})",
        draw.source,
    )
    return draw.power_w


def _from_row(
    spec: OwnedSpec,
    used: dict[str, Any],
    name: str,
    category_glob: tuple[str, str],
    unit: str,
    scale: float = 1.0,
    year: int | None = None,
) -> float:
    """An owned-side number as given, else the hardware_costs.csv row (for ``year``, else the latest) x scale."""
    if name in spec.values:
        _note(used, name, float(spec.values[name]), unit, spec.origins[name])
        return float(spec.values[name])
    row = reference.series_value(*category_glob, year)
    value = row.value * scale
    _note(used, name, value, unit, f"refdata hardware_costs.csv: {row.item}", row.source, row.as_of)
    if row.note:
        used[name]["note"] = row.note
    return value
