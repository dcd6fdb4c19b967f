"""The job with '|' in its Comment and SubmitLine, and the five exports of the job mix in
one store (issue 12), on the real Slurm testbed: the same run of the mix as
test_slurm_real.py (docs/slurm-testbed.md).

The mix's 'pipe' job is submitted with ``--wrap 'echo a | cat; sleep 3'`` and
``--comment 'rdcost-integration:<run id> | lr=0.1|bs=32'``; sacct prints its Comment and
SubmitLine unescaped, so its ``--parsable2`` and ``--parsable`` lines have five '|'
more than the header. What Slurm stored is read by hand, never by rdcost: from the
``--json`` export and from a ``--parsable2`` export with the delimiter 0x1f, which no
value holds (Slurm 22.05's JSON, dbv0.0.38, has no submit line).

The store tests ingest the five exports (``--parsable2``, ``--parsable``, wide and
default-width fixed width, ``--json``) into one store through the CLI, in several
orders and in one call, and compare the store's job ids with the ids sbatch returned.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import rdcost
from rdcost.cli import main
from rdcost.readers.base import ParseOptions
from rdcost.readers.ingest import read_log_report
from rdcost.readers.slurm.parsable_lines import split_block
from rdcost.readers.slurm.sacct_parsable import detect_layout
from rdcost.readers.text_lines import iter_line_blocks

from .slurm_mix import EXPORT_KINDS, PIPE_WRAP, TERMINAL, X1F, MixRun

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.timeout(600)]

PARSABLE = ["parsable2", "parsable"]
#: The free-text fields the exports must carry for the pipe job.
FREE_TEXT = ["JobName", "Comment", "SubmitLine", "WorkDir"]


def isnull(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def text(v) -> str:
    """A sacct field as text ('' for an empty one)."""
    return "" if isnull(v) else str(v)


# ----------------------------------------------------------------------------- by hand


def by_hand(path: Path) -> dict[str, dict[str, str]]:
    """JobID -> {field: value} of the 0x1f export: split by hand (no value holds 0x1f)."""
    lines = [ln for ln in path.read_text().split("\n") if ln]
    header = lines[0].split(X1F)
    out = {}
    for ln in lines[1:]:
        parts = ln.split(X1F)
        assert len(parts) == len(header), f"{path.name}: {ln!r}"
        out[parts[0]] = dict(zip(header, parts, strict=True))
    return out


def json_export(path: Path) -> tuple[dict[str, dict], str]:
    """Job id -> job object of a --json export, and the plugin that wrote it."""
    doc = json.loads(path.read_text())
    return {str(j["job_id"]): j for j in doc["jobs"]}, doc["meta"]["plugin"]["type"]


def utc(value: str) -> pd.Timestamp:
    """A sacct time of the exports (TZ=UTC, SLURM_TIME_FORMAT=standard)."""
    return pd.Timestamp(value, tz="UTC")


def gres_gpus(alloc_tres: str) -> tuple[float, str | None]:
    """(gres/gpu count, the typed gres/gpu:<type> names) of an AllocTRES, by hand."""
    items = dict(kv.split("=", 1) for kv in alloc_tres.split(",") if "=" in kv)
    types = sorted(k.split(":", 1)[1] for k in items if k.startswith("gres/gpu:"))
    return float(items.get("gres/gpu", 0)), ",".join(types) or None


def line_of(path: Path, job_id: str) -> tuple[int, str]:
    """(1-based number, text) of the line of ``job_id`` in a text export."""
    for i, ln in enumerate(path.read_text().split("\n"), start=1):
        fields = re.split(r"[|\s]+", ln.strip(), maxsplit=1)
        if fields[0] == job_id:
            return i, ln
    raise AssertionError(f"{path.name}: no line for {job_id}")


# ----------------------------------------------------------------------------- rdcost


def aligned(path: Path) -> tuple[dict[str, dict], list]:
    """JobID -> {sacct field: value} as rdcost splits a --parsable/--parsable2 export
    (lines with extra delimiters aligned, rdcost.readers.slurm.alignment), and the lines
    it refused."""
    layout = detect_layout(path.read_text().split("\n")[:50])
    assert layout is not None, path.name
    rows, refused = {}, []
    for block in iter_line_blocks(path, layout.skip_lines):
        b = split_block(
            block, layout.columns, layout.delimiter, layout.trailing, ParseOptions(), str(path)
        )
        refused += b.rejected
        rows.update({r["JobID"]: r for r in b.frame.to_dict("records")})
    return rows, refused


def cli(capsys, *args: str) -> str:
    """Run ``rdcost ARGS`` as a user does (in this process); its stderr. It must succeed."""
    with pytest.raises(SystemExit) as e:
        main(list(args))
    err = capsys.readouterr().err
    assert e.value.code == 0, err
    return err


STORE_LINE = re.compile(r"store: ([\d,]+) new, ([\d,]+) updated, ([\d,]+) unchanged")


def store_counts(err: str) -> tuple[int, int, int]:
    """(new, updated, unchanged) from the last line of ``rdcost ingest``."""
    m = STORE_LINE.findall(err)
    assert m, err
    new, upd, same = (int(x.replace(",", "")) for x in m[-1])
    return new, upd, same


# ----------------------------------------------------------------------------- the pipe job


def test_slurm_stored_the_pipes_as_submitted(mix: MixRun):
    """slurmdbd stored the comment (AccountingStoreFlags=job_comment) and the submit
    line (Slurm >= 20.11) with their '|'; every export carries Comment, SubmitLine,
    JobName and WorkDir for the job, in full where the columns are wide enough."""
    pipe = mix.jobs["pipe"]
    hand = by_hand(mix.probes["x1f"])[pipe.job_id]
    comment = mix.comment(pipe)
    assert "|" in comment
    assert hand["Comment"] == comment
    assert f"--comment={comment} " in hand["SubmitLine"], hand["SubmitLine"]
    assert hand["SubmitLine"].endswith(f"--wrap {PIPE_WRAP}"), hand["SubmitLine"]
    assert (hand["JobName"], hand["WorkDir"]) == ("pipe_wrap", str(mix.workdir))

    jobs, plugin = json_export(mix.exports["json"])
    j = jobs[pipe.job_id]
    assert j["comment"]["job"] == comment
    assert (j["name"], j["working_directory"]) == ("pipe_wrap", str(mix.workdir))
    if j.get("submit_line") is not None:  # newer plugins than 22.05's dbv0.0.38
        assert j["submit_line"] == hand["SubmitLine"], plugin

    n_pipes = sum(hand[f].count("|") for f in FREE_TEXT)
    assert n_pipes == 5
    for kind in PARSABLE:
        path = mix.exports[kind]
        header = path.read_text().split("\n", 1)[0]
        assert all(f in header.split("|") for f in FREE_TEXT), header
        _, line = line_of(path, pipe.job_id)
        assert line.count("|") == header.count("|") + n_pipes, line
    _, wide = line_of(mix.exports["fixed"], pipe.job_id)
    for f in FREE_TEXT:
        assert hand[f] in wide, f"{f} {hand[f]!r} is cut in the wide fixed-width export"
    header = mix.exports["fixed-default"].read_text().split("\n", 1)[0].split()
    assert [f for f in FREE_TEXT if f not in header] == [], header


@pytest.mark.parametrize("kind", PARSABLE)
def test_the_pipe_job_aligns_to_what_slurm_stored(mix: MixRun, kind: str):
    """rdcost places the extra '|' of the pipe job's lines (job, batch, extern) where
    Slurm had them: every field equals the 0x1f export's, and no line is refused."""
    pipe = mix.jobs["pipe"]
    rows, refused = aligned(mix.exports[kind])
    assert refused == [], [(r.line, r.reason) for r in refused]
    hand = by_hand(mix.probes["x1f"])
    ids = [j for j in hand if j == pipe.job_id or j.startswith(f"{pipe.job_id}.")]
    assert len(ids) == 3, ids  # the job, .batch and .extern
    bad = [
        f"{jid} {name}: rdcost {text(rows[jid].get(name))!r}, sacct {value!r}"
        for jid in ids
        for name, value in hand[jid].items()
        if text(rows[jid].get(name)) != value
    ]
    assert not bad, "\n".join(bad)


