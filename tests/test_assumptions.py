"""Reference tables, GPU names, prices in effect by date, and the layered assumptions.

Expected values are read off the bundled CSVs by hand (row numbers in the
comments are lines of rdcost/refdata/*.csv) or are the paper's.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis import reference as R
from rdcost.analysis.costing import KG_PER_LB
from rdcost.errors import AssumptionError, UsageError

UTC = "UTC"


# -- reference tables ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(R.TABLES))
def test_every_table_loads_with_source_and_as_of(name):
    t = R.load_table(name)
    assert len(t) > 0
    assert "source" in t.columns and "as_of" in t.columns
    assert t["source"].notna().all(), f"{name}: rows without a source"


def test_load_table_returns_a_copy_and_rejects_unknown_names():
    t = R.load_table("gpus")
    t.loc[:, "tdp_w"] = -1
    # rows whose TDP no source gave (A2, A16, MI210, ...) and MIG slices leave tdp_w empty
    assert (R.load_table("gpus")["tdp_w"].dropna() > 0).all()
    with pytest.raises(UsageError):
        R.load_table("nope")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2019", "2019-01-01"),
        ("2019-08-26", "2019-08-26"),
        ("2022-06", "2022-06-01"),
        ("2023-H2", "2023-07-01"),
        ("2021-Q2", "2021-04-01"),
        ("2024 (before 2025-01-01 update)", "2024-01-01"),
        ("static list (file snapshot)", None),
    ],
    ids=lambda x: str(x),
)
def test_as_of_dates(text, expected):
    got = R.as_of_date(pd.Series([text])).iloc[0]
    if expected is None:
        assert pd.isna(got)
    else:
        assert got == pd.Timestamp(expected, tz=UTC)


@pytest.mark.parametrize(
    "name,key",
    [
        ("titanx", "titanx_maxwell"),
        ("gpu:titanx:1", "titanx_maxwell"),
        ("TITAN X (Pascal)", "titanx_pascal"),
        ("m40", "m40"),
        ("Tesla M40 24GB", "m40"),
        ("P100", "p100_pcie"),
        ("Tesla P100-PCIE-16GB", "p100_pcie"),
        ("Tesla P100-SXM2-16GB", "p100_sxm2"),
        ("V100", "v100_sxm2"),
        ("tesla_v100-pcie-16gb", "v100_pcie"),
        ("NVIDIA A100-SXM4-40GB", "a100_40_sxm"),
        ("nvidia_a100-pcie-40gb", "a100_40_pcie"),
        ("a100l.2", "a100_80_sxm"),
        ("A100_80GB", "a100_80_sxm"),
        ("NVIDIA H100 80GB HBM3", "h100_sxm"),
        ("NVIDIA GeForce GTX 1080 Ti", "gtx1080ti"),
        ("teslak80", "k80"),
        ("T4_16GB", "t4"),
        ("TPUv2", "tpu_v2"),
        ("tpu_v3", "tpu_v3"),
        ("NVIDIA A10G", "a10g"),
        ("rtx6000ada", "rtx6000_ada"),
        ("rtx30", None),
        (None, None),
    ],
)
def test_gpu_names(name, key):
    assert R.gpu_key(name) == key


def test_every_ambiguous_name_has_a_default_alias():
    amb = R.ambiguous_gpu_names()
    assert amb, "the table has ambiguous names (gpu:titanx, gpu:v100, ...)"
    for name, keys in amb.items():
        assert name in {R.normalize_gpu_name(k) for k in R.DEFAULT_GPU_ALIASES}, name
        assert R.gpu_key(name) in keys


def test_user_aliases_override_and_are_validated():
    assert R.gpu_key("titanx", {"titanx": "titanx_pascal"}) == "titanx_pascal"
    assert R.gpu_key("rtx6000ada", {"rtx6000ada": "l40s"}) == "l40s"
    s = R.gpu_keys(pd.Series(["titanx", "m40", None, "titanx"]), {"titanx": "titanx_pascal"})
    assert (
        s.tolist()[:2] == ["titanx_pascal", "m40"]
        and pd.isna(s.iloc[2])
        and s.iloc[3] == "titanx_pascal"
    )
    with pytest.raises(AssumptionError):
        R.gpu_key("x", {"x": "no_such_gpu"})


def test_gpu_power_rated_and_measured():
    # gpus.csv: p100_sxm2 TDP 300 W, measured 271 W (Patterson); m40 250 W, no measurement
    assert R.gpu_power("p100_sxm2", "rated").power_w == 300
    m = R.gpu_power("p100_sxm2", "measured")
    assert (m.power_w, m.basis) == (271, "measured")
    assert R.gpu_power("m40", "measured").basis == "rated"
    assert R.gpu_power("k80").power_w == 150  # per visible device (2 per board)
    assert R.gpu_power("nope") is None


def test_prices_in_effect_follow_the_job_date():
    # cloud_prices.csv, aws v100_sxm2 on_demand: 3.06 as of 2018-06-08 (line 39),
    # 3.9013 as of 2019-01-25 (line 43), 3.06 as of 2022-08-04 (line 41)
    keys = pd.Series(["v100_sxm2"] * 4 + ["nope"])
    dates = pd.Series(
        pd.to_datetime(
            ["2017-01-01", "2018-07-01", "2020-01-01", "2023-01-01", "2020-01-01"], utc=True
        )
    )
    p = R.prices_in_effect(keys, dates, "aws", R.HIGH_PRICING_MODELS)
    assert p["usd_per_gpu_hour"].tolist()[:4] == [3.06, 3.06, 3.9013, 3.06]
    assert p["as_of"].tolist()[:4] == ["2018-06-08", "2018-06-08", "2019-01-25", "2022-08-04"]
    assert p["is_price_before_known"].tolist() == [True, False, False, False, False]
    assert pd.isna(p["usd_per_gpu_hour"].iloc[4])
    # low end: spot 0.918 as of 2022-03-01 (line 40)
    lo = R.prices_in_effect(
        keys[:1], pd.Series([pd.Timestamp("2022-05-01", tz=UTC)]), "aws", R.LOW_PRICING_MODELS
    )
    assert lo["usd_per_gpu_hour"].iloc[0] == 0.918 and lo["pricing_model"].iloc[0] == "spot"


def test_undated_price_rows_are_used_only_without_dated_ones():
    # gcp t4 rows are 'static list (file snapshot)': on_demand 0.35, preemptible 0.11
    d = pd.Series([pd.Timestamp("2020-01-01", tz=UTC)])
    assert (
        R.prices_in_effect(pd.Series(["t4"]), d, "gcp", R.HIGH_PRICING_MODELS)[
            "usd_per_gpu_hour"
        ].iloc[0]
        == 0.35
    )
    assert (
        R.prices_in_effect(pd.Series(["t4"]), d, "gcp", R.LOW_PRICING_MODELS)[
            "usd_per_gpu_hour"
        ].iloc[0]
        == 0.11
    )


def test_carbon_intensity_by_region_and_year():
    us18 = R.carbon_intensity("US", 2018)
    assert us18.kg_co2e_per_kwh == pytest.approx(0.4327)  # Strubell's 0.954 lbs as 432.7 g
    us22 = R.carbon_intensity("us", 2022)  # CO2e preferred: Patterson 429 g (2020)
    assert us22.kg_co2e_per_kwh == pytest.approx(0.429) and us22.data_year == 2020
    early = R.carbon_intensity("US", 2010)
    assert early.data_year == 2018 and "earliest" in early.note
    assert R.carbon_intensity("Germany", 2023).kg_co2e_per_kwh == pytest.approx(0.3809)
    with pytest.raises(AssumptionError):
        R.carbon_intensity("Atlantis", 2020)


def test_series_values_by_year():
    assert R.series_value("pue", "*Uptime*", 2018).value == 1.58
    assert R.series_value("pue", "*Uptime*", 2022).value == 1.57
    assert R.series_value("pue", "*Uptime*", None).value == 1.56
    e = R.series_value("electricity_price", "US average industrial electricity price *", 2017)
    assert e.value == 0.0688


def test_comparisons_are_the_papers_table_1():
    c = R.comparisons()
    assert c["value_lbs_co2e"].tolist() == [1984, 11023, 36156, 126000]


# -- assumptions -------------------------------------------------------------------------


def test_paper_preset_values_and_origins():
    a = A.load(["paper"])
    assert a.name == "paper"
    p = a.prices["p100"]
    assert (p.usd_per_gpu_hour_low, p.usd_per_gpu_hour_high) == (0.43, 1.46)
    assert (p.provider, p.pricing_model_low, p.pricing_model_high) == (
        "gcp",
        "preemptible",
        "on_demand",
    )
    assert "Strubell" in p.source and p.origin == "preset paper"
    assert a.prices["*"].usd_per_gpu_hour_low == 0.43  # stand-in: P100 prices
    assert a.power["*"].power_w == 217
    assert a.pue.value == 1.58
    assert a.carbon.kg_co2e_per_kwh == 0.954 * KG_PER_LB
    assert a.carbon.lbs_co2e_per_kwh == pytest.approx(0.954)
    assert a.electricity_usd_per_kwh.value == 0.12
    assert a.one_model_gpu_hours.value == 120 and a.tuning_round_n_jobs.value == 24
    assert "paper" in A.preset_names() and "default" in A.preset_names()


def test_layers_later_wins_and_records_origin(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text(
        '[pue]\nvalue = 1.1\nsource = "our data centre"\n[gpu_aliases]\ntitanx = "titanx_pascal"\n'
    )
    a = A.load(["paper", str(f)])
    assert a.pue.value == 1.1 and a.pue.origin == f"file {f}" and a.pue.source == "our data centre"
    assert a.electricity_usd_per_kwh.origin == "preset paper"
    assert a.gpu_aliases == {"titanx": "titanx_pascal"}
    assert a.layers == ("built-in defaults", "preset paper", f"file {f}")
    b = A.apply_dict(a, {"pue": {"value": 1.3}}, "option --pue")
    assert b.pue.value == 1.3 and b.pue.origin == "option --pue"


@pytest.mark.parametrize(
    "data",
    [
        {"pue": {"value": 0.9}},
        {"pue": {"value": "1.5"}},
        {"nope": 1},
        {"pue": {"vlaue": 1.5}},
        {"prices": {"p100": {"usd_per_gpu_hour_low": 2, "usd_per_gpu_hour_high": 1}}},
        {"prices": {"x": {"stand_in": "missing"}}},
        {"gpu_power": {"p100": {"power_w": -5}}},
        {"carbon": {"kg_co2e_per_kwh": 0.4, "lbs_co2e_per_kwh": 0.9}},
        {"price_date": "tomorrow"},
        {"gpu_aliases": {"x": "not_a_key"}},
        {"one_model": {"gpu_hours": 0}},
        {"tuning_round": {"n_jobs": 2.5}},
    ],
    ids=lambda d: str(d)[:40],
)
def test_invalid_assumptions_are_refused(data):
    with pytest.raises(AssumptionError):
        A.apply_dict(A.Assumptions(), data, "test")


def test_unknown_spec_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        A.load(["no-such-preset"])
    bad = tmp_path / "bad.toml"
    bad.write_text("pue = [")
    with pytest.raises(AssumptionError):
        A.load([str(bad)])


def test_for_year_fills_from_the_reference_tables():
    a = A.Assumptions().for_year(2018)
    assert a.pue.value == 1.58 and "hardware_costs.csv" in a.pue.origin
    assert a.electricity_usd_per_kwh.value == 0.0692
    assert a.carbon.kg_co2e_per_kwh == pytest.approx(0.4327) and a.carbon.region == "US"
    b = A.apply_dict(A.Assumptions(), {"carbon": {"region": "FRA"}}, "t").for_year(2023)
    assert b.carbon.kg_co2e_per_kwh == pytest.approx(0.056)
    # given values are kept
    c = A.load(["paper"]).for_year(2024)
    assert c.pue.value == 1.58 and c.electricity_usd_per_kwh.value == 0.12


def test_price_plan_order():
    a = A.Assumptions()
    assert A.price_plan(a, "m40")[:2] == ("table", "p100")  # bundled cloud equivalent
    assert A.price_plan(a, "v100_sxm2")[:2] == ("table", "v100_sxm2")
    assert A.price_plan(a, "rtx2080ti")[0] == "missing"
    p = A.load(["paper"])
    assert A.price_plan(p, "titanx_maxwell")[:2] == ("fixed", "p100")
    assert A.price_plan(p, "rtx2080ti")[:2] == ("fixed", "*")
    assert A.price_plan(p, "v100_sxm2")[:2] == ("fixed", "v100_sxm2")
    o = A.override_all_prices(p, 1.0, 2.0, "option")
    assert A.price_plan(o, "v100_sxm2")[:2] == ("fixed", "*")
    assert o.prices["*"].usd_per_gpu_hour_high == 2.0


def test_job_prices_by_policy():
    a = A.apply_dict(A.Assumptions(), {"price_provider": "aws"}, "t")
    keys = pd.Series(["v100_sxm2", "v100_sxm2", None])
    start = pd.Series(pd.to_datetime(["2018-07-01", "2020-01-01", "2020-01-01"], utc=True))
    today = pd.Timestamp("2023-01-01", tz=UTC)
    p = A.job_prices(a, keys, start, today)
    assert p["usd_per_gpu_hour_high"].tolist()[:2] == [3.06, 3.9013]
    assert p["price_rule"].iloc[2] == "missing" and pd.isna(p["usd_per_gpu_hour_high"].iloc[2])
    t = A.job_prices(A.apply_dict(a, {"price_date": "today"}, "t"), keys, start, today)
    assert t["usd_per_gpu_hour_high"].tolist()[:2] == [3.06, 3.06]  # as of 2022-08-04
    d = A.job_prices(A.apply_dict(a, {"price_date": "2019-06-01"}, "t"), keys, start, today)
    assert d["usd_per_gpu_hour_high"].tolist()[:2] == [3.9013, 3.9013]


def test_job_power_rules():
    keys = pd.Series(["p100_sxm2", "m40", None])
    p = A.job_power(A.Assumptions(), keys)
    assert (
        p["power_w"].iloc[0] == 300
        and p["power_w"].iloc[1] == 250
        and pd.isna(p["power_w"].iloc[2])
    )
    m = A.job_power(A.apply_dict(A.Assumptions(), {"power_basis": "measured"}, "t"), keys)
    assert m["power_w"].iloc[0] == 271 and m["power_basis"].iloc[0] == "measured"
    w = A.job_power(A.override_all_power(A.Assumptions(), 217, "option --watts-per-gpu"), keys)
    assert w["power_w"].tolist() == [217, 217, 217]


def test_hardware_price_from_table_by_date():
    a = A.Assumptions()
    p, why = A.hardware_price(a, "a100_40_sxm", pd.Timestamp("2022-09-01", tz=UTC))
    # gcp a100_40_sxm: on_demand 3.67 (2022-08-04), spot 1.10 (2022-08-04)
    assert (p.usd_per_gpu_hour_low, p.usd_per_gpu_hour_high) == (1.10, 3.67)
    assert A.hardware_price(a, "rtx2080ti", pd.Timestamp("2022-01-01"))[0] is None


def test_prices_in_effect_edge_cases():
    d = pd.Series(pd.to_datetime(["2020-01-01", None], utc=True), index=[5, 7])
    p = R.prices_in_effect(pd.Series(["t4", "p100"], index=[5, 7]), d, "gcp", R.HIGH_PRICING_MODELS)
    assert list(p.index) == [5, 7]
    assert p.loc[5, "usd_per_gpu_hour"] == 0.35 and pd.isna(p.loc[7, "usd_per_gpu_hour"])  # no date
    none = R.prices_in_effect(
        pd.Series(["p100"]), d.reset_index(drop=True)[:1], "no-such-cloud", R.HIGH_PRICING_MODELS
    )
    assert pd.isna(none["usd_per_gpu_hour"].iloc[0]) and not none["is_price_before_known"].iloc[0]
