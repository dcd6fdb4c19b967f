from __future__ import annotations

import pandas as pd

from rdcost.output.anonymize import anonymize, load_salt


def frame():
    return pd.DataFrame(
        {
            "user": ["alice", "bob", "alice", None],
            "account": ["nlp", "nlp", "cv", "cv"],
            "project": ["nlp", "lisa", "cv", None],
            "job_name": ["train", "eval", "train", "x"],
        }
    )


def test_names_become_stable_tokens_and_nulls_stay_null():
    a = anonymize(frame(), "s1")
    assert a["user"][0] == a["user"][2] != a["user"][1]
    assert a["user"].iloc[3] is None or pd.isna(a["user"].iloc[3])
    assert a["user"][0].startswith("user-") and "alice" not in a.to_csv()
    assert a["job_name"][0] == a["job_name"][2]


def test_project_named_after_the_account_is_hidden_but_a_chosen_tag_is_kept():
    a = anonymize(frame(), "s1")
    assert a["project"][1] == "lisa"
    assert a["project"][0] == a["account"][0] != "nlp"


def test_different_salts_give_unrelated_tokens():
    assert anonymize(frame(), "s1")["user"][0] != anonymize(frame(), "s2")["user"][0]


def test_salt_is_created_once_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("RDCOST_ANON_SALT", raising=False)
    s1 = load_salt(tmp_path)
    assert load_salt(tmp_path) == s1 and len(s1) == 32
    assert (tmp_path / "anon_salt").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("RDCOST_ANON_SALT", "fixed")
    assert load_salt(tmp_path) == "fixed"


def test_grid_searches_found_on_real_names_survive_anonymization():
    from rdcost.analysis.grouping import find_groups
    from rdcost.jobtable import schema

    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = []
    for i in range(6):  # one heuristic search: same user, stem, burst
        rows.append(
            {
                "record_key": f"a{i}",
                "source": "slurm",
                "user": "alice",
                "project": "p",
                "job_name": f"lisa-srl-lr0.{i}",
                "submit_time": t0 + pd.Timedelta(minutes=i),
            }
        )
    for i in range(3):  # not a search: three different names
        rows.append(
            {
                "record_key": f"b{i}",
                "source": "slurm",
                "user": "alice",
                "project": "p",
                "job_name": f"debug{i}-x",
                "submit_time": t0 + pd.Timedelta(minutes=i),
            }
        )
    jobs = schema.conform(pd.DataFrame(rows))
    real = find_groups(jobs)
    anon = anonymize(jobs, "s1", real)
    again = find_groups(anon)
    assert real["search_id"].nunique() == again["search_id"].nunique() == 1
    assert (real["search_id"].notna() == again["search_id"].notna()).all()
    assert not anon["job_name"].str.contains("lisa|debug").any()
    assert anon["job_name"].str.fullmatch(r"\d{14}").all()


def test_a_project_that_is_another_rows_account_is_hidden_too():
    f = frame()
    f.loc[1, "project"] = "cv"  # bob's project is the cv account, though his account is nlp
    a = anonymize(f, "s1")
    assert a["project"][1] == a["account"][2] and "cv" not in set(a["project"])


def test_without_the_account_column_every_project_is_hidden():
    """`rdcost --anonymize jobs --columns project` reads no account: no way to tell."""
    a = anonymize(frame().drop(columns="account"), "s1")
    assert not {"nlp", "lisa", "cv"} & set(a["project"].dropna())


def test_anonymized_jobs_show_no_account_in_any_format(tmp_path, capsys):
    """Through the CLI: the sample project stored under its account, every format."""
    import pytest

    from rdcost.cli import main

    lisa = tmp_path / "s.txt"
    lisa.write_text("JobID|Account|User|State|ElapsedRaw\n1|secretacct|alice|COMPLETED|60\n")
    with pytest.raises(SystemExit):
        main(["ingest", str(lisa), "--store", str(tmp_path / "st")])
    for fmt in ("table", "csv", "json", "markdown"):
        for cols in ("all", "project", "project,user"):
            capsys.readouterr()
            with pytest.raises(SystemExit) as e:
                main(
                    [
                        "--anonymize",
                        "jobs",
                        "--store",
                        str(tmp_path / "st"),
                        "--format",
                        fmt,
                        "--columns",
                        cols,
                    ]
                )
            out = capsys.readouterr().out
            assert e.value.code == 0 and "secretacct" not in out and "alice" not in out, (
                fmt,
                cols,
                out,
            )