#: Job-table columns of the pipe job that --parsable(2) must give as the JSON does.
JSON_COLUMNS = [
    "job_id",
    "job_id_raw",
    "job_name",
    "user",
    "account",
    "partition",
    "qos",
    "cluster",
    "state",
    "exit_code",
    "exit_signal",
    "submit_time",
    "start_time",
    "end_time",
    "elapsed_s",
    "timelimit_s",
    "n_nodes",
    "n_cpus",
    "n_gpus",
    "gpu_type",
    "node_list",
    "is_inferred",
]


@pytest.mark.parametrize("kind", PARSABLE)
def test_the_pipe_job_ingests_with_the_values_of_the_json(mix: MixRun, kind: str):
    """The pipe job is read from --parsable2 and --parsable, not rejected, with the
    values rdcost reads from the --json export and those sacct printed (by hand)."""
    pipe = mix.jobs["pipe"]
    df, report = read_log_report(mix.exports[kind])
    assert report.n_rejected == 0, [(r.line, r.reason) for r in report.examples]
    row = df[df["job_id"] == pipe.job_id].to_dict("records")
    assert len(row) == 1, df["job_id"].tolist()
    row = row[0]
    js, _ = read_log_report(mix.exports["json"])
    ref = js[js["job_id"] == pipe.job_id].to_dict("records")[0]
    bad = [
        f"{c}: {kind} {row[c]!r}, json {ref[c]!r}"
        for c in JSON_COLUMNS
        if not (isnull(row[c]) and isnull(ref[c])) and row[c] != ref[c]
    ]
    assert not bad, "\n".join(bad)

    hand = by_hand(mix.probes["x1f"])[pipe.job_id]
    n_gpus, gpu_type = gres_gpus(hand["AllocTRES"])
    assert (n_gpus, gpu_type) == (1.0, "titanx")
    exit_code, exit_signal = (int(x) for x in hand["ExitCode"].split(":"))
    want = {
        "job_name": hand["JobName"],
        "state": hand["State"],
        "exit_code": exit_code,
        "exit_signal": exit_signal,
        "submit_time": utc(hand["Submit"]),
        "start_time": utc(hand["Start"]),
        "end_time": utc(hand["End"]),
        "elapsed_s": float(hand["ElapsedRaw"]),
        "n_cpus": int(hand["NCPUS"]),
        "n_gpus": n_gpus,
        "gpu_type": gpu_type,
        "source_line": line_of(mix.exports[kind], pipe.job_id)[0],
    }
    got = {c: row[c] for c in want}
    assert got == want
    assert (want["state"], want["n_cpus"]) == ("COMPLETED", pipe.n_cpus)


