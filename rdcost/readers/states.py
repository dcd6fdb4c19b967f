"""Normalize job/run states from every source to the schema's state names."""

from __future__ import annotations

import re

# Slurm base states and flags (sacct text and JSON), plus abbreviations
# printed by squeue-style tools and the fixed-width '+' truncations.
_SLURM = {
    "PENDING": "PENDING",
    "PD": "PENDING",
    "RUNNING": "RUNNING",
    "R": "RUNNING",
    "SUSPENDED": "SUSPENDED",
    "S": "SUSPENDED",
    "COMPLETED": "COMPLETED",
    "CD": "COMPLETED",
    "CANCELLED": "CANCELLED",
    "CA": "CANCELLED",
    "FAILED": "FAILED",
    "F": "FAILED",
    "TIMEOUT": "TIMEOUT",
    "TO": "TIMEOUT",
    "NODE_FAIL": "NODE_FAIL",
    "NF": "NODE_FAIL",
    "PREEMPTED": "PREEMPTED",
    "PR": "PREEMPTED",
    "BOOT_FAIL": "BOOT_FAIL",
    "BF": "BOOT_FAIL",
    "DEADLINE": "DEADLINE",
    "DL": "DEADLINE",
    "OUT_OF_MEMORY": "OUT_OF_MEMORY",
    "OOM": "OUT_OF_MEMORY",
    "REQUEUED": "REQUEUED",
    "RQ": "REQUEUED",
    "REQUEUE_FED": "REQUEUED",
    "REQUEUE_HOLD": "REQUEUED",
    "COMPLETING": "RUNNING",
    "CG": "RUNNING",
    "CONFIGURING": "RUNNING",
    "CF": "RUNNING",
    "STAGE_OUT": "RUNNING",
    "SO": "RUNNING",
    "RESIZING": "RUNNING",
    "SIGNALING": "RUNNING",
    "EXPEDITING": "PENDING",
    "RESV_DEL_HOLD": "PENDING",
    "SPECIAL_EXIT": "FAILED",
    "STOPPED": "SUSPENDED",
    "REVOKED": "CANCELLED",
    "LAUNCH_FAILED": "FAILED",
    "UPDATE_DB": "RUNNING",
}

# W&B run states (lower case in exports) and MLflow run statuses.
_RUNS = {
    "finished": "COMPLETED",
    "running": "RUNNING",
    "failed": "FAILED",
    "crashed": "FAILED",
    "killed": "CANCELLED",
    "preempting": "RUNNING",
    "preempted": "PREEMPTED",
    "pending": "PENDING",
    "scheduled": "PENDING",
    "completed": "COMPLETED",
    "cancelled": "CANCELLED",
    "canceled": "CANCELLED",
    "timeout": "TIMEOUT",
    "success": "COMPLETED",
}

_BASES = sorted(k for k in _SLURM if len(k) > 2)
_CANCELLED_BY = re.compile(r"^CANCELLED\s+by\s+\S+$", re.IGNORECASE)


def normalize_slurm_state(text: str | None) -> str | None:
    """'CANCELLED by 1234' -> CANCELLED; 'OUT_OF_ME+' -> OUT_OF_MEMORY; '' -> None.

    Returns None for text that is no Slurm state (the caller rejects the record).
    """
    if text is None:
        return None
    t = text.strip()
    if not t:
        return None
    if _CANCELLED_BY.match(t):
        return "CANCELLED"
    up = t.upper()
    if up in _SLURM:
        return _SLURM[up]
    if up.endswith("+"):  # fixed-width truncation: unique prefix of a base state
        stem = up[:-1]
        hits = {_SLURM[b] for b in _BASES if b.startswith(stem)}
        if len(hits) == 1:
            return hits.pop()
    return None


def normalize_slurm_state_list(states: list[str]) -> str | None:
    """JSON v0.0.40+ gives a list: base state plus flags. Flags that change the
    outcome (REQUEUED...) win over the base state only when the base is unknown."""
    base = None
    for s in states:
        n = normalize_slurm_state(s)
        if n is None:
            continue
        if s.upper() in {
            "COMPLETING",
            "CONFIGURING",
            "STAGE_OUT",
            "RESIZING",
            "SIGNALING",
            "EXPEDITING",
            "UPDATE_DB",
        }:
            base = base or n
            continue
        return n
    return base


def normalize_run_state(text: str | None) -> str | None:
    """W&B/MLflow/CSV states -> schema state; Slurm names also accepted."""
    if text is None:
        return None
    t = str(text).strip()
    if not t:
        return None
    low = t.lower()
    if low in _RUNS:
        return _RUNS[low]
    return normalize_slurm_state(t)
