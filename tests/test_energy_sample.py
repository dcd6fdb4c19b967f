"""The energy sample project (sample_logs/energy, synthetic): every energy source is used,
the shares of GPU-hours add to 100%, the measured jobs' energy equals their logged joules x
the site's PUE, implausible and shared-node readings are flagged, counted and not used, and
every energy, electricity and CO2e figure has a low / central / high range whose inputs are
listed. The expected figures are worked out here from the files themselves (read with the
csv and json modules, not with rdcost)."""

from __future__ import annotations

import csv
import json
import tomllib

import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.summary import summarize, summarize_store
from rdcost.readers.ingest import ingest, read_log
from rdcost.samples import energy as sample
from tests.conftest import REPO

SAMPLE = REPO / "sample_logs" / "energy"
J_PER_KWH = 3_600_000
MAX_NODE_W = 10_200  # refdata energy_defaults.csv: max_node_w


def alloc_lines() -> list[dict[str, str]]:
    with open(SAMPLE / "sacct.txt", newline="") as fh:
        return [r for r in csv.DictReader(fh, delimiter="|") if "." not in r["JobID"]]


def gpus(tres: str) -> int:
    return int(dict(x.split("=", 1) for x in tres.split(","))["gres/gpu"])


@pytest.fixture(scope="module")
def summary_dict(tmp_path_factory):
    store = tmp_path_factory.mktemp("energy-store")
    ingest([SAMPLE / "sacct.txt", SAMPLE / "wandb_runs.jsonl"], store=store, project="energy")
    a = A.load(["current", str(SAMPLE / "site.toml")])
    return summarize_store(store, "energy", assumptions=a).to_dict(), store, a


def test_the_generator_gives_the_committed_files(tmp_path):
    paths = sample.generate(tmp_path, sample.SEED)
    for name, p in paths.items():
        assert p.read_bytes() == (SAMPLE / name).read_bytes(), name


def test_every_source_is_used_and_shares_add_to_one(summary_dict):
    d = summary_dict[0]
    by = {r["source"]: r for r in d["energy"]["by_source"]}
    assert {"meter", "gpu_power", "gpu_utilization", "rated_x_factor"} <= set(by)
    assert sum(r["share_of_gpu_hours"] for r in by.values()) == pytest.approx(1.0)
    assert sum(r["gpu_hours"] for r in by.values()) == pytest.approx(d["gpu_hours"])


def test_measured_energy_is_the_logged_joules_times_the_site_pue(summary_dict):
    d = summary_dict[0]
    site = tomllib.loads((SAMPLE / "site.toml").read_text())["site"]
    pue = next(p["value"] for p in site["pue"] if p["year"] == 2025)  # 1.25
    shared = set(site["shared_partitions"])
    used, above, shared_n = [], 0, 0
    for r in alloc_lines():
        e, nodes, el = float(r["ConsumedEnergyRaw"]), int(r["NNodes"]), float(r["ElapsedRaw"])
        if e <= 0 or gpus(r["AllocTRES"]) == 0:
            continue
        if e > nodes * MAX_NODE_W * el:
            above += 1
        elif r["Partition"] in shared:
            shared_n += 1
        else:
            used.append(e)
    by = {r["source"]: r for r in d["energy"]["by_source"]}
    assert by["meter"]["n_jobs"] == len(used)
    assert round(by["meter"]["energy_kwh"]) == round(sum(used) / J_PER_KWH * pue)
    assert by["meter"]["energy_kwh"] == pytest.approx(sum(used) / J_PER_KWH * pue)
    m = d["energy"]["meter"]
    flags = {f["reason"]: f["n_jobs"] for f in m["flags"]}
    assert flags == {"above_max": above, "shared_partition": shared_n}
    assert m["n_jobs_flagged"] == above + shared_n and above == 2
    assert d["energy"]["layers"]["measured_node_kwh"] == pytest.approx(sum(used) / J_PER_KWH)


def test_gpu_power_jobs_are_the_runs_with_power_metrics(summary_dict):
    d = summary_dict[0]
    gh = 0.0
    with open(SAMPLE / "wandb_runs.jsonl") as fh:
        for line in fh:
            r = json.loads(line)
            if any(k.endswith("powerWatts") for k in r["system_metrics"]):
                gh += r["metadata"]["gpu_count"] * r["summary"]["_wandb"]["runtime"] / 3600
    by = {r["source"]: r for r in d["energy"]["by_source"]}
    assert by["gpu_power"]["gpu_hours"] == pytest.approx(gh)


