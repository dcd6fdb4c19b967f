"""Exports (issue 16, item 4): FOCUS rows checked against the FOCUS 1.0 column names, types,
mandatory columns and allowed values, costs worked by hand, loaded in pandas and DuckDB; the
Hugging Face co2_eq_emissions block parsed as YAML with the Hub's keys; the NeurIPS-checklist
paragraph of the Markdown and LaTeX cards."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.breakdown import BreakdownSpec
from rdcost.analysis.project import analyze_project
from rdcost.jobtable.schema import conform
from rdcost.jobtable.store import Store
from rdcost.output import statement as card
from rdcost.output.export import hf_card
from rdcost.output.export.focus import FOCUS_COLUMNS, MANDATORY, focus_rows

REPO = Path(__file__).resolve().parents[1]
H = 3600

# FOCUS 1.0 (FinOps Open Cost and Usage Specification): the Mandatory columns and their types,
# and the allowed values rdcost writes (specification/columns/*.md of the FOCUS_Spec repository;
# Microsoft's FOCUS 1.0 dataset metadata lists the same names and types).
SPEC_MANDATORY = {
    "BilledCost": "Decimal",
    "BillingAccountId": "String",
    "BillingAccountName": "String",
    "BillingCurrency": "String",
    "BillingPeriodEnd": "DateTime",
    "BillingPeriodStart": "DateTime",
    "ChargeCategory": "String",
    "ChargeClass": "String",
    "ChargeDescription": "String",
    "ChargePeriodEnd": "DateTime",
    "ChargePeriodStart": "DateTime",
    "ContractedCost": "Decimal",
    "EffectiveCost": "Decimal",
    "InvoiceIssuerName": "String",
    "ListCost": "Decimal",
    "PricingQuantity": "Decimal",
    "PricingUnit": "String",
    "ProviderName": "String",
    "PublisherName": "String",
    "ServiceCategory": "String",
    "ServiceName": "String",
}
SPEC_CONDITIONAL = {
    "ConsumedQuantity": "Decimal",
    "ConsumedUnit": "String",
    "ContractedUnitPrice": "Decimal",
    "ListUnitPrice": "Decimal",
    "ChargeFrequency": "String",
    "PricingCategory": "String",
    "RegionId": "String",
    "RegionName": "String",
    "ResourceId": "String",
    "ResourceName": "String",
    "ResourceType": "String",
    "SkuId": "String",
    "SkuPriceId": "String",
    "SubAccountId": "String",
    "SubAccountName": "String",
    "Tags": "String",
}
NOT_NULL = [c for c in SPEC_MANDATORY if c not in ("ChargeClass", "PricingQuantity", "PricingUnit")]
CHARGE_CATEGORIES = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
CHARGE_FREQUENCIES = {"One-Time", "Recurring", "Usage-Based"}
PRICING_CATEGORIES = {"Standard", "Dynamic", "Committed", "Other"}
SERVICE_CATEGORIES = {
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Multicloud",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
}
ARROW_OF = {
    "Decimal": pa.types.is_decimal,
    "DateTime": lambda t: pa.types.is_timestamp(t) and t.tz == "UTC",
    "String": pa.types.is_string,
}
DUCK_OF = {
    "Decimal": lambda t: t.startswith("DECIMAL"),
    "DateTime": lambda t: t == "TIMESTAMP WITH TIME ZONE",
    "String": lambda t: t == "VARCHAR",
}


def hand_assumptions() -> A.Assumptions:
    a = A.override_all_prices(A.load([]), 1.0, 2.0, "test")
    a = A.override_all_power(a, 250.0, "test")
    return A.apply_dict(
        a,
        {
            "pue": {"value": 1.0},
            "carbon": {"kg_co2e_per_kwh": 0.5},
            "electricity": {"usd_per_kwh": 0.1},
        },
        "test",
    )


def job(key, user, start, hours, n_gpus, state="COMPLETED"):
    s = pd.Timestamp(start, tz="UTC")
    return dict(
        record_key=key,
        source="slurm",
        cluster="c1",
        job_id=key,
        job_name=f"train-{key}",
        user=user,
        account="lab",
        state=state,
        submit_time=s,
        start_time=s,
        end_time=s + pd.Timedelta(hours=hours),
        elapsed_s=float(hours * H),
        n_gpus=n_gpus,
        gpu_type="titanx",
        project="p",
        partition="gpu",
    )


def jobs() -> pd.DataFrame:
    # a: alice 2 GPUs x 3 h from 31 Jan 22:00 = 6 GPU-hours; b: bob 1 x 4 h on 10 Feb = 4;
    # c: carol, unknown GPU count (left out, said so)
    rows = [
        job("a", "alice", "2018-01-31T22:00", 3, 2.0),
        job("b", "bob", "2018-02-10", 4, 1.0, "FAILED"),
        job("c", "carol", "2018-02-11", 1, None),
    ]
    return conform(pd.DataFrame(rows))


def ctx():
    return analyze_project(jobs(), hand_assumptions(), project="p")


def check_focus_frame_types(t: pa.Table) -> None:
    names = t.schema.names
    for c, kind in {**SPEC_MANDATORY, **SPEC_CONDITIONAL}.items():
        if c in SPEC_MANDATORY:
            assert c in names, f"mandatory FOCUS column {c} missing"
        if c in names:
            assert ARROW_OF[kind](t.schema.field(c).type), (c, t.schema.field(c).type)
    for c in names:
        assert c in SPEC_MANDATORY or c in SPEC_CONDITIONAL or c.startswith("x_"), c
        assert re.fullmatch(r"(x_)?[A-Z][A-Za-z0-9]*", c), c  # PascalCase, no specials
    df = t.to_pandas()
    for c in NOT_NULL:
        assert df[c].notna().all(), c
    assert set(df["ChargeCategory"]) <= CHARGE_CATEGORIES
    assert set(df["ServiceCategory"]) <= SERVICE_CATEGORIES
    assert set(df["ChargeFrequency"]) <= CHARGE_FREQUENCIES
    assert set(df["PricingCategory"]) <= PRICING_CATEGORIES
    assert df["ChargeClass"].isna().all()  # not a correction
    assert (df["ChargePeriodEnd"] > df["ChargePeriodStart"]).all()
    assert (df["BillingPeriodStart"] <= df["ChargePeriodStart"]).all()
    assert set(df["BillingCurrency"]) == {"USD"}
    for tags in df["Tags"]:
        assert isinstance(json.loads(tags), dict)  # FOCUS key-value format: a JSON object


def test_focus_columns_are_the_specs():
    assert set(MANDATORY) == set(SPEC_MANDATORY)
    for c, kind in {**SPEC_MANDATORY, **SPEC_CONDITIONAL}.items():
        assert FOCUS_COLUMNS[c] == kind


def test_per_job_rows_worked_by_hand():
    x = focus_rows(ctx(), scenario="cloud-spot")
    df = x.rows.set_index("ResourceId")
    assert list(df.index) == ["c1/a", "c1/b"]  # carol's job of unknown GPU count is left out
    assert any("unknown GPU count" in n for n in x.notes)
    a = df.loc["c1/a"]
    assert a["PricingQuantity"] == a["ConsumedQuantity"] == a["x_GpuHours"] == 6.0
    assert (a["ListUnitPrice"], a["ListCost"], a["ContractedCost"]) == (2.0, 12.0, 12.0)
    assert a["EffectiveCost"] == a["BilledCost"] == 6.0  # the pre-emptible price, $1
    assert a["ChargePeriodStart"] == pd.Timestamp("2018-01-31T22:00", tz="UTC")
    assert a["ChargePeriodEnd"] == pd.Timestamp("2018-02-01T01:00", tz="UTC")
    assert a["BillingPeriodStart"] == pd.Timestamp("2018-01-01", tz="UTC")
    assert a["BillingPeriodEnd"] == pd.Timestamp("2018-02-01", tz="UTC")
    assert a["x_EnergyKwh"] == pytest.approx(1.5)  # 6 GPU-h x 0.25 kW x PUE 1
    assert a["x_Co2eKg"] == pytest.approx(0.75)
    assert a["ResourceName"] == "train-a" and a["ResourceType"] == "Slurm job"
    assert json.loads(a["Tags"])["user"] == "alice"
    b = df.loc["c1/b"]
    assert b["x_WasteCategory"] == "failed" and b["EffectiveCost"] == 4.0
    od = focus_rows(ctx(), scenario="cloud-on-demand").rows
    assert list(od["EffectiveCost"]) == list(od["ListCost"]) == [12.0, 8.0]
    check_focus_frame_types(x.arrow())


def test_per_group_and_period_rows():
    x = focus_rows(ctx(), scenario="cloud-on-demand", by=BreakdownSpec(("user",)), period="month")
    got = {
        (json.loads(t)["user"], s.strftime("%Y-%m")): (q, c)
        for t, s, q, c in zip(
            x.rows["Tags"],
            x.rows["ChargePeriodStart"],
            x.rows["PricingQuantity"],
            x.rows["ListCost"],
            strict=True,
        )
    }
    assert got == {("alice", "2018-01"): (6.0, 12.0), ("bob", "2018-02"): (4.0, 8.0)}
    first = x.rows.iloc[0]
    assert first["ChargePeriodEnd"] - first["ChargePeriodStart"] == pd.Timedelta(days=31)
    check_focus_frame_types(x.arrow())
    w = focus_rows(ctx(), by=BreakdownSpec(("week",)))
    assert list(w.rows["ChargePeriodStart"].dt.day_name()) == ["Monday", "Monday"]


def test_owned_scenario():
    c = ctx()
    rate = c.buy_vs_cloud().to_dict()["owned_usd_per_used_gpu_hour"]
    x = focus_rows(c, scenario="owned")
    assert list(x.rows["EffectiveCost"]) == pytest.approx([6 * rate, 4 * rate])
    assert set(x.rows["ProviderName"]) == {"Owned hardware (rdcost estimate)"}
    check_focus_frame_types(x.arrow())


def test_files_load_in_pandas_and_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    x = focus_rows(ctx(), scenario="cloud-spot")
    pq_path = x.write(tmp_path / "f.parquet")
    csv_path = x.write(tmp_path / "f.csv")
    t = pq.read_table(pq_path)
    check_focus_frame_types(t)
    assert t.schema.metadata[b"focus_version"] == b"1.0"
    p = pd.read_parquet(pq_path)
    assert p["BilledCost"].iloc[0] == Decimal("6.000000000000")
    c = pd.read_csv(csv_path)
    assert list(c["BilledCost"]) == [6.0, 4.0]
    assert c.loc[0, "ChargePeriodStart"] == "2018-01-31T22:00:00Z"
    con = duckdb.connect()
    for path, numeric in ((pq_path, "Decimal"), (csv_path, None)):
        rel = con.sql(f"select * from '{path}'")
        types = dict(zip(rel.columns, [str(t) for t in rel.types], strict=True))
        for col, kind in SPEC_MANDATORY.items():
            if kind == "Decimal" and numeric is None:
                assert types[col] in ("DOUBLE", "BIGINT") or types[col].startswith("DECIMAL"), col
            elif kind == "String" and types[col] == '"NULL"':
                continue
            elif col == "ChargeClass":  # all null: CSV cannot tell its type
                continue
            else:
                assert DUCK_OF[kind](types[col]), (path.suffix, col, types[col])
        total = con.execute(f"select sum(BilledCost), sum(ListCost) from '{path}'").fetchall()[0]
        assert (float(total[0]), float(total[1])) == (10.0, 20.0)


# -- the CLI and the cards ------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdcost", *args], capture_output=True, text=True, cwd=REPO
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("x") / "store"
    with Store(path).writer() as w:
        w.add(jobs())
        w.commit()
    return path


HAND = ["--usd-per-gpu-hour-low", "1", "--usd-per-gpu-hour-high", "2", "--watts-per-gpu", "250"]
HAND += ["--pue", "1", "--usd-per-kwh", "0.1", "--kg-co2e-per-kwh", "0.5"]


def test_cli_export(store, tmp_path):
    out = tmp_path / "f.parquet"
    r = run("export", "--store", str(store), *HAND, "--scenario", "cloud-spot", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "2 FOCUS rows" in r.stderr and "unknown GPU count" in r.stderr
    check_focus_frame_types(pq.read_table(out))
    r = run(
        "export", "--store", str(store), *HAND, "--by", "user,month", "-o", str(tmp_path / "g.csv")
    )
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(tmp_path / "g.csv")) == 2
    r = run("export", "--store", str(store), *HAND, "-o", str(tmp_path / "f.xlsx"))
    assert r.returncode == 2 and ".csv or .parquet" in r.stderr


def test_hf_block_parses_with_the_hub_keys(store):
    yaml = pytest.importorskip("yaml")
    r = run(
        "card",
        "--store",
        str(store),
        *HAND,
        "-f",
        "hf",
        "--final-job",
        "a",
        "--training-type",
        "fine-tuning",
        "--location",
        "Quebec, Canada",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("---\n") and r.stdout.endswith("---\n")
    meta = yaml.safe_load(r.stdout.strip().strip("-"))
    block = meta["co2_eq_emissions"]
    assert set(block) == {
        "emissions",
        "source",
        "training_type",
        "geographical_location",
        "hardware_used",
    }
    # job a: 6 GPU-hours x 0.25 kW x PUE 1 x 0.5 kg/kWh = 0.75 kg = 750 g
    assert block["emissions"] == pytest.approx(750.0)
    assert block["training_type"] == "fine-tuning"
    assert block["geographical_location"] == "Quebec, Canada"
    assert block["hardware_used"] == "2 x titanx"
    assert "rdcost" in block["source"] and "0.5 kg CO2e/kWh" in block["source"]
    r = run("card", "--store", str(store), *HAND, "-f", "hf")
    block = yaml.safe_load(r.stdout.strip().strip("-"))["co2_eq_emissions"]
    assert block["training_type"] is None  # not known from the logs: null, never a guess


def test_hf_block_unknown_emissions_is_null():
    st = card.statement(ctx())
    st.final_model_co2e_kg = None
    text = hf_card.to_yaml(hf_card.block(st))
    assert "  emissions: null\n" in text and "nan" not in text.lower().replace("nanogpt", "")


def test_neurips_paragraph_worked_by_hand():
    st = card.statement(ctx())
    # final model: the final-size runs of the completed ones: a (6 GPU-hours); total 10 GPU-hours
    # split: searches 0; failed outside searches: b (4) = 40%; final-size: a (6) = 60%; other 0%
    assert st.compute_split == {
        "grid_searches": 0.0,
        "failed": 4.0,
        "final_size": 6.0,
        "other": 0.0,
    }
    md = card.to_markdown(st)
    assert "| Compute (NeurIPS checklist) | The final model took 6.00 GPU-hours" in md
    assert "1.67 times the final model" in md
    assert "0.0% went to hyperparameter searches, 40.0% to crashed, failed" in md
    assert "60.0% to final-size runs and 0.0% to preliminary" in md
    tex = card.to_latex(st)
    assert "NeurIPS checklist" in tex and "40.0\\%" in tex
