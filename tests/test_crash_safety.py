"""Crash safety and concurrency of ingest, with real processes.

A SIGKILL at any moment of an ingest leaves the store readable and equal to
its state before or after that ingest, never in between. Two ingests into one
store at once serialize: nothing is lost or duplicated.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rdcost.jobtable.store import Store

pytestmark = pytest.mark.slow

HEADER = "JobID|JobIDRaw|User|Account|Partition|State|ExitCode|Submit|Start|End|ElapsedRaw|NCPUS|AllocTRES"


def write_sacct(path: Path, first_id: int, n: int) -> None:
    """A --parsable2 export of n GPU jobs (each with a .batch step), months apart."""
    t0 = pd.Timestamp("2023-01-01T00:00:00")
    with open(path, "w") as fh:
        fh.write(HEADER + "\n")
        for i in range(n):
            jid = first_id + i
            submit = t0 + pd.Timedelta(minutes=7 * i)
            start = submit + pd.Timedelta(minutes=1)
            end = start + pd.Timedelta(seconds=600 + i % 5000)
            el = int((end - start).total_seconds())
            s, b, e = (x.strftime("%Y-%m-%dT%H:%M:%S") for x in (submit, start, end))
            fh.write(
                f"{jid}|{jid}|u{i % 7}|acct|gpu|COMPLETED|0:0|{s}|{b}|{e}|{el}|4|"
                f"billing=4,cpu=4,gres/gpu:titanx=1,gres/gpu=1,mem=8G,node=1\n"
            )
            fh.write(
                f"{jid}.batch|{jid}.batch||acct||COMPLETED|0:0|{b}|{b}|{e}|{el}|4|"
                f"cpu=4,gres/gpu:titanx=1,gres/gpu=1,mem=8G,node=1\n"
            )


def rdcost(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rdcost", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def snapshot(store: Path) -> pd.DataFrame:
    df = Store(store).read_jobs(columns=["record_key", "state", "elapsed_s"])
    return df.sort_values("record_key").reset_index(drop=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("crash")
    small, big = d / "small.txt", d / "big.txt"
    write_sacct(small, 1_000_000, 500)
    write_sacct(big, 2_000_000, 40_000)
    return small, big


def test_sigkill_at_random_points_leaves_old_or_new_store(files, tmp_path):
    small, big = files
    # the reference states: before (small only) and after (small + big)
    ref = tmp_path / "ref"
    assert rdcost("ingest", str(small), "--store", str(ref)).wait(120) == 0
    before = snapshot(ref)
    t0 = time.monotonic()
    assert rdcost("ingest", str(big), "--store", str(ref)).wait(300) == 0
    full_s = time.monotonic() - t0
    after = snapshot(ref)
    assert len(after) == len(before) + 40_000

    rng = random.Random(20190601)
    seen = {"before": 0, "after": 0}
    for trial in range(6):
        st = tmp_path / f"s{trial}"
        assert rdcost("ingest", str(small), "--store", str(st)).wait(120) == 0
        p = rdcost("ingest", str(big), "--store", str(st))
        time.sleep(rng.uniform(0.05, full_s * 1.1))
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        got = snapshot(st)
        if len(got) == len(before):
            pd.testing.assert_frame_equal(got, before)
            seen["before"] += 1
        else:
            pd.testing.assert_frame_equal(got, after)
            seen["after"] += 1
        # the next writer cleans up whatever the killed one left behind
        assert rdcost("ingest", str(small), "--store", str(st)).wait(120) == 0
        assert not list(st.glob(".staging-*"))
        manifest_files = {f.resolve() for f in Store(st).files()}
        assert {f.resolve() for f in (st / "jobs").rglob("*.parquet")} == manifest_files
    assert sum(seen.values()) == 6


def test_two_concurrent_ingests_serialize(files, tmp_path):
    small, big = files
    st = tmp_path / "s"
    a = rdcost("ingest", str(big), "--store", str(st))
    time.sleep(0.2)
    b = rdcost("ingest", str(small), "--store", str(st))
    assert a.wait(300) == 0 and b.wait(300) == 0
    got = snapshot(st)
    assert len(got) == 40_500 and got["record_key"].is_unique
    assert set(got["state"]) == {"COMPLETED"}