def test_every_figure_has_a_range_and_its_inputs_are_listed(summary_dict):
    d = summary_dict[0]
    for name, r in d["energy"]["ranges"].items():
        assert r["low"] <= r["central"] <= r["high"], name
    for row in [*d["rd_table"], d["waste"]["total"]]:
        for k in ("energy_kwh", "electricity_usd", "co2e_kg", "co2e_lbs"):
            if row[k] is not None:
                assert row[f"{k}_low"] <= row[k] <= row[f"{k}_high"], (row.get("label"), k)
    for i in d["energy"]["inputs"]:
        assert i["source"] and i["origin"], i["input"]
    names = {i["input"] for i in d["energy"]["inputs"]}
    assert {"pue", "carbon_intensity_kg_per_kwh", "meter_uncertainty", "idle_fraction"} <= names
    assert d["energy"]["carbon"]["central_basis"] == "time-matched series"
    assert d["energy"]["carbon"]["market_co2e_kg"] < d["co2e_kg"]


def test_store_and_memory_give_the_same_summary(summary_dict):
    d, _, a = summary_dict
    jobs = [read_log(SAMPLE / "sacct.txt"), read_log(SAMPLE / "wandb_runs.jsonl")]
    import pandas as pd

    from rdcost.jobtable.schema import conform

    frame = conform(pd.concat(jobs, ignore_index=True).assign(project="energy"))
    mem = summarize(frame, a, project="energy").to_dict()
    for k in ("gpu_hours", "energy_kwh", "co2e_kg", "energy_kwh_low", "co2e_kg_high"):
        assert mem[k] == pytest.approx(d[k]), k
    assert mem["energy"]["by_source"] == d["energy"]["by_source"]


def test_energy_plot_shows_sources_layers_ranges_in_safe_colours(summary_dict, tmp_path):
    from rdcost.analysis.project import analyze_project
    from rdcost.jobtable.store import Store
    from rdcost.output.plots import draw
    from rdcost.output.plots.case_study import OKABE_ITO
    from tests.test_plots import svg_colours, svg_text

    _, store, a = summary_dict
    ctx = analyze_project(Store(store).read_jobs(project="energy"), a, project="energy")
    out = draw("energy", ctx, tmp_path / "energy.svg")
    text = svg_text(out)
    e = ctx.summary.energy
    r = e["ranges"]["energy_kwh"]
    assert f"facility energy {r['central']:,.0f} kWh ({r['low']:,.0f} - {r['high']:,.0f})" in text
    for x in e["by_source"]:
        assert x["source"].replace("_", " ") in text
    assert "market-" in text and "time-matched" in text and "embodied" in text
    coloured = {c for c in svg_colours(out) if len({c[1:3], c[3:5], c[5:7]}) > 1}  # greys are fine
    assert coloured <= {c.lower() for c in OKABE_ITO.values()}


def _cli(*args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args], capture_output=True, text=True, cwd=REPO
    )


def test_cli_series_option_compare_with_and_report(summary_dict, tmp_path):
    _, store, _ = summary_dict
    base = ["--store", str(store), "-p", "energy"]
    r = _cli(
        "summarize",
        *base,
        "-a",
        "current",
        "--carbon-series",
        str(SAMPLE / "carbon_series.csv"),
        "-f",
        "json",
    )
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)["energy"]["carbon"]
    assert c["central_basis"] == "time-matched series"
    assert c["series"]["origin"] == "option --carbon-series" and c["series"]["zone"] == "SYNTH"
    r = _cli("card", *base, "-a", "paper", "--compare-with", f"current,{SAMPLE / 'site.toml'}")
    assert r.returncode == 0, r.stderr
    assert "| figure | paper | current+site |" in r.stdout
    assert "| method | gpu\\_power | best\\_available |" in r.stdout
    out = tmp_path / "report.md"
    r = _cli(
        "report",
        *base,
        "-a",
        "current",
        "-a",
        str(SAMPLE / "site.toml"),
        "--compare-with",
        "paper",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    for s in (
        "## Energy and CO2e",
        "### Energy by source",
        "The whole footprint",
        "side by side",
        "energy.png",
    ):
        assert s in text, s