def test_free_text_side_by_side_is_refused_not_guessed(mix: MixRun):
    """With JobName, Comment, SubmitLine and WorkDir side by side (no typed field
    between them), the pipe job's five extra '|' fit several readings: rdcost rejects
    its line saying so, and its steps with it; every other job is read."""
    pipe = mix.jobs["pipe"]
    path = mix.probes["adjacent"]
    df, report = read_log_report(path)
    n, _ = line_of(path, pipe.job_id)
    reasons = {r.line: r.reason for r in report.examples}
    assert report.n_rejected == 3, reasons  # the job, .batch, .extern
    assert "could belong to several of JobName, Comment, SubmitLine, WorkDir" in reasons[n]
    assert all(
        reasons[n + i].startswith(f"its allocation record (line {n}) was rejected") for i in (1, 2)
    ), reasons
    keys = {MixRun.key(j) for j in df["job_id"]}
    assert keys == set(mix.expected()) - {pipe.job_id}


# ----------------------------------------------------------------------------- one store

#: Each export first once and last once (rotations), and backwards.
ORDERS = [tuple(EXPORT_KINDS[i:] + EXPORT_KINDS[:i]) for i in range(len(EXPORT_KINDS))]
ORDERS.append(tuple(reversed(EXPORT_KINDS)))
#: Store columns equal to the --parsable2 export's for every job.
STORE_COLUMNS = [
    "job_id",
    "job_id_raw",
    "job_name",
    "user",
    "account",
    "partition",
    "cluster",
    "state",
    "submit_time",
    "start_time",
    "end_time",
    "n_cpus",
    "n_gpus",
    "gpu_type",
    "timelimit_s",
    "node_list",
    "exit_code",
]


