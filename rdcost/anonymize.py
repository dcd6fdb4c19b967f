"""Replace users, accounts and job names with stable salted hashes.

``anonymize(jobs, salt)`` rewrites the identifying text columns so a report
can be shared: the same name always maps to the same token for one salt
(``user-1f3a9c0b2e``), different salts give unrelated tokens, and the salt
is never printed. The salt lives in the store directory (``anon_salt``,
mode 0600, created on first use) unless ``$RDCOST_ANON_SALT`` gives one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import pandas as pd

SALT_ENV = "RDCOST_ANON_SALT"
SALT_FILE = "anon_salt"

#: column -> token prefix. Project is anonymized where it is just the account.
COLUMNS = {"user": "user", "account": "acct", "job_name": "job", "node_list": "node"}


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


def _map(series: pd.Series, prefix: str, salt: str) -> pd.Series:
    uniq = series.dropna().unique()
    mapping = {v: token(str(v), prefix, salt) for v in uniq}
    return series.map(mapping).where(series.notna(), None)


def anonymize(jobs: pd.DataFrame, salt: str) -> pd.DataFrame:
    """A copy of ``jobs`` with users, accounts, job names and nodes replaced by tokens."""
    out = jobs.copy()
    if "project" in out and "account" in out:
        same = out["project"].notna() & (out["project"] == out["account"])
        out.loc[same, "project"] = _map(out.loc[same, "account"], "acct", salt)
    for col, prefix in COLUMNS.items():
        if col in out:
            out[col] = _map(out[col], prefix, salt)
    return out
