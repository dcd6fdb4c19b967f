"""Input formats, found through one explicit registry.

``FORMATS`` maps a format name (what ``--format`` takes) to the module that
implements the contract in :mod:`rdcost.readers.base`. Auto-detection asks
every sniffer; exactly one must claim the file.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from rdcost.errors import FormatDetectionError, UsageError
from rdcost.readers.base import Sample

#: Format name -> module. Order is the order of detection (most specific first).
FORMATS: dict[str, str] = {
    "sacct-json": "rdcost.readers.slurm.sacct_json",
    "wandb": "rdcost.readers.runs.wandb",
    "mlflow": "rdcost.readers.runs.mlflow",
    "sacct-fixed": "rdcost.readers.slurm.sacct_fixed",
    "sacct-parsable": "rdcost.readers.slurm.sacct_parsable",
    "csv": "rdcost.readers.plain_csv",
}


def get_format(name: str) -> ModuleType:
    """The module for a format name; a clear error for an unknown one."""
    try:
        module = FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}") from None
    return importlib.import_module(module)


def claims(sample: Sample) -> list[str]:
    """Names of every format whose sniffer claims the sample."""
    return [name for name in FORMATS if get_format(name).sniff(sample)]


def detect(path: Path) -> str:
    """The one format that claims ``path``, or a FormatDetectionError saying why not."""
    sample = Sample.read(path)
    if not sample.head.strip():
        raise FormatDetectionError("the file is empty: no job records to read", path=str(path))
    for magic, what, hint in _PACKED:
        if sample.head.startswith(magic):
            raise FormatDetectionError(
                f"the file is {what}, not a job log in text", path=str(path), hint=hint
            )
    if _looks_binary(sample.head):
        raise FormatDetectionError(
            "the file looks binary (NUL bytes or mostly non-text), not a job log; "
            "rdcost reads sacct text or JSON, W&B and MLflow CSV/JSON exports and plain CSV",
            path=str(path),
        )
    # A format module may refuse a look-alike with a specific message (e.g. the
    # W&B chart-panel CSV): it raises FormatDetectionError from its sniffer.
    found = claims(sample)
    if len(found) == 1:
        return found[0]
    if not found:
        first = sample.lines(1)[0] if sample.lines(1) else ""
        raise FormatDetectionError(
            "cannot tell the format of this file",
            path=str(path),
            value=first,
            hint="pass --format with one of: "
            + ", ".join(FORMATS)
            + " (see `rdcost ingest --help`)",
        )
    raise FormatDetectionError(
        f"the file could be any of {found}", path=str(path), hint="pass --format to choose one"
    )


#: Leading bytes of packed files users pass by mistake, and what they are.
_PACKED = (
    (
        b"\x1f\x8b",
        "gzip-compressed",
        "decompress it first (gunzip FILE), then ingest the text file",
    ),
    (b"BZh", "bzip2-compressed", "decompress it first (bunzip2 FILE), then ingest the text file"),
    (
        b"\xfd7zXZ\x00",
        "xz-compressed",
        "decompress it first (unxz FILE), then ingest the text file",
    ),
    (
        b"\x28\xb5\x2f\xfd",
        "zstd-compressed",
        "decompress it first (unzstd FILE), then ingest the text file",
    ),
    (
        b"PK\x03\x04",
        "a ZIP archive or an Excel workbook (.xlsx)",
        "unzip it, or save the sheet as CSV, then ingest the text file",
    ),
    (b"PAR1", "a Parquet file", "write the table as CSV (e.g. pandas to_csv), then ingest that"),
)


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head[:8192]:
        return True
    chunk = head[:8192]
    if not chunk:
        return False
    text_bytes = bytes(range(32, 127)) + b"\n\r\t\f\b\x1b\x1f"
    nontext = sum(1 for b in chunk if b not in text_bytes and b < 128)
    return nontext / len(chunk) > 0.3
