from __future__ import annotations

import pandas as pd

from rdcost.anonymize import anonymize, load_salt


def frame():
    return pd.DataFrame({"user": ["alice", "bob", "alice", None],
                         "account": ["nlp", "nlp", "cv", "cv"],
                         "project": ["nlp", "lisa", "cv", None],
                         "job_name": ["train", "eval", "train", "x"]})


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
