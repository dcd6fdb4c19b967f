"""The options that choose the jobs and the assumptions, defined once for every command.

`rdcost summarize`, `plot`, `report`, `card` and `tuning` take all of
:data:`OPTIONS`; `compare-buy-vs-cloud` and `estimate` take the ones that
apply to them. A command gets them from :func:`assumption_options`, which adds
them to its parameters (after the command's own, so `--help` lists each one
with its help text) and hands the command one :class:`AssumptionOptions`
holding their values. That object loads the assumptions with every override
recorded as set by its option, reads the jobs (a project of
``--projects-file`` selected by its definition) and prepares the
:class:`rdcost.analysis.project.ProjectAnalysis` of the plots, the report and the card.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args

import typer

from rdcost.analysis.assumptions import (
    Assumptions,
    apply_dict,
    load,
    override_all_power,
    override_all_prices,
)
from rdcost.analysis.energy.settings import with_series
from rdcost.cli.app import ProjectOpt, StoreOpt, load_jobs
from rdcost.errors import RdcostError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from rdcost.analysis.project import ProjectAnalysis


class OnMissing(StrEnum):
    default = "default"
    unknown = "unknown"
    error = "error"
    raise_ = "raise"  # the name of `error` before issue 13


class EnergyMethod(StrEnum):
    gpu_power = "gpu_power"
    best_available = "best_available"


class PowerBasis(StrEnum):
    rated = "rated"
    measured = "measured"


#: Every shared option, in the order `--help` lists them: parameter name -> (annotation, default).
OPTIONS: dict[str, tuple[Any, Any]] = {
    "store": (StoreOpt, None),
    "project": (ProjectOpt, None),
    "projects_file": (
        Annotated[
            Path | None,
            typer.Option(
                "--projects-file",
                envvar="RDCOST_PROJECTS",
                show_envvar=True,
                help="TOML file defining projects by accounts, users, job-name patterns and dates.",
                metavar="PATH",
            ),
        ],
        None,
    ),
    "assumptions": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--assumptions",
                "-a",
                help="A bundled preset (paper) or a TOML file; repeat to layer them, later ones win. "
                "Default: prices, power, PUE, carbon and electricity from the bundled reference tables.",
                metavar="TEXT",
            ),
        ],
        None,
    ),
    "price_provider": (
        Annotated[
            str | None,
            typer.Option(
                help="Cloud whose price list is used (gcp, aws, azure, lambda, ...).",
                metavar="TEXT",
            ),
        ],
        None,
    ),
    "price_date": (
        Annotated[
            str | None,
            typer.Option(
                help="Prices in effect when each job started (job-start), today's (today), or on a date (YYYY-MM-DD).",
                metavar="TEXT",
            ),
        ],
        None,
    ),
    "usd_per_gpu_hour_low": (
        Annotated[
            float | None,
            typer.Option(
                help="Low cloud price for every GPU type, USD per GPU-hour (with --usd-per-gpu-hour-high).",
                metavar="NUMBER",
            ),
        ],
        None,
    ),
    "usd_per_gpu_hour_high": (
        Annotated[
            float | None,
            typer.Option(
                help="High cloud price for every GPU type, USD per GPU-hour.", metavar="NUMBER"
            ),
        ],
        None,
    ),
    "watts_per_gpu": (
        Annotated[
            float | None,
            typer.Option(
                help="Average draw of every GPU, W (replaces rated/measured values).",
                metavar="NUMBER",
            ),
        ],
        None,
    ),
    "power_basis": (
        Annotated[
            PowerBasis | None,
            typer.Option(
                help="GPU power from the rated TDP or the measured average draw of gpus.csv."
            ),
        ],
        None,
    ),
    "pue": (
        Annotated[
            float | None,
            typer.Option(help="Power usage effectiveness of the data centre.", metavar="NUMBER"),
        ],
        None,
    ),
    "kg_co2e_per_kwh": (
        Annotated[
            float | None, typer.Option(help="Carbon intensity, kg CO2e per kWh.", metavar="NUMBER")
        ],
        None,
    ),
    "lbs_co2e_per_kwh": (
        Annotated[
            float | None,
            typer.Option(
                help="Carbon intensity, lbs CO2e per kWh (the paper: 0.954).", metavar="NUMBER"
            ),
        ],
        None,
    ),
    "carbon_region": (
        Annotated[
            str | None,
            typer.Option(
                help="Region of carbon_intensity.csv (US, WORLD, DEU, us-central1, ...).",
                metavar="TEXT",
            ),
        ],
        None,
    ),
    "carbon_year": (
        Annotated[
            int | None,
            typer.Option(
                help="Year of the carbon intensity (default: the year the jobs ran).", metavar="N"
            ),
        ],
        None,
    ),
    "carbon_series": (
        Annotated[
            Path | None,
            typer.Option(
                help="Hourly (or daily) carbon intensity for the hours the jobs ran: an Electricity Maps "
                "data-portal CSV or a time,g_co2e_per_kwh CSV (docs/energy.md). Time-matched CO2e is "
                "reported beside the annual average; it is the central figure with -a current."
            ),
        ],
        None,
    ),
    "energy_method": (
        Annotated[
            EnergyMethod | None,
            typer.Option(
                help="gpu_power: GPU-hours x one power per GPU x PUE (the paper's, the default); "
                "best_available: per job the best source the logs allow (meter, GPU power, GPU "
                "utilisation, rated power x a factor) plus CPU, memory and the node's share (-a current)."
            ),
        ],
        None,
    ),
    "usd_per_kwh": (
        Annotated[
            float | None, typer.Option(help="Electricity price, USD per kWh.", metavar="NUMBER")
        ],
        None,
    ),
    "one_model_gpu_hours": (
        Annotated[
            float | None,
            typer.Option(help="GPU-hours of one model (default: from the data).", metavar="NUMBER"),
        ],
        None,
    ),
    "tuning_round_jobs": (
        Annotated[
            int | None,
            typer.Option(
                help="Jobs in one tuning round (default: median jobs per grid search).", metavar="N"
            ),
        ],
        None,
    ),
    "crash_minutes": (
        Annotated[
            float | None,
            typer.Option(
                help="Jobs shorter than this count as crashed (default 5).", metavar="NUMBER"
            ),
        ],
        None,
    ),
    "util_threshold": (
        Annotated[
            float | None,
            typer.Option(
                help="GPU utilisation threshold, percent: jobs whose GPUs' mean utilisation is below "
                "it count as under-used in the utilization waste (default 10).",
                metavar="PERCENT",
            ),
        ],
        None,
    ),
    "gpu_alias": (
        Annotated[
            list[str] | None,
            typer.Option(
                help="Map a GPU name of the logs to a gpus.csv key: NAME=KEY, e.g. titanx=titanx_pascal (repeatable).",
                metavar="TEXT",
            ),
        ],
        None,
    ),
    "on_missing": (
        Annotated[
            OnMissing,
            typer.Option(
                help="GPU-hours whose GPU has no price or power of its own: default prices and powers them "
                "by the chain (partition's or node's type, else the GPUs of their year) and says so; "
                "unknown leaves them out of those totals, counted (the partition and node steps still "
                "run); error (or raise) stops and names them."
            ),
        ],
        OnMissing.default,
    ),
    "gpu_partition": (
        Annotated[
            list[str] | None,
            typer.Option(
                help="GPUs of a partition whose jobs name no type: PARTITION=KEY, e.g. gpu_a100=a100_80_sxm "
                "(repeatable; a TOML's [gpu_sites.partitions] does the same).",
                metavar="TEXT",
            ),
        ],
        None,
    ),
    "gpu_node": (
        Annotated[
            list[str] | None,
            typer.Option(
                help="GPUs of nodes whose jobs name no type: NODE-GLOB=KEY, e.g. 'gn[0-9]*=h100_sxm' "
                "(repeatable; a TOML's [gpu_sites.nodes] does the same).",
                metavar="TEXT",
            ),
        ],
        None,
    ),
    "include_implausible": (
        Annotated[
            bool,
            typer.Option(
                "--include-implausible",
                help="Keep implausible records (elapsed far beyond the time limit, running longer than "
                "since submission) in every total; by default they are left out and listed.",
            ),
        ],
        False,
    ),
}


@dataclass(frozen=True)
class AssumptionOptions:
    """The values of :data:`OPTIONS` as a command received them (enums as their text; an
    option the command does not take keeps its default)."""

    store: Path | None = None
    project: str | None = None
    projects_file: Path | None = None
    assumptions: tuple[str, ...] = ()
    price_provider: str | None = None
    price_date: str | None = None
    usd_per_gpu_hour_low: float | None = None
    usd_per_gpu_hour_high: float | None = None
    watts_per_gpu: float | None = None
    power_basis: str | None = None
    pue: float | None = None
    kg_co2e_per_kwh: float | None = None
    lbs_co2e_per_kwh: float | None = None
    carbon_region: str | None = None
    carbon_year: int | None = None
    carbon_series: Path | None = None
    energy_method: str | None = None
    usd_per_kwh: float | None = None
    one_model_gpu_hours: float | None = None
    tuning_round_jobs: int | None = None
    crash_minutes: float | None = None
    util_threshold: float | None = None
    gpu_alias: tuple[str, ...] = ()
    on_missing: str = "default"
    gpu_partition: tuple[str, ...] = ()
    gpu_node: tuple[str, ...] = ()
    include_implausible: bool = False

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> AssumptionOptions:
        """From the parameters typer passed (lists, enums and None as typer gives them)."""
        plain: dict[str, Any] = {}
        for k, v in values.items():
            if isinstance(v, Enum):
                v = v.value
            if k in ("assumptions", "gpu_alias", "gpu_partition", "gpu_node"):
                v = tuple(v or ())
            plain[k] = v
        return cls(**plain)

    def load_assumptions(self, default: Sequence[str] = ()) -> Assumptions:
        """The presets and files of --assumptions (``default`` when none is given), layered, then
        every override given on the command line, each recorded with the option that set it."""
        a = load(list(self.assumptions or default))

        def layer(data: dict[str, Any], opt: str) -> None:
            nonlocal a
            a = apply_dict(a, data, f"option {opt}")

        if self.price_provider is not None:
            layer({"price_provider": self.price_provider}, "--price-provider")
        if self.price_date is not None:
            layer({"price_date": self.price_date.replace("job-start", "job_start")}, "--price-date")
        low, high = self.usd_per_gpu_hour_low, self.usd_per_gpu_hour_high
        if (low is None) != (high is None):
            raise UsageError(
                "give both --usd-per-gpu-hour-low and --usd-per-gpu-hour-high (the price range)"
            )
        if low is not None and high is not None:
            a = override_all_prices(a, low, high, "option --usd-per-gpu-hour-low/-high")
        if self.watts_per_gpu is not None:
            a = override_all_power(a, self.watts_per_gpu, "option --watts-per-gpu")
        if self.power_basis is not None:
            layer({"power_basis": self.power_basis}, "--power-basis")
        if self.pue is not None:
            layer({"pue": {"value": self.pue}}, "--pue")
        if self.kg_co2e_per_kwh is not None and self.lbs_co2e_per_kwh is not None:
            raise UsageError("give --kg-co2e-per-kwh or --lbs-co2e-per-kwh, not both")
        carbon = {
            key: getattr(self, name)
            for name, key in (
                ("carbon_region", "region"),
                ("carbon_year", "year"),
                ("kg_co2e_per_kwh", "kg_co2e_per_kwh"),
                ("lbs_co2e_per_kwh", "lbs_co2e_per_kwh"),
            )
            if getattr(self, name) is not None
        }
        if carbon:
            opts = " ".join(
                "--" + name.replace("_", "-")
                for name in ("carbon_region", "carbon_year", "kg_co2e_per_kwh", "lbs_co2e_per_kwh")
                if getattr(self, name) is not None
            )
            layer({"carbon": carbon}, opts)
        if self.energy_method is not None:
            layer({"energy": {"method": self.energy_method}}, "--energy-method")
        if self.carbon_series is not None:
            a = replace(
                a,
                energy=with_series(a.energy, str(self.carbon_series), "option --carbon-series"),
                layers=(*a.layers, "option --carbon-series"),
            )
        if self.usd_per_kwh is not None:
            layer({"electricity": {"usd_per_kwh": self.usd_per_kwh}}, "--usd-per-kwh")
        if self.one_model_gpu_hours is not None:
            layer({"one_model": {"gpu_hours": self.one_model_gpu_hours}}, "--one-model-gpu-hours")
        if self.tuning_round_jobs is not None:
            layer({"tuning_round": {"n_jobs": self.tuning_round_jobs}}, "--tuning-round-jobs")
        if self.crash_minutes is not None:
            layer({"crash": {"threshold_minutes": self.crash_minutes}}, "--crash-minutes")
        if self.util_threshold is not None:
            layer({"utilization": {"threshold_percent": self.util_threshold}}, "--util-threshold")
        if self.gpu_alias:
            layer({"gpu_aliases": _pairs(self.gpu_alias, "--gpu-alias", "NAME=KEY")}, "--gpu-alias")
        sites = {
            sub: _pairs(given, opt, form)
            for sub, given, opt, form in (
                ("partitions", self.gpu_partition, "--gpu-partition", "PARTITION=KEY"),
                ("nodes", self.gpu_node, "--gpu-node", "NODE-GLOB=KEY"),
            )
            if given
        }
        if sites:
            layer({"gpu_sites": sites}, "--gpu-partition/--gpu-node")
        return a

    def project_defs(self) -> dict[str, Any] | None:
        """The projects of --projects-file, or None without one."""
        if self.projects_file is None:
            return None
        from rdcost.analysis.projects import load_projects

        return load_projects(self.projects_file)

    def jobs(self) -> pd.DataFrame:
        """The stored jobs of --project; an error when there are none (exits 1 with a hint)."""
        jobs = load_jobs(self.store, self.project, defs=self.project_defs())
        if jobs.empty:
            raise RdcostError(
                f"no jobs for project {self.project!r}"
                if self.project
                else "the store holds no jobs",
                hint="`rdcost jobs --columns project` lists the stored projects",
            )
        return jobs

    def context(self) -> ProjectAnalysis:
        """The jobs and assumptions these options select, prepared for plots, the report, the card
        and the tuning analysis; an error when the project has no jobs."""
        from rdcost.analysis.buy_vs_cloud import load_owned
        from rdcost.analysis.project import analyze_project
        from rdcost.jobtable.store import Store

        a = self.load_assumptions()
        jobs = self.jobs()
        return analyze_project(
            jobs,
            a,
            project=self.project,
            on_missing=self.on_missing,
            owned=load_owned(list(self.assumptions)),
            inputs=Store(self.store).inputs(),
            include_implausible=self.include_implausible,
        )

    def compared(self, specs: Sequence[str], ctx: ProjectAnalysis) -> list[tuple[str, Any]]:
        """The summaries of the context's jobs under other assumptions (``--compare-with``):
        each spec is layers separated by commas (``current`` or ``current,site.toml``), with
        ``--carbon-series`` when given; (assumptions name, Summary) each."""
        from rdcost.analysis.summary import summarize

        out = []
        for spec in specs:
            a = load([x.strip() for x in spec.split(",") if x.strip()])
            if self.carbon_series is not None:
                a = replace(
                    a,
                    energy=with_series(a.energy, str(self.carbon_series), "option --carbon-series"),
                )
            s = summarize(
                ctx.runs,
                a,
                project=self.project,
                today=ctx.today,
                on_missing=self.on_missing,
                include_implausible=self.include_implausible,
            )
            out.append((a.name, s))
        return out


#: --compare-with, shared by `rdcost report` and `rdcost card`.
CompareOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--compare-with",
        help="Also show the project under these assumptions, side by side (layers separated by "
        "commas: current, or current,site.toml); repeatable. E.g. -a paper --compare-with current.",
    ),
]


def _pairs(given: Sequence[str], option: str, form: str) -> dict[str, str]:
    """``NAME=VALUE`` options as a mapping; a usage error names the one without ``=``."""
    out = {}
    for pair in given:
        if "=" not in pair:
            raise UsageError(f"{option} expects {form}, got {pair!r}", value=pair)
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


assert list(OPTIONS) == [f.name for f in fields(AssumptionOptions)], (
    "OPTIONS and AssumptionOptions differ"
)

F = TypeVar("F", bound=Callable[..., Any])


def assumption_options(*names: str, help: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Give a command the shared options ``names`` (default: all of :data:`OPTIONS`), after its own.

    The command declares one parameter annotated :class:`AssumptionOptions` and receives their
    values in it. ``help`` replaces the help text of an option whose meaning is narrower in
    this command (its name, type and default stay those of :data:`OPTIONS`).
    """
    chosen = names or tuple(OPTIONS)
    wrong = sorted((set(chosen) - set(OPTIONS)) | (set(help or {}) - set(chosen)))
    if wrong:
        raise TypeError(
            f"assumption_options: not shared options of this command: {', '.join(wrong)}"
        )
    shared = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=OPTIONS[name][1],
            annotation=_with_help(OPTIONS[name][0], (help or {}).get(name)),
        )
        for name in chosen
    ]

    def decorate(fn: F) -> F:
        own = list(inspect.signature(fn, eval_str=True).parameters.values())
        target = [p.name for p in own if p.annotation is AssumptionOptions]
        if len(target) != 1:
            raise TypeError(f"{fn.__name__}: needs one parameter annotated AssumptionOptions")
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own if p.name != target[0]]
        clash = {p.name for p in own} & set(chosen)
        if clash:
            raise TypeError(
                f"{fn.__name__}: own parameters named like shared options: {', '.join(sorted(clash))}"
            )
        params = own + shared

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in chosen}
            return fn(**kwargs, **{target[0]: AssumptionOptions.from_values(values)})

        # typer reads the parameters from the signature (the wrapped function's is not shown)
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command  # type: ignore[return-value]

    return decorate


def _with_help(annotation: Any, text: str | None) -> Any:
    if text is None:
        return annotation
    base, info = get_args(annotation)
    info = copy.copy(info)
    info.help = text
    return Annotated[base, info]