def check_each_job_once(store: Path, mix: MixRun) -> pd.DataFrame:
    """The store holds each allocation the mix submitted (by the ids sbatch returned)
    exactly once, the pipe job among them, with the --parsable2 export's values."""
    jobs = rdcost.read_jobs(store)
    keys = [MixRun.key(j) for j in jobs["job_id"]]
    twice = sorted(k for k, n in Counter(keys).items() if n > 1)
    assert not twice, f"stored more than once: {twice}"
    expected = set(mix.expected())
    assert set(keys) == expected, (
        f"missing {sorted(expected - set(keys))}, unexpected {sorted(set(keys) - expected)}"
    )
    assert len(jobs) == len(expected)
    raws = jobs["job_id_raw"].dropna().tolist()
    assert len(raws) == len(set(raws)) == len(jobs), raws
    assert mix.jobs["pipe"].job_id in keys

    ref, _ = read_log_report(mix.exports["parsable2"])
    ref_rows = {MixRun.key(r["job_id"]): r for r in ref.to_dict("records")}
    bad = []
    for row in jobs.to_dict("records"):
        r = ref_rows[MixRun.key(row["job_id"])]
        cols = STORE_COLUMNS + (["elapsed_s"] if r["state"] in TERMINAL else [])
        for c in cols:
            if not (isnull(row[c]) and isnull(r[c])) and row[c] != r[c]:
                bad.append(f"{row['job_id']} {c}: store {row[c]!r}, parsable2 {r[c]!r}")
        if not isnull(row["cut_columns"]):
            bad.append(f"{row['job_id']}: cut values kept: {row['cut_columns']}")
    assert not bad, "\n".join(bad)
    return jobs


def facts(jobs: pd.DataFrame) -> pd.DataFrame:
    """The stored rows without the time they were written, in key order."""
    return jobs.drop(columns=["ingested_time"]).sort_values("record_key", ignore_index=True)


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "-".join(o))
def test_five_exports_one_store_each_job_once(mix: MixRun, order, tmp_path, capsys):
    """``rdcost ingest`` of each export in turn: every job is stored once, new only the
    first time an export holds it; ingesting the five again adds and changes nothing."""
    store = tmp_path / "store"
    new_total = 0
    for kind in order:
        err = cli(capsys, "ingest", str(mix.exports[kind]), "--store", str(store))
        assert " 0 rejected" in err, err
        new_total += store_counts(err)[0]
    assert new_total == len(mix.expected())
    before = facts(check_each_job_once(store, mix))
    for kind in order:
        err = cli(capsys, "ingest", str(mix.exports[kind]), "--store", str(store))
        assert store_counts(err)[0] == 0, err
    after = facts(check_each_job_once(store, mix))
    pd.testing.assert_frame_equal(after, before)


def test_five_exports_in_one_ingest_each_job_once(mix: MixRun, tmp_path, capsys):
    """The five exports in one ``rdcost ingest`` call, twice: the same store."""
    store = tmp_path / "store"
    files = [str(mix.exports[k]) for k in EXPORT_KINDS]
    err = cli(capsys, "ingest", *files, "--store", str(store))
    assert err.count(" 0 rejected") == len(files), err
    assert store_counts(err)[0] == len(mix.expected()), err
    before = facts(check_each_job_once(store, mix))
    err = cli(capsys, "ingest", *files, "--store", str(store))
    assert store_counts(err)[0] == 0, err
    after = facts(check_each_job_once(store, mix))
    pd.testing.assert_frame_equal(after, before)
