"""How the synthetic samples write sacct values: timestamps, durations, and a jobstats
summary as its epilog stores it in AdminComment."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pandas as pd


def ts(t: pd.Timestamp) -> str:
    """A timestamp in sacct's standard form (``2025-03-03T08:00:00``)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def hms(seconds: float) -> str:
    """A duration as sacct prints it (``[D-]HH:MM:SS``)."""
    s = int(round(seconds))
    d, s = divmod(s, 86_400)
    text = f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{d}-{text}" if d else text


def jobstats_field(summary: dict[str, Any]) -> str:
    """``JS1:`` + base64 of the gzipped JSON summary (deterministic: no gzip mtime)."""
    raw = json.dumps(summary, sort_keys=True).encode()
    return "JS1:" + base64.b64encode(gzip.compress(raw, mtime=0)).decode()
