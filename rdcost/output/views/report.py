"""The shareable report of a project, laid out once as a :class:`rdcost.output.blocks.Document`
from a :class:`rdcost.analysis.project.ProjectAnalysis`; :mod:`rdcost.output.report` draws the
plots and writes it as HTML or Markdown.

The summary's tables are :mod:`rdcost.output.views.summary`'s (as `rdcost summarize` prints
them), the tuning table :mod:`rdcost.output.views.tuning`'s, the buy-vs-cloud table
:mod:`rdcost.output.views.buy_vs_cloud`'s and the compute statement
:mod:`rdcost.output.views.statement`'s.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections.abc import Sequence
from typing import Any

import pandas as pd

from rdcost.analysis.project import ProjectAnalysis
from rdcost.analysis.tuning import TuningResult
from rdcost.errors import RdcostError
from rdcost.output import statement as card
from rdcost.output.blocks import (
    Block,
    BulletList,
    Contents,
    Details,
    Document,
    Figure,
    Heading,
    Note,
    Paragraph,
    Preformatted,
    Table,
)
from rdcost.output.numbers import given, integer, number
from rdcost.output.views import buy_vs_cloud, statement, summary
from rdcost.output.views import energy as energy_view
from rdcost.output.views import tuning as tuning_view
from rdcost.output.views import utilization as utilization_view
from rdcost.output.wording import assumptions_brief
from rdcost.plural import plural
from rdcost.version import __version__

#: The plots of the report, in order, with their captions.
REPORT_PLOTS: dict[str, str] = {
    "gpus-in-use": "GPUs in use over time, stacked by GPU type.",
    "cumulative": "GPU time, cloud cost and CO2e accumulated over the project's life.",
    "rd-cost": "One model, one tuning round and all of R&D (Strubell et al. 2019, Table 4).",
    "energy": "Energy by source (share of GPU-hours), the footprint layer by layer, and CO2e by accounting, "
    "each with its low - high range.",
    "waste": "GPU time, cost and CO2e of crashed, failed, cancelled and timed-out jobs.",
    "job-lengths": "Job lengths by final state; the crash threshold is marked.",
    "grid-searches": "Grid searches by GPU time, largest first.",
    "sensitivity": "Which hyperparameters moved the metric within a search: share of its variance (eta²) and "
    "spread of its mean, with the seed noise.",
    "tuning-return": "The best metric so far against the GPU-hours spent, runs in launch order, and what random "
    "search over the same runs would have spent.",
    "buy-vs-cloud-cumulative": "Renting the same GPU time vs buying GPUs: cumulative cost.",
}
#: The breakdown plot's caption: in the report only with --by (not one of REPORT_PLOTS).
BREAKDOWN_CAPTION = "GPU time per group (--by), the waste part hatched, with cloud cost and CO2e."
#: The sections, with their anchors (the table of contents).
SECTIONS = {
    "summary": "Summary",
    "gpu-use": "GPU use over time",
    "rd": "Cost of R&D",
    "energy": "Energy and CO2e",
    "waste": "Waste",
    "utilization": "Utilization waste",
    "breakdown": "Breakdown",
    "capacity": "Owned capacity",
    "jobs": "Jobs",
    "data-quality": "Data quality",
    "searches": "Grid searches",
    "tuning": "Hyperparameter tuning",
    "card": "Compute statement",
    "assumptions": "Assumptions",
    "inputs": "Input files",
    "reproduce": "Reproduce",
}
TOP_SEARCHES = 15
TOP_JOBS = 10

Tuning = tuple[TuningResult | None, str | None]


def _section(id_: str) -> Heading:
    return Heading(SECTIONS[id_], id=id_)


def _searches(ctx: ProjectAnalysis) -> list[Block]:
    t = ctx.searches
    if t.empty:
        return []
    t = (
        t.assign(gh=pd.to_numeric(t["gpu_hours"], errors="coerce"))
        .sort_values("gh", ascending=False, kind="stable")
        .head(TOP_SEARCHES)
    )
    rows = []
    for r in t.itertuples(index=False):
        first = (
            ""
            if pd.isna(r.first_submit_time)
            else pd.Timestamp(r.first_submit_time).strftime("%Y-%m-%d %H:%M")
        )
        rows.append(
            (
                r.name,
                r.search_method,
                r.user,
                first,
                integer(r.n_jobs),
                number(r.gh / 24 if pd.notna(r.gh) else None),
                f"{int(r.n_completed)} / {int(r.n_failed)} / {int(r.n_cancelled)} / {int(r.n_timeout)}",
            )
        )
    return [
        Table.of(
            (
                "search (name or stem)",
                "found by",
                "user",
                "first submission (UTC)",
                "jobs",
                "GPU-days",
                "completed / failed / cancelled / timed out",
            ),
            rows,
            right=("jobs", "GPU-days"),
        )
    ]


def _tags(tags: Any) -> Any:
    """A JSON list of tags as 'a, b'; other text as it is."""
    if isinstance(tags, str):
        try:
            parsed = json.loads(tags)
        except json.JSONDecodeError:
            return tags
        return ", ".join(str(x) for x in parsed) if isinstance(parsed, list) else tags
    return tags


def _largest_jobs(ctx: ProjectAnalysis) -> Table:
    c = ctx.costs
    top = (
        c.loc[c["is_counted"], "gpu_hours"]
        .dropna()
        .sort_values(ascending=False, kind="stable")
        .head(TOP_JOBS)
        .index
    )
    rows = []
    for i in top:
        j = ctx.jobs.loc[i]
        rows.append(
            (
                j["job_id"],
                j["job_name"],
                j["user"],
                j["state"],
                j["gpu_type"],
                "unknown" if pd.isna(j["n_gpus"]) else given(float(j["n_gpus"])),
                number(c.at[i, "elapsed_s"] / 3600 if pd.notna(c.at[i, "elapsed_s"]) else None),
                number(c.at[i, "gpu_hours"]),
                _tags(j["tags"]),
            )
        )
    return Table.of(
        ("job id", "job name", "user", "state", "GPU type", "GPUs", "hours", "GPU-hours", "tags"),
        rows,
        right=("GPUs", "hours", "GPU-hours"),
    )


def _tuning(tu: Tuning, st: card.Statement, fig) -> list[Block]:
    """The tuning section: what `rdcost tuning` finds, or why it is not available."""
    t, reason = tu
    out: list[Block] = [_section("tuning")]
    if t is None or reason is not None:
        why = reason or "not available"
        return [*out, Paragraph(why[:1].upper() + why[1:] + ".")]
    m = t.method
    n = len(t.searches)
    out += [
        Paragraph(
            f"Tuned for {t.metric} ({'higher' if t.goal == 'max' else 'lower'} is better), results from "
            f"{m['results_from']}; hyperparameters: {', '.join(t.hyperparameter_keys) or 'none'}; seeds: "
            f"{', '.join(t.seed_keys) or 'none'}. As rdcost tuning finds with the same assumptions; the "
            "method is below the plots."
        ),
        Paragraph("For the paper:"),
        BulletList(t.statement()),
        Paragraph(
            f"The {integer(min(n, TOP_SEARCHES))} largest of {plural(n, 'search')} by GPU-hours:"
        ),
        tuning_view.largest_searches_table(t, TOP_SEARCHES),
        *fig("sensitivity"),
        *fig("tuning-return"),
    ]
    if st.tuning.method:
        out.append(Paragraph(st.tuning.method))
    return out


def _buy(ctx: ProjectAnalysis, kinds: Sequence[str]) -> list[Block]:
    if "buy-vs-cloud-cumulative" not in kinds:
        return []
    head = Heading("Buying instead of renting", id="buy")
    try:
        d = ctx.buy_vs_cloud().to_dict()
    except RdcostError as exc:
        return [head, Paragraph(f"Not available: {exc}")]
    return [
        head,
        Paragraph(
            "From rdcost compare-buy-vs-cloud with the same assumptions; its own report has every "
            "assumption of the owned hardware (server price, lifetime, hosting, staff)."
        ),
        buy_vs_cloud.brief_table(d),
        Figure("buy-vs-cloud-cumulative", REPORT_PLOTS["buy-vs-cloud-cumulative"]),
    ]


def _breakdown(ctx: ProjectAnalysis) -> list[Block]:
    """The breakdown section (with --by): its table and plot."""
    b = ctx.breakdown()
    if b is None:
        return []
    from rdcost.output.views import breakdown as breakdown_view

    return [
        _section("breakdown"),
        Paragraph(breakdown_view.title(b) + "."),
        breakdown_view.table(b),
        Paragraph(breakdown_view.note(b)),
        Figure("breakdown", BREAKDOWN_CAPTION),
    ]


def _capacity(ctx: ProjectAnalysis) -> list[Block]:
    """The owned-capacity section (with --capacity): utilization, idle cost and its spread."""
    if ctx.capacity is None:
        return []
    from rdcost.output.views import capacity as capacity_view

    return [_section("capacity"), *capacity_view.blocks(ctx.idle())]


def _inputs(ctx: ProjectAnalysis) -> Block:
    if not ctx.inputs:
        return Paragraph("unknown: the input files were not given to the report")
    rows = [
        (
            r.path,
            r.format,
            integer(r.size_bytes),
            r.sha256,
            r.ingested_time[:19],
            r.rdcost_version,
            integer(r.n_jobs),
            json.dumps(r.options, sort_keys=True) if r.options else "",
        )
        for r in ctx.inputs
    ]
    return Table.of(
        (
            "file",
            "format",
            "size (bytes)",
            "sha256",
            "ingested (UTC)",
            "rdcost",
            "jobs",
            "ingest options",
        ),
        rows,
        right=("size (bytes)", "jobs"),
        breakable=("file", "sha256"),
    )


def _statement(st: card.Statement) -> list[Block]:
    return [
        _section("card"),
        Paragraph(
            "For the paper (Strubell et al. 2019, section 5); rdcost card --format latex prints it "
            "for LaTeX."
        ),
        statement.table(st),
        *(Note(n) for n in statement.notes(st)),
        Preformatted(card.to_markdown(st), id="card-markdown"),
    ]


def _reproduce(ctx: ProjectAnalysis, command: str | None) -> list[Block]:
    s = ctx.summary
    versions = ", ".join(f"{p} {_version(p)}" for p in ("pandas", "pyarrow", "matplotlib"))
    appendix = summary.figures_table(s)
    return [
        _section("reproduce"),
        Paragraph("Ingest the files above (check their sha256), then run:"),
        Preformatted(
            command
            or f"rdcost report{' --project ' + ctx.project if ctx.project else ''} "
            f"--assumptions {s.assumptions['name']} -o report.html"
        ),
        Paragraph(f"rdcost {__version__}, Python {platform.python_version()}, {versions}."),
        Details(
            f"Every figure of the summary ({integer(len(appendix.rows))} rows, the long form of rdcost "
            "summarize -f csv)",
            appendix,
        ),
    ]


def document(
    ctx: ProjectAnalysis,
    *,
    kinds: Sequence[str] = tuple(REPORT_PLOTS),
    command: str | None = None,
    generated: str | None = None,
    statement_: card.Statement | None = None,
    tuning: Tuning | None = None,
    compare: Sequence[tuple[str, Any]] = (),
) -> Document:
    """The report. ``kinds``: the plots to include; ``tuning``: :func:`rdcost.output.statement.tuning_analysis`
    of the context (default: with the default parameters); ``statement_``: the compute statement."""
    s = ctx.summary
    tu = tuning if tuning is not None else card.tuning_analysis(ctx)
    st = statement_ or card.statement(ctx, tuning=tu)
    plot = [k for k in REPORT_PLOTS if k in kinds]

    def fig(kind: str) -> list[Block]:
        return [Figure(kind, REPORT_PLOTS[kind])] if kind in plot else []

    title = f"rdcost report: {ctx.who}"
    out: list[Block] = [
        Heading(title, level=1),
        Paragraph(
            f"Generated {generated or 'now'} by rdcost {__version__} with the {assumptions_brief(s)}."
        ),
        Contents(
            tuple(
                (k, v)
                for k, v in SECTIONS.items()
                if (k != "breakdown" or ctx.by is not None)
                and (k != "capacity" or ctx.capacity is not None)
            )
        ),
        _section("summary"),
        summary.key_figures(s),
        _section("gpu-use"),
        *fig("gpus-in-use"),
        *fig("cumulative"),
        _section("rd"),
        Paragraph(summary.rd_note(s)),
        summary.rd_table(s),
        *fig("rd-cost"),
        Paragraph("Familiar comparisons (Strubell et al. 2019, Table 1):"),
        summary.comparisons_table(s),
        _section("energy"),
        *energy_view.blocks(s, heading=False),
        *fig("energy"),
        *_comparison(compare),
        _section("waste"),
        Paragraph(summary.waste_note(s)),
        summary.waste_table(s),
        *fig("waste"),
        _section("utilization"),
        *utilization_view.blocks(s, heading_=False),
        *_breakdown(ctx),
        *_capacity(ctx),
        _section("jobs"),
        summary.states_table(s),
        summary.gpu_types_table(s),
        BulletList(summary.chain_lines(s)),
        *fig("job-lengths"),
        Paragraph(f"The {TOP_JOBS} largest jobs by GPU-hours:"),
        _largest_jobs(ctx),
        _section("data-quality"),
        *summary.data_quality_blocks(s),
        _section("searches"),
        Paragraph(
            f"{plural(s.n_grid_searches, 'search')}, {plural(s.n_jobs_in_grid_searches, 'job')}. The "
            f"{TOP_SEARCHES} largest by GPU time:"
        ),
        *_searches(ctx),
        *fig("grid-searches"),
        *_tuning(tu, st, fig),
        *_buy(ctx, plot),
        *_statement(st),
        _section("assumptions"),
        Paragraph(summary.assumptions_brief_header(s)),
        summary.assumptions_table(s),
    ]
    if s.notes:
        out += [Paragraph("Notes:"), BulletList(s.notes)]
    out += [_section("inputs"), _inputs(ctx), *_reproduce(ctx, command)]
    return Document(title, out)


def _comparison(compare: Sequence[tuple[str, Any]]) -> list[Block]:
    """The same project under other assumptions, side by side (``--compare-with``)."""
    if len(compare) < 2:
        return []
    return [
        Heading("The paper's method and the current one, side by side", level=3, id="methods"),
        energy_view.comparison_table(compare),
        Paragraph(
            "Each column is the whole summary under one set of assumptions (its name); the "
            "ranges are low - high. rdcost report --compare-with adds a column."
        ),
    ]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
