"""`rdcost estimate`: every row of the paper's Table 3 through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# model, hardware, count, watts, hours, kWh x PUE, CO2e lbs, cost low, cost high (Table 3)
TABLE3 = [
    ("T2T base", "P100", "8", "1415.78", "12", 27, 26, 41, 140),
    ("T2T big", "P100", "8", "1515.43", "84", 201, 192, 289, 981),
    ("ELMo", "P100", "3", "517.66", "336", 275, 262, 433, 1472),
    ("BERT base", "V100", "64", "12041.51", "79.2", 1507, 1438, 3751, 12571),
    ("BERT base TPU", "TPUv2", "16", None, "96", None, None, 2074, 6912),
    ("NAS", "P100", "8", "1515.43", "274120", 656347, 626155, 942973, 3201722),
    ("GPT-2", "TPUv3", "32", None, "168", None, None, 12902, 43008),
]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rdcost", "estimate", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def estimate_json(*args: str) -> dict:
    r = run(*args, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("row", TABLE3, ids=[r[0] for r in TABLE3])
def test_every_table3_row(row):
    _, hw, count, watts, hours, kwh, lbs, low, high = row
    args = ["--hardware", hw, "--count", count, "--hours", hours]
    if watts is not None:
        args += ["--watts", watts]
    d = estimate_json(*args)
    assert d["gpu_hours"] == pytest.approx(float(count) * float(hours))
    assert round(d["cloud_usd_low"]) == low and round(d["cloud_usd_high"]) == high
    if kwh is None:
        assert d["energy_kwh"] is None and d["co2e_kg"] is None and d["co2e_lbs"] is None
    else:
        assert round(d["energy_kwh"]) == kwh and round(d["co2e_lbs"]) == lbs


def test_nas_tpu_row_within_the_papers_rounding():
    d = estimate_json("--hardware", "TPUv2", "--count", "1", "--hours", "32623")
    assert d["cloud_usd_low"] == pytest.approx(44055, rel=1e-3)
    assert d["cloud_usd_high"] == pytest.approx(146848, rel=1e-3)


def test_issue_example_in_every_format():
    args = ["--hardware", "P100", "--count", "8", "--hours", "12", "--watts", "1415.78"]
    t = run(*args)
    assert (
        t.returncode == 0 and "$41 - $140" in t.stdout and "26.8" in t.stdout and "25.6" in t.stdout
    )
    assert "Strubell" in t.stdout and "PUE: 1.58" in t.stdout
    m = run(*args, "--format", "markdown")
    assert "| hardware |" in m.stdout
    c = run(*args, "--format", "csv")
    lines = c.stdout.splitlines()
    assert lines[0] == "section,metric,value,unit,assumption"
    assert any(line.startswith("estimate,cloud_usd_low,41.28") for line in lines)


def test_tpu_without_power_prints_unknown_not_zero():
    r = run("--hardware", "TPUv2", "--count", "16", "--hours", "96")
    assert r.returncode == 0
    row = next(line for line in r.stdout.splitlines() if line.startswith("TPUv2"))
    assert row.count("unknown") >= 3 and " 0 " not in row


def test_json_contract_and_defaults():
    d = estimate_json("--hardware", "P100", "--count", "8", "--hours", "12", "--watts", "1415.78")
    for k in ("gpu_hours", "energy_kwh", "co2e_kg", "co2e_lbs", "cloud_usd_low", "cloud_usd_high"):
        assert k in d
    assert d["pue"] == 1.58
    assert d["kg_co2e_per_kwh"] == pytest.approx(0.4327, abs=5e-5)
    assert d["assumptions"]["price"]["usd_per_gpu_hour_low"] == 0.43
    assert d["co2e_kg"] == pytest.approx(d["co2e_lbs"] * 0.45359237)


def test_options_override_pue_intensity_and_prices():
    base = ["--hardware", "P100", "--count", "8", "--hours", "12", "--watts", "1000"]
    d = estimate_json(
        *base,
        "--pue",
        "1.1",
        "--kg-co2e-per-kwh",
        "0.5",
        "--usd-per-gpu-hour-low",
        "1",
        "--usd-per-gpu-hour-high",
        "3",
    )
    # 12 h x 1000 W x 1.1 / 1000 = 13.2 kWh; x 0.5 = 6.6 kg; 96 device-hours x $1-$3
    assert d["energy_kwh"] == pytest.approx(13.2)
    assert d["co2e_kg"] == pytest.approx(6.6)
    assert (d["cloud_usd_low"], d["cloud_usd_high"]) == (pytest.approx(96), pytest.approx(288))
    p = estimate_json(*base[:-2], "--watts-per-device", "100")
    assert p["power_w"] == 800 and p["energy_kwh"] == pytest.approx(12 * 800 * 1.58 / 1000)


def test_hardware_outside_the_preset_uses_the_price_list_on_a_date():
    # gcp a100_40_sxm: spot 1.10 and on-demand 3.67 as of 2022-08-04 (cloud_prices.csv)
    d = estimate_json(
        "--hardware", "A100", "--count", "8", "--hours", "10", "--price-date", "2022-09-01"
    )
    assert d["usd_per_gpu_hour_low"] == 1.10 and d["usd_per_gpu_hour_high"] == 3.67
    assert d["cloud_usd_high"] == pytest.approx(80 * 3.67)


@pytest.mark.parametrize(
    "args,code,text",
    [
        (
            ["--hardware", "P100", "--hours", "1", "--watts", "1", "--watts-per-device", "1"],
            2,
            "not both",
        ),
        (["--hardware", "P100", "--hours", "0"], 2, "--hours"),
        (["--hardware", "rtx2080ti", "--hours", "1"], 1, "no cloud price"),
        (["--hardware", "P100", "--hours", "1", "--usd-per-gpu-hour-low", "1"], 2, "both"),
    ],
)
def test_errors_are_clear(args, code, text):
    r = run(*args)
    assert r.returncode == code, r.stderr
    assert text in r.stderr and "Traceback" not in r.stderr
