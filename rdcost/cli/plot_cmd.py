"""`rdcost plot`: one plot of a project to PNG, SVG or PDF; `plot --list` lists every kind.

Also holds what `plot`, `report` and `card` share: they take exactly the
options of `rdcost summarize` (store, project, projects file, assumptions and
every override), borrowed from its signature by :func:`with_summary_options`
so that they stay the same, and build a :class:`rdcost.context.Context` from
them with :func:`context_from_options`.
"""

from __future__ import annotations

import functools
import inspect
import shlex
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..assumptions import load
from ..context import Context, build_context, draw, plot_kinds
from ..errors import RdcostError, UsageError
from .app import app, err, load_jobs, out, state
from .summarize_cmd import apply_options, summarize_command

#: Options of `rdcost summarize` that are not about which jobs and which assumptions.
_NOT_SHARED = {"format", "engine", "scheduler"}


def with_summary_options(fn: Callable) -> Callable:
    """Give a command the options of `rdcost summarize` (after its own); it receives them as keywords."""
    own = [p for p in inspect.signature(fn, eval_str=True).parameters.values()
           if p.kind is not inspect.Parameter.VAR_KEYWORD]
    shared = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
              for p in inspect.signature(summarize_command, eval_str=True).parameters.values()
              if p.name not in _NOT_SHARED and p.name not in {q.name for q in own}]
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        return fn(**kwargs)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def context_from_options(opts: dict[str, Any]) -> Context:
    """The jobs and assumptions the summarize options select, prepared (exits 1 on an empty store)."""
    from ..buy_vs_cloud import load_owned
    from ..projects import load_projects
    from ..store import Store

    specs = opts.get("assumptions") or []
    a = apply_options(load(specs), {k: _plain(v) for k, v in opts.items()})
    project = opts.get("project")
    defs = load_projects(opts["projects_file"]) if opts.get("projects_file") is not None else None
    jobs = load_jobs(opts.get("store"), project, defs=defs)
    if jobs.empty:
        raise RdcostError(f"no jobs for project {project!r}" if project else "the store holds no jobs",
                          hint="`rdcost jobs --columns project` lists the stored projects")
    return build_context(jobs, a, project=project, on_missing=_plain(opts.get("on_missing")) or "raise",
                         owned=load_owned(specs), inputs=Store(opts.get("store")).inputs())


def command_line(ctx: typer.Context) -> str:
    """The command as the user typed it (options given on the line only; --store left out:
    the reader ingests into a store of their own)."""
    try:  # typer >= 0.2x vendors click; older releases use the click package
        from typer._click.core import ParameterSource
    except ImportError:  # pragma: no cover
        from click.core import ParameterSource

    words = ["rdcost"] + (["--anonymize"] if state.anonymize else []) + [ctx.info_name or ""]
    for p in ctx.command.params:
        if p.name == "store" or ctx.get_parameter_source(p.name) is not ParameterSource.COMMANDLINE:
            continue
        v = ctx.params.get(p.name)
        if p.param_type_name == "argument":
            words.append(str(_plain(v)))
            continue
        long = max(p.opts, key=len)
        if getattr(p, "is_flag", False):
            words.append(long if v else (max(p.secondary_opts, key=len) if p.secondary_opts else ""))
            continue
        for item in (v if isinstance(v, list | tuple) else [v]):
            words += [long, str(_plain(item))]
    return shlex.join(w for w in words if w)


@with_summary_options
def plot_command(
    kind: Annotated[str | None, typer.Argument(help="The plot kind; `rdcost plot --list` lists them.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write: .png, .svg or .pdf (the suffix decides).")] = None,
    list_kinds: Annotated[bool, typer.Option("--list", help="List every plot kind with what it shows.")] = False,
    **opts: Any,
) -> None:
    """One plot of a project to PNG, SVG or PDF (headless), with units on every axis and the
    assumptions beside every cost and CO2e figure; colours safe for colour-blind readers.
    Without KIND (or with --list), list the kinds. Takes the options of `rdcost summarize`.

    Example:

      rdcost plot --list

      rdcost plot gpus-in-use --project lisa --assumptions paper -o gpus.png

      rdcost plot rd-cost -p lisa -a paper -o rd-cost.pdf
    """
    if kind is None or list_kinds:
        kinds = plot_kinds()
        width = max(len(k) for k in kinds)
        out("\n".join(f"{k.ljust(width)}  {d}" for k, d in kinds.items()))
        return
    if output is None:
        raise UsageError(f"give the file to write: rdcost plot {kind} -o FILE (.png, .svg or .pdf)")
    from ..plots import get_plot

    get_plot(kind)  # an unknown kind fails before the jobs are read
    ctx = context_from_options(opts)
    written = draw(kind, ctx, output)
    err.print(f"rdcost: wrote {written}", markup=False)
    for n in ctx.summary.notes:
        err.print(f"rdcost: note: {n}", markup=False)


app.command("plot")(plot_command)
