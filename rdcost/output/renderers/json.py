"""JSON: a result's ``to_dict`` (or a data frame as a list of records), indented, exact text
(JSON escapes it), NaN never written (missing values are null)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from rdcost.jsonable import plain


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def dumps(obj: Any) -> str:
    if isinstance(obj, pd.DataFrame):
        obj = records(obj)
    return json.dumps(obj, indent=2, ensure_ascii=False, default=_default, allow_nan=False)


def _default(o: Any) -> Any:
    v = plain(o)
    return str(o) if v is o else v
