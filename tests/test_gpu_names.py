"""rdcost.analysis.gpu_names: GPU names as sites write them -> gpus.csv keys, and how."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from rdcost.analysis import gpu_names as G
from rdcost.analysis import reference as R
from tests.conftest import REALWORLD, SAMPLE_LOGS

# (name as written, expected key, expected kind). Names come from Slurm gres
# types (site words and NVML autodetect), nvidia-smi / W&B device names and the
# issue's examples.
CASES = [
    # A100: memory size, form factor, site words
    ("a100", "a100_40_sxm", "default_alias"),
    ("gpu:a100:4", "a100_40_sxm", "default_alias"),
    ("gres/gpu:a100=4", "a100_40_sxm", "default_alias"),
    ("a100_80", "a100_80_sxm", "default_alias"),
    ("A100_80GB", "a100_80_sxm", "default_alias"),
    ("a100_80g", "a100_80_sxm", "table_name"),
    ("a100-sxm4-80gb", "a100_80_sxm", "table_name"),
    ("nvidia_a100-sxm4-80gb", "a100_80_sxm", "table_name"),
    ("NVIDIA A100-SXM4-80GB", "a100_80_sxm", "table_name"),
    ("A100-SXM4-40GB", "a100_40_sxm", "table_name"),
    ("A100-PCIE-40GB", "a100_40_pcie", "table_name"),
    ("nvidia_a100-pcie-40gb", "a100_40_pcie", "table_name"),
    ("NVIDIA A100 80GB PCIe", "a100_80_pcie", "table_name"),
    ("a100_80gb_pcie", "a100_80_pcie", "table_name"),
    ("a100-pcie", "a100_40_pcie", "default_alias"),
    ("a100_sxm4", "a100_40_sxm", "default_alias"),
    ("a100l", "a100_80_sxm", "table_name"),  # Mila: a100l = 80 GB
    # Hopper, Blackwell
    ("h100", "h100_sxm", "default_alias"),
    ("NVIDIA H100 80GB HBM3", "h100_sxm", "table_name"),
    ("nvidia_h100_80gb_hbm3", "h100_sxm", "table_name"),
    ("h100-sxm5-80gb", "h100_sxm", "normalised"),
    ("NVIDIA H100 PCIe", "h100_pcie", "table_name"),
    ("h100_pcie", "h100_pcie", "exact_key"),
    ("h100_nvl", "h100_nvl", "exact_key"),
    ("NVIDIA H100 NVL", "h100_nvl", "table_name"),
    ("h200", "h200_sxm", "default_alias"),
    ("NVIDIA H200 NVL", "h200_nvl", "table_name"),
    ("gh200", "gh200", "exact_key"),
    ("NVIDIA GH200 480GB", "gh200", "table_name"),
    ("b200", "b200", "exact_key"),
    ("NVIDIA B200", "b200", "table_name"),
    ("gb200", "gb200", "exact_key"),
    ("h800", "h800_sxm", "table_name"),
    # Ada / Ampere data centre
    ("l40s", "l40s", "exact_key"),
    ("NVIDIA L40S", "l40s", "table_name"),
    ("l40", "l40", "exact_key"),
    ("l4", "l4", "exact_key"),
    ("a40", "a40", "exact_key"),
    ("a30", "a30", "exact_key"),
    ("a10", "a10", "exact_key"),
    ("NVIDIA A10G", "a10g", "table_name"),
    ("a2", "a2", "exact_key"),
    ("nvidia_a16", "a16", "table_name"),
    # Volta, Pascal, Turing, Kepler, Maxwell
    ("v100", "v100_sxm2", "default_alias"),
    ("v100_16GB", "v100_sxm2", "default_alias"),
    ("v100-32", "v100_sxm2", "default_alias"),
    ("v100s", "v100_pcie", "normalised"),
    ("Tesla V100S-PCIE-32GB", "v100_pcie", "table_name"),
    ("tesla_v100-pcie-16gb", "v100_pcie", "table_name"),
    ("Tesla V100-SXM2-16GB", "v100_sxm2", "table_name"),
    ("tesla_v100-sxm2-32gb", "v100_sxm2", "table_name"),
    ("Tesla V100-FHHL-16GB", "v100_pcie", "table_name"),
    ("p100", "p100_pcie", "default_alias"),
    ("Tesla P100-PCIE-16GB", "p100_pcie", "table_name"),
    ("Tesla P100-SXM2-16GB", "p100_sxm2", "table_name"),
    ("p100-sxm2", "p100_sxm2", "table_name"),
    ("p40", "p40", "exact_key"),
    ("Tesla P4", "p4", "table_name"),
    ("T4_16GB", "t4", "table_name"),
    ("tesla_t4", "t4", "table_name"),
    ("Tesla T4", "t4", "table_name"),
    ("teslak80", "k80", "table_name"),
    ("k80", "k80", "exact_key"),
    ("k40m", "k40", "table_name"),
    ("tesla_k40c", "k40", "table_name"),
    ("k40s", "k40", "normalised"),  # site suffix s dropped: no K40S row
    ("m40", "m40", "exact_key"),
    ("Tesla M40 24GB", "m40", "table_name"),
    ("Tesla M60", "m60", "table_name"),
    # workstation: RTX A6000 vs Turing Quadro RTX 6000 vs RTX 6000 Ada
    ("rtx_a6000", "rtx_a6000", "exact_key"),
    ("rtxa6000", "rtx_a6000", "table_name"),
    ("a6000", "rtx_a6000", "table_name"),
    ("NVIDIA RTX A6000", "rtx_a6000", "table_name"),
    ("nvidia_rtx_a6000", "rtx_a6000", "table_name"),
    ("rtx6000", "quadro_rtx6000", "table_name"),
    ("Quadro RTX 6000", "quadro_rtx6000", "table_name"),
    ("quadro_rtx_6000", "quadro_rtx6000", "table_name"),
    ("rtx_6000_ada", "rtx6000_ada", "table_name"),
    ("rtx6000ada", "rtx6000_ada", "table_name"),
    ("NVIDIA RTX 6000 Ada Generation", "rtx6000_ada", "table_name"),
    ("rtx8000", "quadro_rtx8000", "table_name"),
    ("Quadro RTX 8000", "quadro_rtx8000", "table_name"),
    ("rtx_a4000", "rtx_a4000", "exact_key"),
    ("RTX A5000", "rtx_a5000", "table_name"),
    ("rtx_4000_ada", "rtx4000_ada", "table_name"),
    ("Quadro P6000", "quadro_p6000", "table_name"),
    # consumer: series numbers with and without rtx/gtx
    ("rtx3090", "rtx3090", "exact_key"),
    ("3090", "rtx3090", "normalised"),
    ("gpu:3090:2", "rtx3090", "normalised"),
    ("NVIDIA GeForce RTX 3090", "rtx3090", "table_name"),
    ("nvidia_geforce_rtx_3090", "rtx3090", "table_name"),
    ("rtx_3090_ti", "rtx3090ti", "table_name"),
    ("3090ti", "rtx3090ti", "normalised"),
    ("gtx1080ti", "gtx1080ti", "exact_key"),
    ("1080ti", "gtx1080ti", "table_name"),
    ("gtx_1080_ti", "gtx1080ti", "table_name"),
    ("GeForce GTX 1080 Ti", "gtx1080ti", "table_name"),
    ("1080", "gtx1080", "table_name"),
    ("rtx_2080_ti", "rtx2080ti", "table_name"),
    ("2080ti", "rtx2080ti", "normalised"),
    ("nvidia_geforce_rtx_2080_ti", "rtx2080ti", "table_name"),
    ("rtx2080", "rtx2080", "exact_key"),
    ("rtx3080", "rtx3080", "exact_key"),
    ("rtx4090", "rtx4090", "exact_key"),
    ("4090", "rtx4090", "normalised"),
    ("NVIDIA GeForce RTX 4090", "rtx4090", "table_name"),
    ("rtx5090", "rtx5090", "exact_key"),
    ("5090", "rtx5090", "normalised"),
    ("NVIDIA GeForce RTX 5090", "rtx5090", "table_name"),
    ("rtx_5090_d", "rtx5090", "normalised"),  # 5090 D: no row, base product
    # Titans
    ("titanx", "titanx_maxwell", "default_alias"),
    ("gpu:titanx:1", "titanx_maxwell", "default_alias"),
    ("GeForce GTX TITAN X", "titanx_maxwell", "table_name"),
    ("TITAN X (Pascal)", "titanx_pascal", "table_name"),
    ("titan_x_pascal", "titanx_pascal", "table_name"),
    ("titanxp", "titan_xp", "table_name"),
    ("TITAN Xp", "titan_xp", "table_name"),
    ("titanv", "titan_v", "table_name"),
    ("titan_rtx", "titan_rtx", "exact_key"),
    # AMD, Intel, TPU
    ("mi250x", "mi250x", "exact_key"),
    ("mi250", "mi250x", "table_name"),
    ("AMD Instinct MI250X", "mi250x", "table_name"),
    ("mi300x", "mi300x", "exact_key"),
    ("AMD Instinct MI300X OAM", "mi300x", "table_name"),
    ("AMD Instinct MI100", "mi100", "table_name"),
    ("mi210", "mi210", "exact_key"),
    ("Intel(R) Data Center GPU Max 1550", "max1550", "table_name"),
    ("max_1100", "max1100", "table_name"),
    ("TPUv2", "tpu_v2", "table_name"),
    ("tpu_v3", "tpu_v3", "exact_key"),
    ("TPU v5e", "tpu_v5e", "table_name"),
    ("tpu-v6e", "tpu_v6e", "table_name"),
    # no type, or nothing that fits
    ("", None, "none"),
    ("gpu", None, "none"),
    ("gpu:2", None, "none"),
    ("gres/gpu=1", None, "none"),
    ("rtx30", None, "none"),  # truncated name: no product
    ("a100_96gb", None, "none"),  # no A100 row has 96 GB
    ("rtx_5000_ada", None, "none"),  # not in gpus.csv (no sourced row)
    (
        "gpu-2080ti-partition",
        "rtx2080ti",
        "normalised",
    ),  # callers must not pass partitions; shown for the record
]


@pytest.mark.parametrize("name,key,how", CASES, ids=[c[0] or "(empty)" for c in CASES])
def test_names(name, key, how):
    m = G.match_gpu(name)
    assert (m.key, m.how) == (key, how), m.detail


# (name, parent key, MIG row, share of the parent's compute slices)
MIG_CASES = [
    ("1g.10gb", "a100_80_sxm", "a100_80_sxm_mig_1g10gb", 1 / 7),  # bare: default parent
    ("1g.5gb", "a100_40_sxm", "a100_40_sxm_mig_1g5gb", 1 / 7),
    ("3g.40gb", "a100_80_sxm", "a100_80_sxm_mig_3g40gb", 3 / 7),
    ("7g.80gb", "a100_80_sxm", "a100_80_sxm_mig_7g80gb", 1.0),
    ("1g.10gb+me", "a100_80_sxm", "a100_80_sxm_mig_1g10gb", 1 / 7),
    ("gpu:1g.10gb:1", "a100_80_sxm", "a100_80_sxm_mig_1g10gb", 1 / 7),
    (
        "a100_1g.10gb",
        "a100_40_sxm",
        "a100_40_sxm_mig_1g10gb",
        1 / 7,
    ),  # a100 = 40 GB, which offers 1g.10gb
    (
        "a100_3g.40gb",
        "a100_80_sxm",
        "a100_80_sxm_mig_3g40gb",
        3 / 7,
    ),  # only 80 GB cards offer 3g.40gb
    ("nvidia_a100-sxm4-80gb_2g.20gb", "a100_80_sxm", "a100_80_sxm_mig_2g20gb", 2 / 7),
    ("nvidia_a100-pcie-40gb_3g.20gb", "a100_40_pcie", "a100_40_pcie_mig_3g20gb", 3 / 7),
    ("h100_2g.20gb", "h100_sxm", "h100_sxm_mig_2g20gb", 2 / 7),
    ("nvidia_h100_80gb_hbm3_1g.10gb", "h100_sxm", "h100_sxm_mig_1g10gb", 1 / 7),
    ("NVIDIA H100 PCIe 3g.40gb", "h100_pcie", "h100_pcie_mig_3g40gb", 3 / 7),
    ("2g.35gb", "h200_sxm", "h200_sxm_mig_2g35gb", 2 / 7),  # only the H200 offers it
    ("b200_1g.23gb", "b200", "b200_mig_1g23gb", 1 / 7),
    ("1g.6gb", "a30", "a30_mig_1g6gb", 1 / 4),  # A30: quarters
    ("a30_2g.12gb", "a30", "a30_mig_2g12gb", 2 / 4),
    ("a100l.2", "a100_80_sxm", "a100_80_sxm_mig_2g20gb", 2 / 7),  # Mila: a100l.N = N slices
    ("a100l.3", "a100_80_sxm", "a100_80_sxm_mig_3g40gb", 3 / 7),
    ("a100l.4", "a100_80_sxm", "a100_80_sxm_mig_4g40gb", 4 / 7),
]


@pytest.mark.parametrize("name,parent,mig_key,fraction", MIG_CASES, ids=[c[0] for c in MIG_CASES])
def test_mig_slices_resolve_to_their_parent(name, parent, mig_key, fraction):
    m = G.match_gpu(name)
    assert (m.key, m.how, m.mig_key) == (parent, "mig_parent", mig_key), m.detail
    assert m.mig_fraction == pytest.approx(fraction)
    assert R.gpu_key(name) == parent


def test_bare_mig_profile_is_flagged_as_a_default_and_listed_parents_are_not():
    assert G.match_gpu("1g.10gb").defaulted and not G.match_gpu("1g.10gb").is_exact
    assert G.match_gpu("nvidia_a100-sxm4-80gb_2g.20gb").is_exact
    assert G.match_gpu("1g.6gb").is_exact  # only the A30 offers it


def test_dot_suffix_is_not_a_mig_slice_without_mig_rows():
    m = G.match_gpu("v100.2")  # the V100 has no MIG: the suffix is not a slice count
    assert m.how != "mig_parent"


def test_user_aliases_win_and_may_name_a_mig_row_or_a_parent():
    assert G.match_gpu("titanx", {"titanx": "titanx_pascal"}).key == "titanx_pascal"
    assert G.match_gpu("gpu:a100:2", {"a100": "a100_80_sxm"}).key == "a100_80_sxm"
    m = G.match_gpu("1g.10gb", {"1g.10gb": "h100_sxm"})
    assert (m.key, m.mig_key, m.defaulted) == ("h100_sxm", "h100_sxm_mig_1g10gb", False)
    m = G.match_gpu("mig1g", {"mig1g": "a100_80_sxm_mig_1g10gb"})
    assert (m.key, m.how, m.mig_fraction) == (
        "a100_80_sxm_mig_1g10gb",
        "alias",
        pytest.approx(1 / 7),
    )
    # alias keys may be written in any spelling: compared in compact form
    assert G.match_gpu("A100", {"gpu:A-100": "a100_80_pcie"}).key == "a100_80_pcie"


def test_reference_gpu_key_validates_and_applies_aliases():
    assert R.gpu_key("rtx6000ada") == "rtx6000_ada"
    assert R.gpu_key("rtx6000ada", {"rtx6000ada": "l40s"}) == "l40s"
    assert R.gpu_match("a100l.2").mig_key == "a100_80_sxm_mig_2g20gb"
    import pandas as pd

    keys = R.gpu_keys(pd.Series(["3090", None, "a100_80", "1g.10gb"]))
    assert keys.tolist()[0] == "rtx3090" and pd.isna(keys.iloc[1])
    assert keys.tolist()[2:] == ["a100_80_sxm", "a100_80_sxm"]


# -- the table itself -------------------------------------------------------------


def _rows() -> list[dict[str, str]]:
    return G.load_rows()


def test_every_key_matches_itself_and_every_unique_listed_name_its_row():
    table = G.bundled_table()
    for r in _rows():
        assert G.match_gpu(r["key"]).key == r["key"]
        if r["segment"] == "mig":
            continue
        for name in G._listed_names(r):
            c = G.compact(name)
            if len(table.names.get(c, ())) == 1 and c not in G.DEFAULT_ALIASES:
                assert G.match_gpu(name).key == r["key"], (name, r["key"])


def test_every_ambiguous_name_has_a_default_alias_among_its_rows():
    amb = G.ambiguous_names()
    assert amb
    for name, keys in amb.items():
        assert G.DEFAULT_ALIASES.get(name) in keys, (name, keys)


def test_default_targets_exist():
    keys = {r["key"] for r in _rows()}
    assert set(G.DEFAULT_ALIASES.values()) <= keys
    for profile, parent in G.DEFAULT_MIG_PARENTS.items():
        assert f"{parent}_mig_{profile.replace('.', '')}" in keys, profile


def test_mig_rows_follow_the_power_rule_and_name_their_parent():
    rows = {r["key"]: r for r in _rows()}
    migs = [r for r in rows.values() if r["segment"] == "mig"]
    assert len(migs) >= 40
    for r in migs:
        parent = rows[r["parent_key"]]
        n, total = (int(x) for x in r["mig_compute_slices"].split("/"))
        assert r["mig_profile"].startswith(f"{n}g.")
        want = n / total * float(parent["tdp_w_per_visible_device"])
        assert float(r["tdp_w_per_visible_device"]) == pytest.approx(want, abs=0.05), r["key"]
        assert r["tdp_is_estimate"].startswith("yes")


def test_columns_and_segments():
    rows = _rows()
    assert len({r["key"] for r in rows}) == len(rows)
    for r in rows:
        assert r["segment"] in {"datacenter", "workstation", "consumer", "mig", "tpu", "apu"}, r[
            "key"
        ]
        assert r["source"] and r["as_of"], r["key"]
        if r["tdp_w_per_visible_device"]:
            assert r["tdp_is_estimate"], r["key"]


def test_issue_types_now_resolve():
    # the issue: "no price for GPU type(s) (no GPU type), a100_80, l40s, a40, rtx30"
    assert [G.match_gpu(n).key for n in ("a100_80", "l40s", "a40")] == [
        "a100_80_sxm",
        "l40s",
        "a40",
    ]
    assert G.match_gpu("rtx30").key is None  # truncated: no product to read


# -- every GPU type string in the real-world files -------------------------------

#: GPU type strings found in ../shared/realworld, labelled by hand after reading
#: the files: every GPU in them is untyped (``gres/gpu=1`` in AllocTRES of
#: ga4hpc, jobstats and XDMoD; JSON TRES ``{"type": "gres", "name": "gpu"}`` in
#: the two SARC files; SOURCES.md quotes the same). Partition names such as
#: Hyak's gpu-2080ti are not types and must not be collected.
REALWORLD_LABELS: dict[str, str | None] = {
    "": None,  # no GPU type
}

#: The same for the bundled samples (sample_logs/lisa, the Slurm testbed: gres
#: types titanx and m40, declared in its gres.conf; sample_logs/energy: a100_80gb
#: and h100, whose form factor the name does not give: the documented defaults,
#: SXM, as DEFAULT_ALIASES says; sample_logs/utilization: a40, and v100 whose default
#: is the SXM2 card).
SAMPLE_LABELS: dict[str, str | None] = {
    "": None,
    "titanx": "titanx_maxwell",
    "m40": "m40",
    "a100_80gb": "a100_80_sxm",
    "h100": "h100_sxm",
    "a40": "a40",
    "v100": "v100_sxm2",
}


def _types_in(root: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            for t in G.gres_types(p.read_text(encoding="utf-8", errors="replace")):
                found.setdefault(t, set()).add(str(p.relative_to(root)))
    return found


def test_every_gpu_type_in_the_realworld_files_is_labelled_and_maps_to_its_label():
    if not REALWORLD.is_dir():
        pytest.skip(f"{REALWORLD} not present")
    found = _types_in(REALWORLD)
    assert found, "the scanner finds the gres entries of ga4hpc, jobstats, XDMoD and SARC"
    assert {"ga4hpc_sacct_p2_example.txt", "sarc_sacct_json_slurm_23_11_5.json"} <= found[""]
    unlabelled = {t: sorted(f) for t, f in found.items() if t not in REALWORLD_LABELS}
    assert not unlabelled, (
        f"new GPU type strings in ../shared/realworld, label them by hand: {unlabelled}"
    )
    for t in found:
        assert G.match_gpu(t).key == REALWORLD_LABELS[t], t
    assert not any("2080" in t for t in found), "partition names are not GPU types"


def test_every_gpu_type_in_the_sample_logs_is_labelled_and_maps_to_its_label():
    found = _types_in(SAMPLE_LOGS)
    unlabelled = {t: sorted(f) for t, f in found.items() if t not in SAMPLE_LABELS}
    assert not unlabelled, f"new GPU type strings in sample_logs, label them by hand: {unlabelled}"
    for t in found:
        assert G.match_gpu(t).key == SAMPLE_LABELS[t], t


@pytest.mark.parametrize(
    "text,types",
    [
        ("billing=16,cpu=16,gres/gpu:a100=4,gres/gpu=4,mem=128G,node=1", ["a100", ""]),
        ("cpu=2,gres/gpu:nvidia_a100-sxm4-80gb=1,gres/gpu=1", ["nvidia_a100-sxm4-80gb", ""]),
        ('{"type": "gres", "name": "gpu:h100", "id": 1002, "count": 8}', ["h100"]),
        ('{"type":"gres","name":"gpu","id":1001,"count":1}', [""]),
        ("gpu-2080ti|COMPLETED", []),
    ],
    ids=["tres-typed", "tres-nvml", "json-typed", "json-untyped", "partition"],
)
def test_gres_type_scanner(text, types):
    assert sorted(G.gres_types(text)) == sorted(types)


def test_module_reads_only_the_name_columns():
    ref = resources.files("rdcost") / "refdata" / "gpus.csv"
    with ref.open("r", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    for col in (
        "key",
        "model",
        "variant",
        "memory_gb",
        "nvidia_smi_names",
        "slurm_gres_examples",
        "segment",
        "parent_key",
        "mig_profile",
        "mig_compute_slices",
    ):
        assert col in header
