"""The compute statement (:class:`rdcost.output.statement.Statement`) as an item/value
table and the notes under it: `rdcost card` prints it in Markdown or LaTeX, the report
shows the same table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdcost.output.blocks import Document, Note, Paragraph, Table
from rdcost.output.numbers import integer, number, pct, usd_range
from rdcost.output.views import energy as energy_view
from rdcost.output.views import summary
from rdcost.plural import plural

if TYPE_CHECKING:  # rdcost.output.statement imports this module
    from rdcost.output.statement import Statement


def _day(ts: str | None) -> str:
    return "unknown" if ts is None else ts[:10]


def rows(st: Statement) -> list[tuple[str, str]]:
    """The statement as (item, text) pairs of plain text (the renderers escape them)."""
    share = ", ".join(f"{t} {pct(v, 0)}" for t, v in st.gpu_type_share.items() if v is not None)
    final = (
        f"{st.final_model_hardware or 'unknown hardware'}, {number(st.final_model_hours)} hours wall-clock, "
        f"{number(st.final_model_gpu_hours)} GPU-hours: {st.final_model_rule}"
    )
    if st.one_model_source and st.one_model_gpu_hours is not None:
        final += f"; costed as {number(st.one_model_gpu_hours)} GPU-hours per model ({st.one_model_source})"
    whole = (
        f"{number(st.gpu_hours)} GPU-hours ({number(st.gpu_days)} GPU-days) in {plural(st.n_jobs, 'job')} over "
        f"{number(st.span_days)} days, {_day(st.first_start_time)} to {_day(st.last_end_time)}"
        + (f"; GPU types by share of GPU-hours: {share}" if share else "")
    )
    sshare = (
        (st.grid_search_gpu_hours / st.gpu_hours)
        if st.grid_search_gpu_hours is not None and st.gpu_hours
        else None
    )
    tuning = (
        f"{plural(st.n_grid_searches, 'grid search')}: {plural(st.n_jobs_in_grid_searches, 'job')}, "
        f"{number(st.grid_search_gpu_hours)} GPU-hours ({pct(sshare)} of the project)"
    )
    tu = st.tuning
    if tu.n_configurations is not None:
        configs = (
            f"{integer(tu.n_configurations)} distinct hyperparameter configurations (seeds excluded) among "
            f"{plural(tu.n_runs_with_config, 'run')} that log them"
        )
    else:
        configs = (
            f"unknown (no run logs its hyperparameters); {plural(st.n_jobs_in_grid_searches, 'job')} ran in "
            "grid searches"
        )
    energy = (
        f"{number(st.energy_kwh)} kWh (PUE included), {number(st.co2e_kg)} kg CO2e "
        f"({number(st.co2e_lbs)} lbs)"
    )
    if st.energy:
        energy = energy_view.brief(st.energy) + f"; {number(st.co2e_lbs)} lbs CO2e"
    cloud = usd_range(st.cloud_usd_low, st.cloud_usd_high) + " (low: pre-emptible, high: on-demand)"
    out = [
        ("Final model", final),
        ("Whole project", whole),
        ("How the GPU-hours were typed, priced and powered", " ".join(summary.chain_lines(st))),
        ("Data quality", summary.data_quality_brief(st)),
        ("Hyperparameter tuning", tuning),
        ("Configurations tried", configs),
        ("Energy and CO2e", energy),
        ("Cloud cost of the same GPU-hours", cloud),
    ]
    checklist = ("Compute (NeurIPS checklist)", neurips(st))
    if not tu.is_available:
        return [*out, ("Hyperparameter sensitivity", tu.reason or "not available"), checklist]
    goal = "higher" if tu.goal == "max" else "lower"
    return [
        *out,
        ("Metric tuned for", f"{tu.metric}, {goal} is better ({tu.metric_rule})"),
        *tu.items,
        checklist,
    ]


def notes(st: Statement) -> list[str]:
    """The lines under the table: assumptions, the tuning analysis's method, provenance."""
    files = ", ".join(
        f"{r['path'].rsplit('/', 1)[-1]} (sha256 {r['sha256'][:12]})" for r in st.inputs
    )
    out = [f"Assumptions: {st.assumptions_text}."]
    if st.tuning.method:
        out.append(st.tuning.method)
    out.append(
        f"Computed with rdcost {st.rdcost_version}" + (f" from {files}" if files else "") + "."
    )
    return out


def neurips(st: Statement) -> str:
    """The NeurIPS checklist's compute paragraph (the card's last row): per-run compute of the
    final model, total compute, and the shares of tuning, failed and preliminary runs."""
    split = st.compute_split or {}
    total = st.gpu_hours

    def share(k: str) -> str:
        v = split.get(k)
        return pct(None if v is None or not total else v / total)

    times = (
        f"{number(total / st.final_model_gpu_hours)} times"
        if st.final_model_gpu_hours and total
        else "an unknown multiple of"
    )
    return (
        f"The final model took {number(st.final_model_gpu_hours)} GPU-hours "
        f"({st.final_model_hardware or 'unknown hardware'}, {number(st.final_model_hours)} hours "
        f"wall-clock); the whole project used {number(total)} GPU-hours in {plural(st.n_jobs, 'job')}, "
        f"{times} the final model. Of those GPU-hours, {share('grid_searches')} went to "
        f"hyperparameter searches, {share('failed')} to crashed, failed, cancelled or timed-out runs "
        f"outside them, {share('final_size')} to final-size runs and {share('other')} to preliminary "
        "and other runs (each job counted once, in that order)."
    )


def table(st: Statement) -> Table:
    return Table.of(("item", "value"), rows(st))


def comparison_table(st: Statement) -> Table | None:
    """The same project under other assumptions, side by side (``--compare-with``)."""
    c = st.comparison
    if not c:
        return None
    return Table.of(c["columns"], c["rows"])


def document(st: Statement) -> Document:
    """The statement's title line, its table and its notes. The document's title (a LaTeX
    caption) names the project."""
    heading = f"Compute statement: project {st.project}" if st.project else "Compute statement"
    caption = f"Compute statement for project {st.project}" if st.project else "Compute statement"
    side = comparison_table(st)
    extra: list = (
        []
        if side is None
        else [
            Paragraph("The same project under each set of assumptions (low - high in brackets):"),
            side,
        ]
    )
    return Document(
        caption,
        [Paragraph(heading, strong=True), table(st), *extra, *(Note(n) for n in notes(st))],
        id="compute-statement",
        generator=f"rdcost {st.rdcost_version}",
    )
