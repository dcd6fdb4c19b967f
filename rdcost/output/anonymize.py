"""Replace users, accounts and job names with stable salted hashes.

``anonymize(jobs, salt)`` rewrites the identifying text columns so a report
can be shared: the same name always maps to the same token for one salt
(``user-1f3a9c0b2e``), different salts give unrelated tokens, and the salt
is never printed. The salt lives in the store directory (``anon_salt``,
mode 0600, created on first use) unless ``$RDCOST_ANON_SALT`` gives one.

Grid searches found by name heuristics would vanish with the names, so
``anonymize`` takes the searches found on the real data and keeps them as
stored groups (a token per search); job names become digit-only tokens,
which have no name stem, so the heuristics find nothing new in them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import pandas as pd

SALT_ENV = "RDCOST_ANON_SALT"
SALT_FILE = "anon_salt"

#: column -> token prefix. Project is anonymized where it names an account.
COLUMNS = {
    "user": "user",
    "account": "acct",
    "node_list": "node",
    # record keys name the W&B entity or cluster; paths often name a home directory
    "record_key": "key",
    "source_file": "file",
}


def load_salt(store_dir: Path) -> str:
    env = os.environ.get(SALT_ENV)
    if env:
        return env
    path = Path(store_dir) / SALT_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(salt + "\n")
    return salt


def token(value: str, prefix: str, salt: str) -> str:
    digest = hashlib.sha256(f"{salt}\x1f{prefix}\x1f{value}".encode()).hexdigest()
    return f"{prefix}-{digest[:10]}"


def name_token(value: str, salt: str) -> str:
    """A job-name token: 13 digits, so no grouping heuristic can read a stem in it."""
    digest = hashlib.sha256(f"{salt}\x1fjob\x1f{value}".encode()).hexdigest()
    return str(int(digest[:11], 16)).zfill(14)


def _map(series: pd.Series, prefix: str, salt: str, fn=None) -> pd.Series:
    uniq = series.dropna().unique()
    fn = fn or (lambda v: token(str(v), prefix, salt))
    mapping = {v: fn(v) for v in uniq}
    return series.map(mapping).where(series.notna(), None)


def anonymize(jobs: pd.DataFrame, salt: str, searches: pd.DataFrame | None = None) -> pd.DataFrame:
    """A copy of ``jobs`` with users, accounts, job names and nodes replaced by tokens.

    ``searches``: :func:`rdcost.analysis.grouping.find_groups` of the real ``jobs``; each
    search is kept as a stored group (``group_id`` a token, ``group_source`` the
    way it was found), so the same searches are found after anonymizing.
    """
    out = jobs.copy()
    if searches is not None and "group_id" in out:
        found = searches["search_id"].notna()
        out.loc[found, "group_id"] = _map(searches.loc[found, "search_id"], "search", salt)
        out.loc[found, "group_source"] = searches.loc[found, "search_method"]
    if "job_name" in out:
        out["job_name"] = _map(out["job_name"], "job", salt, fn=lambda v: name_token(str(v), salt))
    if "project" in out:
        # a project that is an account name (the default) gets the account's token; without
        # the account column there is no telling, so every project is hidden the same way
        if "account" in out:
            same = out["project"].notna() & out["project"].isin(set(out["account"].dropna()))
        else:
            same = out["project"].notna()
        out.loc[same, "project"] = _map(out.loc[same, "project"], "acct", salt)
    for col, prefix in COLUMNS.items():
        if col in out:
            out[col] = _map(out[col], prefix, salt)
    return out


def anonymize_searches(table: pd.DataFrame, salt: str, account_projects: set) -> pd.DataFrame:
    """A copy of a listing of searches (:func:`rdcost.analysis.grouping.summarize_groups` or
    ``group_members``) with users, names and search ids (which contain a user and a name stem)
    replaced by tokens; ``account_projects``: the projects that are just an account."""
    t = table.copy()
    for col, prefix in (
        ("user", "user"),
        ("name", "job"),
        ("job_name", "job"),
        ("search_id", "search"),
    ):
        if col in t:
            uniq = t[col].dropna().unique()
            if col == "user":  # a search may list several users: a,b
                mapping = {
                    v: ",".join(token(u, prefix, salt) for u in str(v).split(",")) for v in uniq
                }
            else:
                mapping = {v: token(str(v), prefix, salt) for v in uniq}
            t[col] = t[col].map(mapping)
    if "project" in t:
        acct = t["project"].isin(account_projects)
        t.loc[acct, "project"] = t.loc[acct, "project"].map(lambda v: token(str(v), "acct", salt))
    return t


def anonymize_utilization(u: dict, salt: str) -> dict:
    """A copy of a summary's ``utilization`` object with the users and grid-search ids of its
    lists replaced by tokens (the tokens of :func:`anonymize` and ``groups --anonymize``);
    `rdcost summarize` reads the store directly, so its lists are anonymized here."""
    out = dict(u)
    out["by_user"] = [
        {**r, "user": None if r["user"] is None else token(str(r["user"]), "user", salt)}
        for r in u.get("by_user", [])
    ]
    out["by_search"] = [
        {**r, "search_id": token(str(r["search_id"]), "search", salt)}
        for r in u.get("by_search", [])
    ]
    out["top_jobs"] = [
        {**r, "user": None if r.get("user") is None else token(str(r["user"]), "user", salt)}
        for r in u.get("top_jobs", [])
    ]
    return out
