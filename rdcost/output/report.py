"""A shareable report of a project: one self-contained HTML file, or Markdown.

:func:`write_report` lays the report out (:func:`rdcost.output.views.report.document`),
draws its plots and writes it: HTML (:mod:`rdcost.output.renderers.html`) is one file that
works offline, the plots embedded as ``data:`` URIs, the style sheet inline, no script, no
external URL, font or style, and a Content-Security-Policy that forbids loading anything but
the embedded images; Markdown (:mod:`rdcost.output.renderers.markdown`) has the plots as PNG
files beside it, in ``<name>_files/``, linked relatively (GitHub and most viewers do not
show ``data:`` images in Markdown). Both come from the same document, so they carry the
same content, and every string that came from a log is escaped for the format.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rdcost import progress
from rdcost.analysis.project import ProjectAnalysis
from rdcost.analysis.tuning import TuningParams
from rdcost.errors import RdcostError, UsageError
from rdcost.output import statement as card
from rdcost.output.plots import draw
from rdcost.output.renderers import html, markdown
from rdcost.output.views.report import REPORT_PLOTS, document

__all__ = ["REPORT_PLOTS", "SUFFIXES", "TUNING_PLOTS", "write_report"]

#: Plots drawn from the tuning analysis (left out, with the section saying why, when it is not available).
TUNING_PLOTS = ("sensitivity", "tuning-return")
SUFFIXES = (".html", ".htm", ".md")


def _check(path: Path, kinds: Sequence[str]) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"a report file must end in {', '.join(SUFFIXES)}", value=str(path))
    unknown = [k for k in kinds if k not in REPORT_PLOTS]
    if unknown:
        raise UsageError(
            f"not a report plot: {', '.join(unknown)}",
            hint=f"report plots: {', '.join(REPORT_PLOTS)}",
        )


def _drawable(ctx: ProjectAnalysis, kinds: Sequence[str], tuning_reason: str | None) -> list[str]:
    """The plots that can be drawn (the report's sections say why the others are not there)."""
    out = [k for k in kinds if k not in TUNING_PLOTS or tuning_reason is None]
    if ctx.by is not None:  # the breakdown section's plot, with --by
        out.append("breakdown")
    if "buy-vs-cloud-cumulative" in out:
        try:
            ctx.buy_vs_cloud()
        except RdcostError:
            out.remove("buy-vs-cloud-cumulative")
    return out


def write_report(
    ctx: ProjectAnalysis,
    path: Path | str,
    *,
    kinds: Sequence[str] = tuple(REPORT_PLOTS),
    command: str | None = None,
    params: TuningParams | None = None,
    final_job: str | None = None,
    generated: str | None = None,
    compare: Sequence[tuple[str, Any]] = (),
) -> Path:
    """Write the report to ``path``: ``.html``/``.htm`` (self-contained) or ``.md`` (plots in
    ``<stem>_files/``). Returns the path. ``params`` (how the tuning is analyzed) and ``final_job``
    as in :func:`rdcost.output.statement.statement`."""
    path = Path(path)
    _check(path, kinds)
    generated = generated or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with progress.task("writing the report", total=3 + len(kinds)) as t:
        return _write(ctx, path, kinds, command, params, final_job, generated, compare, t)


def _write(
    ctx: ProjectAnalysis,
    path: Path,
    kinds: Sequence[str],
    command: str | None,
    params: TuningParams | None,
    final_job: str | None,
    generated: str,
    compare: Sequence[tuple[str, Any]],
    t: progress.Task,
) -> Path:
    tu = card.tuning_analysis(ctx, params)
    t.advance(what="tuning analysed")
    st = card.statement(ctx, final_job=final_job, tuning=tu, compare=compare)
    plot_kinds = _drawable(ctx, kinds, tu[1])
    t.advance(steps=1 + len(kinds) - len(plot_kinds), what="compute statement")
    side = [(ctx.summary.assumptions["name"], ctx.summary), *compare] if compare else []
    doc = document(
        ctx,
        kinds=kinds,
        command=command,
        generated=generated,
        statement_=st,
        tuning=tu,
        compare=side,
    )

    def plot(kind: str, to: Path) -> Path:
        out = draw(kind, ctx, to, source=tu[0] if kind in TUNING_PLOTS else None)
        t.advance(what=f"plot {kind}")
        return out

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".md":
        folder = path.with_name(path.stem + "_files")
        folder.mkdir(exist_ok=True)
        for k in plot_kinds:
            plot(k, folder / f"{k}.png")
        text = markdown.render(doc, {k: f"{folder.name}/{k}.png" for k in plot_kinds})
    else:
        with tempfile.TemporaryDirectory(prefix="rdcost-report-") as tmp:
            images = {k: plot(k, Path(tmp) / f"{k}.png").read_bytes() for k in plot_kinds}
        text = html.render(doc, images)
    tmp_path = path.with_name(f".{path.name}.tmp")
    tmp_path.write_text(text, encoding="utf-8")
    tmp_path.replace(path)
    t.advance(what="written")
    return path
