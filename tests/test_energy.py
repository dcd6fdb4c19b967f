"""The energy model (docs/energy.md): each job's energy source, the checks of meter
readings, the layers of the footprint, low / central / high ranges, embodied emissions,
time-matched and market-based CO2e, on hand-made jobs whose every figure is worked out by
hand below from the rows and the inputs the test sets; the carbon-series reader; and the
paper's reproduction left exactly as it was."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.energy import settings as S
from rdcost.analysis.summary import summarize
from rdcost.errors import AssumptionError, ParseError
from rdcost.jobtable.schema import conform
from rdcost.readers.carbon_series import read_series
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "energy"
T0 = pd.Timestamp("2025-01-01", tz="UTC")
H = 3600
J_PER_KWH = 3_600_000
HOURS_PER_YEAR = 8766  # 365.25 x 24

#: Every input set by hand, so that every figure below can be worked out from it.
INPUTS = {
    "energy": {
        "method": "best_available",
        "meter_uncertainty": 0.1,
        "gpu_sensor_uncertainty": 0.05,
        "max_node_w": 10_000,
        "rated_factor": {"value": 0.8, "low": 0.6, "high": 1.0},
        "idle_fraction": {"value": 0.2, "low": 0.1, "high": 0.25},
        "max_fraction": {"value": 1.0, "low": 0.8, "high": 1.0},
        "cpu_w_per_core": 10,
        "cpu_usage_unknown": {"value": 0.5, "low": 0.5, "high": 1.0},
        "memory_w_per_gb": 0.5,
        "host_w_per_gpu": {"value": 100, "low": 0, "high": 200},
        "pue": {"value": 1.2, "low": 1.1, "high": 1.5},
        "carbon_factor": {"value": 1, "low": 0.5, "high": 2},
    },
    "pue": {"value": 1.2},
    "carbon": {"kg_co2e_per_kwh": 0.5},
    "electricity": {"usd_per_kwh": 0.1},
    "embodied": {
        "kg_per_gpu": {"value": 100, "low": 50, "high": 200},
        "lifetime_years": {"value": 4, "low": 2, "high": 5},
        "utilization": {"value": 0.5, "low": 0.25, "high": 1.0},
    },
    "site": {"cfe_fraction": 0.4, "source": "test"},
    "prices": {"*": {"usd_per_gpu_hour_low": 1, "usd_per_gpu_hour_high": 2}},
}


def row(key, hours, n_gpus, start_h=0.0, **kw):
    start = T0 + pd.Timedelta(hours=start_h)
    r = dict(
        record_key=key,
        source="slurm",
        job_id=key,
        state="COMPLETED",
        submit_time=start,
        start_time=start,
        end_time=start + pd.Timedelta(hours=hours),
        elapsed_s=hours * H,
        n_gpus=float(n_gpus),
        gpu_type="h100",  # h100_sxm: 700 W rated (gpus.csv)
        n_nodes=1,
        project="p",
    )
    r.update(kw)
    return r


def four_jobs() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            [
                # m: 8 GPUs for 10 h on node n1, a node meter of 2.88e8 J = 80 kWh (limit: 1
                # node x 10,000 W x 10 h = 100 kWh): used
                row("m", 10, 8, node_list="n1", energy_j=2.88e8, n_cpus=64, mem_req_bytes=5e11),
                # o: 4.0e8 J = 111.1 kWh > 100 kWh: flagged; no GPU measurement: rated x factor
                row("o", 10, 8, 11, node_list="n2", energy_j=4.0e8, n_cpus=64, mem_req_bytes=5e11),
                # s: 2 of n1's 8 GPUs, 4 h: its node meter is the whole node's: flagged; 50%
                # utilisation measured (jobstats): the utilisation model
                row(
                    "s",
                    4,
                    2,
                    22,
                    node_list="n1",
                    energy_j=5.0e7,
                    n_cpus=16,
                    total_cpu_s=16 * 4 * H * 0.25,
                    mem_req_bytes=1e11,
                    gpu_util_percent=50.0,
                    gpu_metrics_source="jobstats",
                ),
                # p: 4 GPUs for 5 h at 500 W measured (W&B); no CPU count or memory logged
                row(
                    "p",
                    5,
                    4,
                    30,
                    source="wandb",
                    n_nodes=None,
                    gpu_power_w=500.0,
                    gpu_metrics_source="wandb system metrics (process GPUs)",
                ),
            ]
        )
    )


def test_sources_layers_and_ranges_worked_by_hand():
    a = A.apply_dict(A.Assumptions(), INPUTS, "test")
    d = summarize(four_jobs(), a).to_dict()
    e = d["energy"]
    by = {r["source"]: r for r in e["by_source"]}
    # GPU-hours: m 80, o 80, s 8, p 20 = 188
    assert d["gpu_hours"] == pytest.approx(188)
    assert {k: v["gpu_hours"] for k, v in by.items()} == pytest.approx(
        {"meter": 80, "rated_x_factor": 80, "gpu_utilization": 8, "gpu_power": 20}
    )
    assert sum(r["share_of_gpu_hours"] for r in e["by_source"]) == pytest.approx(1.0)
    # IT energy (kWh), central (low, high):
    # m: 80 (72, 88): the meter +- 10%
    # o: GPUs 80 GPU-h x 700 W x 0.8 = 44.8 (x 0.6: 33.6, x 1.0: 56); CPU 64 cores x 10 h x 0.5
    #    (usage unknown) x 10 W = 3.2 (usage 1.0: 6.4), memory 500 GB x 10 h x 0.5 W = 2.5;
    #    host 80 GPU-h x 100 W = 8 (0, 200 W: 16) covers them: IT 44.8 + 8 = 52.8 (33.6 + 5.7
    #    = 39.3, 56 + 16 = 72); node's share 8 - 5.7 = 2.3
    # s: 700 x (0.2 + 0.5 x (1 - 0.2)) = 420 W x 8 GPU-h = 3.36 (700 x (0.1 + 0.5 x 0.7) =
    #    315: 2.52; 700 x (0.25 + 0.5 x 0.75) = 437.5: 3.5); CPU 16 core-h x 10 W = 0.16,
    #    memory 100 GB x 4 h x 0.5 W = 0.2; host 8 x 100 W = 0.8 (0; 1.6): IT 4.16 (2.88; 5.1)
    # p: 500 W x 20 GPU-h = 10 (9.5; 10.5); no CPU or memory logged: the host share 20 x 100 W
    #    = 2 (0; 4) stands for them: IT 12 (9.5; 14.5)
    it = 80 + 52.8 + 4.16 + 12
    it_lo = 72 + 39.3 + 2.88 + 9.5
    it_hi = 88 + 72 + 5.1 + 14.5
    r = e["ranges"]
    assert r["it_kwh"] == pytest.approx({"low": it_lo, "central": it, "high": it_hi})
    assert r["energy_kwh"] == pytest.approx(
        {"low": it_lo * 1.1, "central": it * 1.2, "high": it_hi * 1.5}
    )
    assert d["energy_kwh"] == pytest.approx(it * 1.2)
    assert (d["energy_kwh_low"], d["energy_kwh_high"]) == pytest.approx((it_lo * 1.1, it_hi * 1.5))
    assert by["meter"]["energy_kwh"] == pytest.approx(2.88e8 / J_PER_KWH * 1.2)
    assert by["rated_x_factor"]["energy_kwh"] == pytest.approx(52.8 * 1.2)
    assert by["gpu_utilization"]["energy_kwh"] == pytest.approx(4.16 * 1.2)
    assert by["gpu_power"]["energy_kwh"] == pytest.approx(12 * 1.2)
    lay = e["layers"]
    assert lay["gpu_kwh"] == pytest.approx(44.8 + 3.36 + 10)
    assert lay["cpu_memory_kwh"] == pytest.approx(5.7 + 0.36)
    assert lay["node_share_kwh"] == pytest.approx(2.3 + 0.44 + 2)
    assert lay["measured_node_kwh"] == pytest.approx(80)
    assert lay["it_kwh"] == pytest.approx(it)
    assert lay["pue_overhead_kwh"] == pytest.approx(it * 0.2)
    assert lay["facility_kwh"] == pytest.approx(it * 1.2)
    # CO2e: x 0.5 kg/kWh (x 0.25 low, x 1.0 high); electricity x $0.10
    assert r["co2e_kg"] == pytest.approx(
        {"low": it_lo * 1.1 * 0.25, "central": it * 1.2 * 0.5, "high": it_hi * 1.5 * 1.0}
    )
    assert r["electricity_usd"]["central"] == pytest.approx(it * 1.2 * 0.1)
    assert d["co2e_lbs"] == pytest.approx(it * 1.2 * 0.5 / 0.45359237)
    # market-based: x (1 - 0.4)
    assert e["carbon"]["market_co2e_kg"] == pytest.approx(it * 1.2 * 0.5 * 0.6)
    # embodied: 188 GPU-h x 100 kg / (4 y x 8,766 h x 0.5); low 50 / (5 x 8,766 x 1); high 200 / (2 x 8,766 x 0.25)
    emb = r["embodied_co2e_kg"]
    assert emb["central"] == pytest.approx(188 * 100 / (4 * HOURS_PER_YEAR * 0.5))
    assert emb["low"] == pytest.approx(188 * 50 / (5 * HOURS_PER_YEAR * 1.0))
    assert emb["high"] == pytest.approx(188 * 200 / (2 * HOURS_PER_YEAR * 0.25))
    assert r["total_co2e_kg"]["central"] == pytest.approx(it * 1.2 * 0.5 + emb["central"])
    # meters: m, o, s read; m used; o above the limit, s a shared node's counter
    m = e["meter"]
    assert (m["n_jobs_with_reading"], m["n_jobs_used"], m["n_jobs_flagged"]) == (3, 1, 2)
    flags = {f["reason"]: f for f in m["flags"]}
    assert flags["above_max"]["n_jobs"] == 1 and flags["shared_node"]["n_jobs"] == 1
    assert flags["above_max"]["energy_kwh_logged"] == pytest.approx(4.0e8 / J_PER_KWH)
    listed = {r["job_id"]: r for r in m["flagged_jobs"]}
    assert listed["o"]["limit_j"] == pytest.approx(1 * 10_000 * 10 * H)
    assert e["n_jobs_cpu_memory_unknown"] == 1
    # every input listed with its origin
    names = {i["input"] for i in e["inputs"]}
    assert {"meter_uncertainty", "rated_factor", "pue", "carbon_intensity_kg_per_kwh"} <= names
    assert all(i["origin"] for i in e["inputs"])


def test_the_one_model_row_scales_the_project_per_gpu_hour():
    a = A.apply_dict(A.Assumptions(), {**INPUTS, "one_model": {"gpu_hours": 10}}, "test")
    d = summarize(four_jobs(), a).to_dict()
    one = d["rd_table"][0]
    it = 80 + 52.8 + 4.16 + 12
    assert one["energy_kwh"] == pytest.approx(10 * it * 1.2 / 188)
    assert one["co2e_kg_high"] == pytest.approx(10 * (88 + 72 + 5.1 + 14.5) * 1.5 / 188)


def test_gpu_power_method_leaves_the_paper_arithmetic_and_adds_ranges():
    paper = A.load(["paper"])
    jobs = four_jobs()
    d = summarize(jobs, paper).to_dict()
    # 188 GPU-hours x 217 W x 1.58 (the paper's implied power and PUE), meters not used
    assert d["energy_kwh"] == 188 * 217 / 1000 * 1.58
    assert d["energy"]["by_source"] == [
        {
            "source": "assumed_power",
            "description": "an assumed power per GPU",
            "n_jobs": 4,
            "gpu_hours": 188.0,
            "share_of_gpu_hours": 1.0,
            "energy_kwh": pytest.approx(188 * 217 / 1000 * 1.58),
            "energy_kwh_low": pytest.approx(188 * 217 / 1000 * 1.1),
            "energy_kwh_high": pytest.approx(188 * 217 / 1000 * 1.7),
        }
    ]
    # ranges: PUE 1.1 - 1.7 (refdata energy_defaults.csv: pue); intensity x 0.6 - 1.4
    kg = 0.954 * 0.45359237
    assert d["co2e_kg_low"] == pytest.approx(188 * 217 / 1000 * 1.1 * kg * 0.6)
    assert d["co2e_kg_high"] == pytest.approx(188 * 217 / 1000 * 1.7 * kg * 1.4)
    assert d["energy"]["layers"]["cpu_memory_kwh"] is None  # not part of the method
    assert d["energy"]["meter"]["n_jobs_used"] == 0


def test_time_matched_intensity_changes_co2e_by_the_hand_worked_amount():
    # series: 00:00 100 g, 01:00 200 g, 02:00 400 g, 03:00 300 g (each for one hour)
    # a: 00:30-02:30, meter 7.2e6 J = 2 kWh x PUE 1.5 = 3 kWh at (0.5 x 100 + 200 + 0.5 x 400)
    #    / 2 = 225 g: 0.675 kg
    # b: 03:00-05:00, meter 3.6e6 J = 1 kWh x 1.5 = 1.5 kWh; 03:00-04:00 at 300 g, the hour the
    #    series does not cover at the annual 500 g: 1.5 x (0.5 x 0.3 + 0.5 x 0.5) = 0.6 kg
    jobs = conform(
        pd.DataFrame(
            [
                row("a", 2, 1, 0.5, node_list="x1", energy_j=7.2e6),
                row("b", 2, 1, 3, node_list="x2", energy_j=3.6e6),
            ]
        )
    )
    layer = {
        "energy": {"method": "best_available"},
        "pue": {"value": 1.5},
        "carbon": {"kg_co2e_per_kwh": 0.5},
        "carbon_series": {"path": str(DATA / "carbon_plain.csv")},
    }
    a = A.apply_dict(A.Assumptions(), layer, "test")
    d = summarize(jobs, a).to_dict()
    c = d["energy"]["carbon"]
    assert d["energy_kwh"] == pytest.approx(4.5)
    assert c["location_annual_co2e_kg"] == pytest.approx(4.5 * 0.5)
    assert c["location_time_matched_co2e_kg"] == pytest.approx(0.675 + 0.6)
    assert d["co2e_kg"] == pytest.approx(0.675 + 0.6)  # the central figure under best_available
    assert d["co2e_kg"] - c["location_annual_co2e_kg"] == pytest.approx(1.275 - 2.25)
    assert c["series"]["covered_share_of_energy"] == pytest.approx((3 + 0.75) / 4.5)
    # the gpu_power method reports it beside the annual central figure
    b = A.apply_dict(A.Assumptions(), {**layer, "energy": {"method": "gpu_power"}}, "test")
    d2 = summarize(jobs, b).to_dict()
    assert d2["energy"]["carbon"]["central_basis"] == "annual average"
    assert d2["energy"]["carbon"]["location_time_matched_co2e_kg"] is not None


def test_shared_partition_and_exclusive_partition_of_the_site():
    jobs = conform(
        pd.DataFrame(
            [
                row("w", 1, 4, node_list="g1", partition="big", energy_j=3.6e6),
                row("x", 1, 4, 2, node_list="g2", partition="small", energy_j=3.6e6),
                row("y", 1, 2, 4, node_list="g2", partition="small", energy_j=3.6e6),
            ]
        )
    )
    base = {"energy": {"method": "best_available"}}
    d = summarize(jobs, A.apply_dict(A.Assumptions(), base, "t")).to_dict()
    # y holds 2 of g2's 4 GPUs (x held 4): a shared node
    assert {f["reason"]: f["n_jobs"] for f in d["energy"]["meter"]["flags"]} == {"shared_node": 1}
    site = {**base, "site": {"shared_partitions": ["big"], "exclusive_partitions": ["small"]}}
    d = summarize(jobs, A.apply_dict(A.Assumptions(), site, "t")).to_dict()
    assert {f["reason"]: f["n_jobs"] for f in d["energy"]["meter"]["flags"]} == {
        "shared_partition": 1
    }
    off = {"energy": {"method": "best_available", "use_meter": False}}
    d = summarize(jobs, A.apply_dict(A.Assumptions(), off, "t")).to_dict()
    assert d["energy"]["meter"]["n_jobs_used"] == 0 and not d["energy"]["meter"]["flags"]


def test_site_pue_table_by_year_and_its_range():
    site = {
        "site": {
            "pue": [
                {"year": 2023, "value": 1.3, "source": "report 2023"},
                {"year": 2025, "value": 1.15, "low": 1.1, "high": 1.2, "source": "report 2025"},
            ]
        }
    }
    a = A.apply_dict(A.load(["current"]), site, "file site.toml")
    r25 = a.for_year(2025)
    assert r25.pue.value == 1.15 and r25.pue.origin.startswith("site table")
    r24 = a.for_year(2024)  # none for 2024: the latest before it, said so
    assert r24.pue.value == 1.3 and "none given for 2024" in (r24.pue.note or "")
    jobs = conform(pd.DataFrame([row("a", 10, 1)]))
    d = summarize(jobs, a).to_dict()
    pue = {i["input"]: i for i in d["energy"]["inputs"]}["pue"]
    assert (pue["low"], pue["value"], pue["high"]) == (1.1, 1.15, 1.2)
    # a later [pue] wins over the site table (layers: later wins)
    b = A.apply_dict(a, {"pue": {"value": 1.4}}, "option --pue")
    assert b.for_year(2025).pue.value == 1.4


def test_layer_errors_name_the_layer_and_key():
    with pytest.raises(AssumptionError, match="energy.method"):
        A.apply_dict(A.Assumptions(), {"energy": {"method": "guess"}}, "file x.toml")
    with pytest.raises(AssumptionError, match="unknown key"):
        A.apply_dict(A.Assumptions(), {"energy": {"rated_factr": 0.7}}, "file x.toml")
    with pytest.raises(AssumptionError, match="low <= value <= high"):
        A.apply_dict(A.Assumptions(), {"energy": {"rated_factor": {"value": 0.7, "low": 0.8}}}, "t")
    with pytest.raises(AssumptionError, match="no CPU model"):
        A.apply_dict(A.Assumptions(), {"site": {"cpu_model": "Pentium 4"}}, "t")
    with pytest.raises(AssumptionError, match="at least 1"):
        A.apply_dict(A.Assumptions(), {"site": {"pue": {"value": 0.9}}}, "t")
    assert S.METHODS == ("gpu_power", "best_available")


def test_cpu_model_of_the_site_sets_the_power_per_core():
    a = A.apply_dict(A.Assumptions(), {"site": {"cpu_model": "amd epyc 7742"}}, "t")
    r = a.energy.input("cpu_w_per_core")
    assert (r.low, r.central, r.high) == (3.52, 3.52, 3.52)  # 225 W / 64 cores (cpu_power.csv)


# -- the carbon-series reader ---------------------------------------------------------------


def test_plain_series_intervals_and_means():
    s = read_series(DATA / "carbon_plain.csv")
    assert (s.layout, s.basis, s.n_rows) == ("plain", "as given", 4)
    assert s.mean_g_per_kwh() == pytest.approx((100 + 200 + 400 + 300) / 4)
    mean, frac = s.over(
        pd.Series([T0 + pd.Timedelta(minutes=30), T0 - pd.Timedelta(hours=2)]),
        pd.Series([T0 + pd.Timedelta(minutes=150), T0 - pd.Timedelta(hours=1)]),
    )
    assert mean[0] == pytest.approx(225) and frac[0] == 1.0
    assert math.isnan(mean[1]) and frac[1] == 0.0


@pytest.mark.parametrize("name", ["carbon_em_2024_layout.csv", "carbon_em_later_layout.csv"])
def test_electricity_maps_layouts_direct_and_life_cycle(name):
    d = read_series(DATA / name)
    assert (d.layout, d.basis, d.zone) == ("electricity-maps", "direct", "SYNTH")
    assert list(d.g_co2e_per_kwh[:2]) == [100.0, 200.0]
    lca = read_series(DATA / name, "life_cycle")
    assert list(lca.g_co2e_per_kwh[:2]) == [130.0, 250.0]


def test_series_errors_name_file_line_column_and_value():
    with pytest.raises(ParseError) as e:
        read_series(DATA / "carbon_bad_value.csv")
    assert (e.value.line, e.value.column, e.value.value) == (3, "g_co2e_per_kwh", "abc")
    with pytest.raises(ParseError, match="increase") as e:
        read_series(DATA / "carbon_unsorted.csv")
    assert e.value.line == 3
    with pytest.raises(ParseError, match="not a carbon-intensity series"):
        read_series(REPO / "sample_logs" / "lisa" / "jobs.csv")


def test_json_has_no_nan_and_schema_3_documents_every_energy_key():
    a = A.apply_dict(A.Assumptions(), INPUTS, "test")
    d = summarize(four_jobs(), a).to_dict()
    assert d["schema_version"] == 3
    text = json.dumps(d, allow_nan=False)
    assert "NaN" not in text
    doc = (REPO / "docs" / "summary-json.md").read_text()
    for k in (*d["energy"], *d["energy"]["ranges"], *d["energy"]["layers"], *d["energy"]["carbon"]):
        assert f"`{k}`" in doc, k
    for k in ("energy_kwh_low", "co2e_kg_high", "electricity_usd_low", "co2e_lbs_high"):
        assert f"`{k}`" in doc, k
