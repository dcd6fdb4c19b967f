"""``sacct --json`` and the slurmrestd ``/slurmdb/.../jobs`` response, every data_parser
version from openapi/dbv0.0.37 (Slurm 21.08) to data_parser/v0.0.44 (Slurm 25.11).

One job object is one allocation (plain job, array task or het component) and becomes
one row; its ``steps`` are folded into it (never rows of their own). Encodings that
changed between versions are told apart by their shape, not by the version string:
``{set, infinite, number}`` wrappers or their ``+complex`` flat form (number, null,
``"Infinity"``), ``state.current`` as a string or a list, old and new exit-code objects,
and the three step-id encodings. The version (from ``meta``) only labels the rows
(``source_format = sacct-json/<version>``) and decides the dbv0.0.37/38 start-time fix.

Accounting: ``n_records`` counts job objects plus the step objects inside them; every
step object is ``n_folded`` into its job (whether that job is then stored or rejected).
See docs/sacct-json.md for the field-by-field mapping and the Slurm bugs handled.

The file is streamed: the top-level object is walked member by member with the stdlib
decoder and the ``jobs`` array is decoded one job at a time, so memory stays bounded by
one chunk of rows plus one job object, whatever the file size.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from rdcost.errors import FormatDetectionError, ParseError
from rdcost.jobtable import schema
from rdcost.readers.base import Chunk, ParseOptions, Rejected, Sample, handle_bad
from rdcost.readers.derived import derive_times
from rdcost.readers.slurm.record_keys import slurm_record_keys
from rdcost.readers.states import normalize_slurm_state, normalize_slurm_state_list

NAME = "sacct-json"

#: Characters decoded per read; tests lower it to cut objects at every boundary.
READ_SIZE = 1 << 20
#: Bytes read from the end of the file to find a ``meta`` block written after ``jobs``.
TAIL_BYTES = 1 << 20

BYTES_PER_MIB = 1_048_576
S_PER_MIN = 60
US_PER_S = 1_000_000

# Slurm sentinels (slurm.h): "no value" and "infinite" for 32- and 64-bit fields.
NO_VAL = 0xFFFFFFFE
INFINITE = 0xFFFFFFFF
NO_VAL64 = 0xFFFFFFFFFFFFFFFE
INFINITE64 = 0xFFFFFFFFFFFFFFFF
_SENTINELS = frozenset({NO_VAL, INFINITE, NO_VAL64, INFINITE64})
# Special step ids as raw numbers (slurm.h SLURM_*_STEP / SLURM_BATCH_SCRIPT ...).
_STEP_NAMES = {
    0xFFFFFFFA: "interactive",
    0xFFFFFFFB: "batch",
    0xFFFFFFFC: "extern",
    0xFFFFFFFD: "pending",
}

#: Keys a sacct/slurmdb job object carries (any two, with job_id, identify one).
_JOB_KEYS = frozenset(
    {
        "association",
        "tres",
        "time",
        "state",
        "exit_code",
        "derived_exit_code",
        "steps",
        "allocation_nodes",
        "wckey",
    }
)
#: Normalized states whose exit status says the job's process failed.
_FAILED = frozenset({"FAILED"})
#: Normalized states of a job that has not ended: its exit status is not known yet.
_NOT_ENDED = frozenset({"RUNNING", "PENDING", "SUSPENDED"})


# --------------------------------------------------------------------------------------
# Streaming reader


class _Incomplete(Exception):
    """The text ended inside a value (only raised for sniffing a cut sample)."""


class _JsonStream:
    """Walk one JSON document from a binary file without loading it whole.

    Keeps a text buffer and the line/column of its first character, so that a
    decoding error anywhere in the file is reported at its real line and column.
    """

    _WS: Any = re.compile(r"[ \t\n\r]*")  # matches (maybe empty) anywhere: never None
    _DECODER = json.JSONDecoder()

    def __init__(self, fh, path: str, read_size: int | None = None, partial_ok: bool = False):
        self.fh = fh
        self.path = path
        self.read_size = read_size or READ_SIZE
        self.partial_ok = partial_ok  # a cut sample: end of text is not an error
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # line and column of buf[0]
        self.col = 1
        self.bytes_read = 0
        self._first = True

    # -- buffer management
    def _fill(self, want: int | None = None) -> bool:
        """Append at least ``want`` characters (or to EOF); False at EOF."""
        if self.eof:
            return False
        want = max(want or 0, self.read_size)
        got = 0
        while got < want:
            raw = self.fh.read(max(want - got, self.read_size))
            if not raw:
                text = self.decoder.decode(b"", final=True)
                self.eof = True
            else:
                self.bytes_read += len(raw)
                text = self.decoder.decode(raw)
            if self._first and text:
                if text.startswith("\ufeff"):
                    text = text[1:]
                self._first = False
            self.buf += text
            got += len(text)
            if self.eof:
                break
        return got > 0 or not self.eof

    def compact(self) -> None:
        """Drop consumed text, keeping line/column bookkeeping right."""
        if self.pos < self.read_size:
            return
        self.line, self.col = self.where(self.pos)
        self.buf = self.buf[self.pos :]
        self.pos = 0

    def where(self, i: int) -> tuple[int, int]:
        """1-based (line, column) of buffer index ``i``."""
        nl = self.buf.count("\n", 0, i)
        if nl:
            return self.line + nl, i - self.buf.rfind("\n", 0, i)
        return self.line, self.col + i

    # -- tokens
    def peek(self) -> str:
        """Next non-blank character ('' at the end of the text), not consumed."""
        while True:
            self.pos = self._WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str, what: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            self.fail(f"expected {what}", found=c)
        self.pos += 1
        return c

    def value(self) -> Any:
        """Decode the next JSON value."""
        self.peek()
        while True:
            try:
                val, end = self._DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.buf) - 32 or exc.msg.startswith("Unterminated string")
                if cut and not self.eof:
                    self._fill(len(self.buf) - self.pos)  # double the window
                    continue
                if cut and self.partial_ok:
                    raise _Incomplete from None
                self.fail(exc.msg, index=exc.pos)
            except ValueError:  # an integer of more than 4300 digits (Python's limit)
                self.fail("a number too long to read (more than 4300 digits)")
            except RecursionError:
                self.fail("values nested too deeply")
            if end >= len(self.buf) - 3 and not self.eof and not isinstance(val, (dict, list, str)):
                self._fill()  # a number may go on: 12|3, 0|.5, 1|e-3
                continue
            self.pos = end
            return val

    def fail(self, message: str, found: str | None = None, index: int | None = None):
        if self.partial_ok and found == "" and self.eof:
            raise _Incomplete
        line, col = self.where(self.pos if index is None else index)
        if found is not None:
            message += f", found {found!r}" if found else ", found the end of the file"
        raise ParseError(
            f"invalid JSON: {message} (column {col})",
            path=self.path,
            line=line,
            hint="the file is not complete, valid JSON; re-export it with "
            "`sacct --json ... > file.json`",
        )


def _walk(stream: _JsonStream) -> Iterator[tuple]:
    """Events of the top-level object: ('member', key, value), ('jobs_start',),
    ('job', index, value, line), ('jobs_end', n) and finally ('end', keys)."""
    c = stream.peek()
    if c == "[":
        raise FormatDetectionError(
            "a JSON array at the top level, not a sacct/slurmdb jobs response (a list of "
            "runs, as W&B or MLflow exports write, is not Slurm accounting)",
            path=stream.path,
            hint="pass the `sacct --json` output, or another --format",
        )
    if c != "{":
        stream.fail("a JSON object '{' at the start of the file", found=c)
    stream.pos += 1
    keys: list[str] = []
    while True:
        c = stream.peek()
        if c == "}":
            stream.pos += 1
            break
        if keys:
            stream.expect(",", "',' or '}' after a member of the top-level object")
        if stream.peek() != '"':
            stream.fail("a member name in double quotes", found=stream.peek())
        key = stream.value()
        stream.expect(":", "':' after a member name")
        keys.append(key)
        if key == "jobs" and stream.peek() == "[":
            stream.pos += 1
            yield ("jobs_start",)
            n = 0
            while True:
                c = stream.peek()
                if c == "]":
                    stream.pos += 1
                    break
                if n:
                    stream.expect(",", "',' or ']' between job objects")
                    stream.peek()
                line, _ = stream.where(stream.pos)
                job = stream.value()
                yield ("job", n, job, line)
                n += 1
                stream.compact()
            yield ("jobs_end", n)
        else:
            yield ("member", key, stream.value())
    c = stream.peek()
    if c:
        hint = (
            "the file holds more than one JSON document (JSON Lines, or exports "
            "appended to each other); give each export its own file"
        )
        if "jobs" not in keys:
            raise FormatDetectionError(
                "JSON Lines (one object per line, as W&B run exports write), not a sacct/"
                "slurmdb jobs response",
                path=stream.path,
                hint=hint,
            )
        line, col = stream.where(stream.pos)
        raise ParseError(
            f"extra data after the JSON document (column {col})",
            path=stream.path,
            line=line,
            value=stream.buf[stream.pos : stream.pos + 40],
            hint=hint,
        )
    yield ("end", keys)


def _members_to_end(text: str, i: int) -> dict | None:
    """Parse ``"k": v (, "k": v)* }`` then only blanks to the end; None if it is not that.

    Only the top-level object ends like that, so a hit is a top-level member.
    """
    dec = json.JSONDecoder()
    ws = _JsonStream._WS
    out: dict = {}
    try:
        while True:
            key, i = dec.raw_decode(text, ws.match(text, i).end())
            i = ws.match(text, i).end()
            if not isinstance(key, str) or text[i : i + 1] != ":":
                return None
            val, i = dec.raw_decode(text, ws.match(text, i + 1).end())
            out[key] = val
            i = ws.match(text, i).end()
            c = text[i : i + 1]
            if c == ",":
                i += 1
                continue
            if c == "}" and not text[i + 1 :].strip():
                return out
            return None
    except (ValueError, RecursionError):  # JSONDecodeError, an integer too long, too deep
        return None


def _tail_meta(path: Path) -> dict | None:
    """The top-level ``meta`` of a document that writes it after ``jobs`` (v0.0.40+)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - TAIL_BYTES))
        text = fh.read().decode("utf-8", errors="replace")
    for m in reversed(list(re.finditer(r'"meta"\s*:', text))):
        members = _members_to_end(text, m.start())
        if members is not None and isinstance(members.get("meta"), dict):
            return members["meta"]
    return None


def _scan_meta(path: Path) -> dict | None:
    """Fallback: walk the whole document (jobs decoded and dropped) for ``meta``."""
    with open(path, "rb") as fh:
        for ev in _walk(_JsonStream(fh, str(path))):
            if ev[0] == "member" and ev[1] == "meta" and isinstance(ev[2], dict):
                return ev[2]
    return None


# --------------------------------------------------------------------------------------
# Values


class _Bad(Exception):
    """A job object that cannot be stored: reason, JSON path, offending value."""

    def __init__(self, reason: str, column: str, value: Any = None, expected: str | None = None):
        super().__init__(reason)
        self.reason, self.column, self.value, self.expected = reason, column, value, expected


def _get(obj: Any, path: str, keys: tuple[str, ...]) -> Any:
    """obj[k1][k2]... with None for a missing key; a non-object on the way is bad."""
    for k in keys:
        if obj is None:
            return None
        if not isinstance(obj, dict):
            raise _Bad("expected a JSON object", path, obj)
        obj = obj.get(k)
        path = f"{path}.{k}"
    return obj


def _num(v: Any, path: str) -> float | int | None:
    """A Slurm number in any encoding: int, {set, infinite, number}, or the ``+complex``
    flat form (number, null, "Infinity"). Returns None (no value) or math.inf."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise _Bad("expected a number", path, v, "a number")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, str) and v.strip().lower() in ("infinity", "inf", "+infinity"):
        return math.inf
    if isinstance(v, dict) and ("number" in v or "set" in v or "infinite" in v):
        if v.get("infinite") is True:
            return math.inf
        if v.get("set") is False:
            return None
        return _num(v.get("number"), f"{path}.number")
    raise _Bad(
        'expected a number, null, "Infinity" or {set, infinite, number}', path, v, "a number"
    )


def _count(v: Any, path: str) -> int | float | None:
    """A count/id: None for no value, infinite, negative (int64 NO_VAL = -2) or a sentinel."""
    n = _num(v, path)
    if n is None or n == math.inf or n < 0 or n in _SENTINELS:
        return None
    return n


def _epoch(v: Any, path: str) -> int | None:
    """Epoch seconds; 0 and sentinels are unknown."""
    n = _count(v, path)
    return int(n) if n and n < NO_VAL else None


def _text(v: Any, path: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise _Bad("expected a string", path, v, "a string")
    s = str(v).strip()
    return s or None


def _cpu_seconds(t: Any, path: str) -> float | None:
    """{seconds, microseconds} -> seconds."""
    if t is None:
        return None
    s = _count(_get(t, path, ("seconds",)), f"{path}.seconds")
    us = _count(_get(t, path, ("microseconds",)), f"{path}.microseconds")
    if s is None and us is None:
        return None
    return (s or 0) + (us or 0) / US_PER_S


def _states(v: Any, path: str) -> tuple[str | None, str | None]:
    """(normalized, raw) from a state string or a list of base state + flags."""
    if isinstance(v, list):
        if not all(isinstance(s, str) for s in v):
            raise _Bad("expected a list of state names", path, v)
        return normalize_slurm_state_list(v), ",".join(v) or None
    if isinstance(v, str):
        return normalize_slurm_state(v), v.strip() or None
    if v is None:
        return None, None
    raise _Bad("expected a state name or a list of them", path, v)


# --------------------------------------------------------------------------------------
# Job -> row


class _Context:
    """What the ``meta`` block tells about the whole file."""

    def __init__(self, meta: dict | None, opts: ParseOptions):
        meta = meta if isinstance(meta, dict) else {}
        self.version = _version(meta)
        self.release = _release(meta)
        self.cluster = _plain(_path_get(meta, "slurm", "cluster")) or opts.cluster
        self.source_format = f"{NAME}/{self.version or 'unknown'}"
        # dbv0.0.37 (21.08) and dbv0.0.38 before 22.05.8 write the eligible time as
        # time.start: rebuild the start from end - elapsed - suspended.
        self.start_is_eligible = self.version == "dbv0.0.37" or (
            self.version == "dbv0.0.38" and (self.release is None or self.release < (22, 5, 8))
        )


def _path_get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _plain(v: Any) -> str | None:
    return v.strip() or None if isinstance(v, str) else None


def _version(meta: dict) -> str | None:
    for v in (
        _path_get(meta, "plugin", "data_parser"),
        _path_get(meta, "plugins", "data_parser"),
        _path_get(meta, "plugin", "type"),
    ):
        if isinstance(v, str):
            m = re.search(r"(dbv|v)(\d+\.\d+\.\d+)", v)
            if m:
                return m.group(1) + m.group(2)
    return None


def _release(meta: dict) -> tuple[int, int, int] | None:
    sl = meta.get("slurm") if isinstance(meta.get("slurm"), dict) else meta.get("Slurm")
    if not isinstance(sl, dict):
        return None
    ver = sl.get("version")
    if isinstance(ver, dict):
        try:
            return int(ver["major"]), int(ver["minor"]), int(ver["micro"])
        except (KeyError, TypeError, ValueError):
            pass
    m = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", str(sl.get("release") or ""))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _tres(items: Any, path: str) -> dict:
    """Allocated/requested TRES list -> counts of cpu, mem (MB), node, energy and GPUs."""
    out: dict[str, Any] = {"present": False, "n_gpus": None, "gpu_type": None}
    if items is None:
        return out
    if not isinstance(items, list):
        raise _Bad("expected a list of TRES", path, items)
    untyped_gpu = None
    typed: dict[str, float] = {}
    for i, it in enumerate(items):
        p = f"{path}[{i}]"
        if not isinstance(it, dict):
            raise _Bad("expected a TRES object {type, name, id, count}", p, it)
        out["present"] = True
        ttype = _text(it.get("type"), f"{p}.type") or ""
        name = _text(it.get("name"), f"{p}.name") or ""
        if "/" in ttype:  # tolerate "gres/gpu:a100" spelled whole
            ttype, _, rest = ttype.partition("/")
            name = name or rest
        raw = _num(it.get("count"), f"{p}.count")
        count = _count(raw, f"{p}.count")
        if ttype in ("cpu", "mem", "node", "energy") and not name:
            out[ttype] = count
        elif ttype == "gres" and (name == "gpu" or name.startswith("gpu:")):
            if count is None:
                continue
            if name == "gpu":
                untyped_gpu = count
            else:
                gtype = name[4:]
                typed[gtype] = typed.get(gtype, 0) + count
    # Same rule as the text TRES grammar (sacct_values.parse_tres): untyped count, else
    # the typed sum, else 0 for a non-empty list (null for an empty one: never started).
    if untyped_gpu is not None:
        out["n_gpus"] = untyped_gpu
    elif typed:
        out["n_gpus"] = sum(typed.values())
    else:
        out["n_gpus"] = 0 if out["present"] else None
    used = sorted(t for t, n in typed.items() if n > 0) or sorted(typed)
    out["gpu_type"] = ",".join(used) or None
    return out


def _exit(ec: Any, path: str, state: str | None) -> tuple[int | None, int | None]:
    """(exit status, signal) from either exit-code encoding.

    Old objects (status a string: dbv0.0.37/38, v0.0.39) report every normal exit as
    SUCCESS/0 (Slurm bug); for a FAILED job the status is then unknown (null)."""
    if ec is None:
        return None, None
    if not isinstance(ec, dict):
        raise _Bad("expected an exit-code object {status, return_code, signal}", path, ec)
    status: Any = ec.get("status")
    old = isinstance(status, str)
    names = {status.upper()} if old else {str(s).upper() for s in status or []}
    if names & {"PENDING", "INVALID"} and not names & {"SUCCESS", "ERROR", "SIGNALED"}:
        return None, None
    rc = _count(ec.get("return_code"), f"{path}.return_code")
    sig_obj = ec.get("signal")
    sig = None
    if isinstance(sig_obj, dict):
        key = "signal_id" if "signal_id" in sig_obj else "id"
        sig = _count(sig_obj.get(key), f"{path}.signal.{key}")
    elif sig_obj is not None:
        raise _Bad("expected a signal object", f"{path}.signal", sig_obj)
    if names & {"SIGNALED", "CORE_DUMPED"}:
        return (int(rc) if rc is not None else 0), (int(sig) if sig is not None else None)
    if old and names == {"SUCCESS"} and not rc and state in _FAILED:
        return None, 0
    if rc is None:
        return None, None
    return int(rc), int(sig) if sig else 0


def _step_kind(step: dict, path: str) -> str | None:
    """batch, extern, interactive, pending, TBD or the step number, from any encoding."""
    sid = _get(step, path, ("step", "id"))
    if isinstance(sid, dict):  # v0.0.39: {job_id, step_het_component, step_id}
        sid = sid.get("step_id")
    if isinstance(sid, bool):
        sid = None
    if isinstance(sid, int):
        return _STEP_NAMES.get(sid, str(sid))
    if isinstance(sid, str) and sid:
        return sid.split(".", 1)[1] if "." in sid else sid
    return _text(_get(step, path, ("step", "name")), f"{path}.step.name")


def _fold_steps(steps: Any, path: str) -> dict:
    """Usage only steps carry: max RSS, extern-step energy, CPU time of finished steps."""
    out: dict[str, Any] = {"n": 0, "max_rss": None, "extern_energy": None, "cpu_s": None}
    if steps is None:
        return out
    if not isinstance(steps, list):
        raise _Bad("expected a list of steps", path, steps)
    for i, st in enumerate(steps):
        p = f"{path}[{i}]"
        if not isinstance(st, dict):
            raise _Bad("expected a step object", p, st)
        out["n"] += 1
        kind = _step_kind(st, p)
        rss_list = _get(st, p, ("tres", "requested", "max"))
        rss = _tres_item(rss_list, f"{p}.tres.requested.max", "mem")
        if rss and (out["max_rss"] is None or rss > out["max_rss"]):
            out["max_rss"] = rss
        energy = _count(
            _get(st, p, ("statistics", "energy", "consumed")), f"{p}.statistics.energy.consumed"
        )
        if kind == "extern" and energy:
            out["extern_energy"] = energy
        state, _ = _states(_get(st, p, ("state",)), f"{p}.state")
        cpu = _cpu_seconds(_get(st, p, ("time", "total")), f"{p}.time.total")
        if state in schema.TERMINAL_STATES and cpu is not None:
            out["cpu_s"] = (out["cpu_s"] or 0.0) + cpu
    return out


def _tres_item(items: Any, path: str, ttype: str) -> int | float | None:
    if items is None:
        return None
    if not isinstance(items, list):
        raise _Bad("expected a list of TRES", path, items)
    for i, it in enumerate(items):
        if isinstance(it, dict) and it.get("type") == ttype and not it.get("name"):
            return _count(it.get("count"), f"{path}[{i}].count")
    return None


def _display_id(job: dict, p: str, job_id: int) -> dict:
    """Display id as sacct text prints it, with the array/het columns."""
    out: dict[str, Any] = {"job_id": str(job_id)}
    a = _count(_get(job, p, ("array", "job_id")), f"{p}.array.job_id")
    if a:
        task = _count(_get(job, p, ("array", "task_id")), f"{p}.array.task_id")
        tasks = _text(_get(job, p, ("array", "task")), f"{p}.array.task")
        out.update(array_job_id=str(int(a)), group_id=str(int(a)), group_source="array")
        if task is not None:
            out["job_id"] = f"{int(a)}_{int(task)}"
            out["array_task_id"] = int(task)
        elif tasks:
            throttle = _count(
                _get(job, p, ("array", "limits", "max", "running", "tasks")),
                f"{p}.array.limits.max.running.tasks",
            )
            suffix = f"%{int(throttle)}" if throttle and "%" not in tasks else ""
            out["job_id"] = f"{int(a)}_[{_task_ranges(tasks)}{suffix}]"
        return out
    h = _count(_get(job, p, ("het", "job_id")), f"{p}.het.job_id")
    off = _count(_get(job, p, ("het", "job_offset")), f"{p}.het.job_offset")
    if h and off is not None:
        out.update(job_id=f"{int(h)}+{int(off)}", het_job_id=str(int(h)), het_offset=int(off))
    return out


def _job_row(job: Any, p: str, ctx: _Context) -> dict:
    if not isinstance(job, dict):
        raise _Bad("a job must be a JSON object", p, job, "a job object")
    jid = _count(job.get("job_id"), f"{p}.job_id")
    if not jid or jid != int(jid):
        raise _Bad(
            "missing or invalid job id", f"{p}.job_id", job.get("job_id"), "a positive integer"
        )
    jid = int(jid)
    st = job.get("state")
    st_val = _get(st, f"{p}.state", ("current",)) if isinstance(st, dict) else st
    state, state_raw = _states(st_val, f"{p}.state.current")
    if state is None:
        raise _Bad(
            "missing or unknown job state",
            f"{p}.state.current",
            st_val,
            'a Slurm state such as COMPLETED or ["COMPLETED"]',
        )

    row: dict[str, Any] = _display_id(job, p, jid)
    row.update(
        source="slurm",
        source_format=ctx.source_format,
        job_id_raw=str(jid),
        state=state,
        state_raw=state_raw,
    )
    row["cluster"] = (
        _text(job.get("cluster"), f"{p}.cluster")
        or _text(_get(job, p, ("association", "cluster")), f"{p}.association.cluster")
        or ctx.cluster
    )
    row["job_name"] = _text(job.get("name"), f"{p}.name")
    row["user"] = _text(job.get("user"), f"{p}.user") or _text(
        _get(job, p, ("association", "user")), f"{p}.association.user"
    )
    row["account"] = _text(job.get("account"), f"{p}.account") or _text(
        _get(job, p, ("association", "account")), f"{p}.association.account"
    )
    row["partition"] = _text(job.get("partition"), f"{p}.partition")
    qos = job.get("qos")
    row["qos"] = _text(qos, f"{p}.qos") if not isinstance(qos, (dict, list)) else None
    nodes = _text(job.get("nodes"), f"{p}.nodes")
    row["node_list"] = None if nodes in (None, "None assigned") else nodes

    t = f"{p}.time"
    submit = _epoch(_get(job, p, ("time", "submission")), f"{t}.submission")
    start = _epoch(_get(job, p, ("time", "start")), f"{t}.start")
    end = _epoch(_get(job, p, ("time", "end")), f"{t}.end")
    elapsed = _count(_get(job, p, ("time", "elapsed")), f"{t}.elapsed")
    suspended = _count(_get(job, p, ("time", "suspended")), f"{t}.suspended") or 0
    if ctx.start_is_eligible:
        never_ran = elapsed == 0 and row["node_list"] is None
        if end is not None and elapsed is not None and not never_ran:
            start = int(end - elapsed - suspended)
        else:
            start = None
    limit = _count(_get(job, p, ("time", "limit")), f"{t}.limit")
    row.update(
        submit_time=submit,
        start_time=start,
        end_time=end,
        elapsed_s=float(elapsed) if elapsed is not None else None,
        timelimit_s=float(limit * S_PER_MIN) if limit is not None else None,
    )
    row["exit_code"], row["exit_signal"] = _exit(job.get("exit_code"), f"{p}.exit_code", state)
    if state in _NOT_ENDED:  # Slurm writes 0 until the job ends: unknown yet
        row["exit_code"] = row["exit_signal"] = None

    alloc = _tres(_get(job, p, ("tres", "allocated")), f"{p}.tres.allocated")
    req = _tres(_get(job, p, ("tres", "requested")), f"{p}.tres.requested")
    row["n_cpus"] = alloc.get("cpu")
    nn = alloc.get("node") if alloc.get("node") is not None else req.get("node")
    if nn is None:
        nn = _count(job.get("allocation_nodes"), f"{p}.allocation_nodes") or None
    row["n_nodes"] = nn
    mem = alloc.get("mem") if alloc.get("mem") is not None else req.get("mem")
    row["mem_req_bytes"] = int(mem * BYTES_PER_MIB) if mem is not None else None
    row["n_gpus"] = alloc["n_gpus"]
    row["gpu_type"] = alloc["gpu_type"]
    if state == "PENDING" or (start is None and row["node_list"] is None):
        # never started: no GPU held; the CPUs are the request, which is what sacct
        # text prints in NCPUS for such a job, so both exports give one value
        row["n_cpus"], row["n_gpus"] = req.get("cpu"), 0.0

    steps = _fold_steps(job.get("steps"), f"{p}.steps")
    row["max_rss_bytes"] = steps["max_rss"]
    job_energy = alloc.get("energy")
    row["energy_j"] = job_energy if job_energy else steps["extern_energy"]
    job_cpu = _cpu_seconds(_get(job, p, ("time", "total")), f"{t}.total")
    row["total_cpu_s"] = job_cpu if job_cpu else steps["cpu_s"]
    row["_n_steps"] = steps["n"]
    return row


# --------------------------------------------------------------------------------------
# Format contract


def sniff(sample: Sample) -> bool:
    """True for a top-level object with a ``jobs`` list whose ``meta`` is Slurm's or
    whose first job has sacct keys. squeue/slurmctld job lists are refused with a reason."""
    text = sample.text.lstrip()
    if not text.startswith("{") or '"jobs"' not in text:
        return False
    stream = _JsonStream(io.BytesIO(sample.head), str(sample.path), partial_ok=True)
    meta_ok = saw_jobs = False
    first_job = None
    try:
        for ev in _walk(stream):
            if ev[0] == "member" and ev[1] == "meta":
                meta_ok = _is_slurm_meta(ev[2])
            elif ev[0] == "jobs_start":
                saw_jobs = True
            elif ev[0] == "job":
                first_job = _job_kind(ev[2])
                break
            elif ev[0] == "end":
                return saw_jobs and meta_ok
    except (_Incomplete, ParseError):
        if first_job is None:
            return meta_ok or bool(
                re.search(r'"job_id"\s*:', text) and re.search(r'"association"\s*:', text)
            )
    except FormatDetectionError:  # JSON Lines and the like: not ours
        return False
    if first_job == "squeue":
        raise _squeue_error(sample.path)
    return first_job == "sacct" or meta_ok


def _is_slurm_meta(meta: Any) -> bool:
    return (
        isinstance(meta, dict)
        and (isinstance(meta.get("plugin"), dict) or isinstance(meta.get("plugins"), dict))
        and (isinstance(meta.get("slurm"), dict) or isinstance(meta.get("Slurm"), dict))
    )


def _job_kind(job: Any) -> str:
    if not isinstance(job, dict):
        return "other"
    if "job_state" in job and "state" not in job:
        return "squeue"
    if "job_id" in job and len(_JOB_KEYS & job.keys()) >= 2:
        return "sacct"
    return "other"


def _squeue_error(path) -> FormatDetectionError:
    return FormatDetectionError(
        "this looks like `squeue --json` / slurmrestd /slurm/jobs output (the live queue, "
        "job_state per job), not accounting records",
        path=str(path),
        hint="export finished jobs with `sacct --json` (or slurmrestd /slurmdb/.../jobs)",
    )


def parse(path: Path, opts: ParseOptions) -> Iterator[Chunk]:
    path = Path(path)
    spath = str(path)
    with open(path, "rb") as fh:
        stream = _JsonStream(fh, spath)
        ctx: _Context | None = None
        meta: dict | None = None
        rows: list[dict] = []
        rejected: list[Rejected] = []
        n_records = n_folded = 0
        n_jobs_total = n_chunks = 0
        sacct_errors: Any = None
        for ev in _walk(stream):
            kind = ev[0]
            if kind == "member":
                if ev[1] == "meta" and isinstance(ev[2], dict):
                    meta = ev[2]
                elif ev[1] == "errors":
                    sacct_errors = ev[2]
                elif ev[1] == "jobs":
                    raise FormatDetectionError(
                        f"'jobs' is a JSON {type(ev[2]).__name__}, not a list of job objects",
                        path=spath,
                    )
            elif kind == "jobs_start":
                if meta is None:
                    meta = _tail_meta(path) or _scan_meta(path)
                ctx = _Context(meta, opts)
            elif kind == "job":
                _, idx, job, line = ev
                assert ctx is not None  # set at jobs_start, which comes before any job
                if idx == 0 and _job_kind(job) == "squeue":
                    raise _squeue_error(path)
                n_jobs_total += 1
                n_records += 1
                p = f"jobs[{idx}]"
                n_steps = (
                    len(job["steps"])
                    if isinstance(job, dict) and isinstance(job.get("steps"), list)
                    else 0
                )
                n_records += n_steps
                n_folded += n_steps
                try:
                    row = _job_row(job, p, ctx)
                except _Bad as bad:
                    handle_bad(
                        rejected,
                        Rejected(
                            path=spath,
                            line=line,
                            reason=bad.reason,
                            column=bad.column,
                            value=_short_json(bad.value),
                            expected=bad.expected,
                            text=_short_json(job, 4000),
                        ),
                        opts,
                    )
                    continue
                del row["_n_steps"]
                rows.append(row)
                if len(rows) + len(rejected) >= opts.chunk_rows:
                    yield _chunk(rows, rejected, n_records, n_folded, ctx, stream.bytes_read)
                    n_chunks += 1
                    rows, rejected, n_records, n_folded = [], [], 0, 0
            elif kind == "end":
                if "jobs" not in ev[1]:
                    shown = ", ".join(ev[1][:8]) or "none"
                    raise FormatDetectionError(
                        f"a JSON object with no 'jobs' list (top-level keys: {shown}); not a "
                        "sacct --json / slurmdb jobs response",
                        path=spath,
                        hint="W&B and MLflow JSON exports need their own --format",
                    )
        if n_jobs_total == 0 and sacct_errors:
            raise ParseError(
                f"sacct reported errors and no jobs: {_short_json(sacct_errors)}", path=spath
            )
        if rows or rejected or n_records or not n_chunks:
            ctx = ctx or _Context(meta, opts)
            yield _chunk(rows, rejected, n_records, n_folded, ctx, stream.bytes_read)


def _short_json(v: Any, limit: int = 200) -> str | None:
    if v is None:
        return None
    s = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _chunk(
    rows: list[dict],
    rejected: list[Rejected],
    n_records: int,
    n_folded: int,
    ctx: _Context,
    bytes_done: int,
) -> Chunk:
    if rows:
        df = pd.DataFrame.from_records(rows)
        for col in ("submit_time", "start_time", "end_time"):
            df[col] = pd.to_datetime(df[col].astype("Float64"), unit="s", utc=True)
        for col in (
            "n_cpus",
            "n_nodes",
            "mem_req_bytes",
            "max_rss_bytes",
            "exit_code",
            "exit_signal",
            "array_task_id",
            "het_offset",
        ):
            if col in df:
                df[col] = df[col].astype("Float64").astype("Int64")
        for col in ("n_gpus", "energy_j", "total_cpu_s", "elapsed_s", "timelimit_s"):
            df[col] = df[col].astype("Float64").astype("float64")
        derive_times(df)
        df["is_inferred"] = False
        df["is_gpu_assumed"] = False
        df["record_key"] = slurm_record_keys(df["cluster"], df["job_id"], df["submit_time"])
        df, n_merged = _merge_duplicates(df)
    else:
        df, n_merged = schema.empty_frame(), 0
    return Chunk(
        jobs=df,
        n_records=n_records,
        n_folded=n_folded,
        n_merged=n_merged,
        rejected=rejected,
        format_detail=ctx.source_format,
        bytes_done=bytes_done,
    )


def _merge_duplicates(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Same record key twice in a chunk: a final state beats a non-final one, else the
    later object wins (the store's rule)."""
    if not df["record_key"].duplicated().any():
        return df, 0
    final = df["state"].isin(schema.TERMINAL_STATES)
    order = pd.Series(range(len(df)), index=df.index)
    keep = (
        pd.DataFrame({"k": df["record_key"], "f": final, "o": order})
        .sort_values(["f", "o"], kind="stable")
        .drop_duplicates("k", keep="last")
        .index
    )
    out = df.loc[sorted(keep)].reset_index(drop=True)
    return out, len(df) - len(out)


def _task_ranges(tasks: str) -> str:
    """The pending tasks as sacct text prints them: Slurm 22.05's JSON gives a hex
    bitmap (``0xE`` = tasks 1-3), later releases the range text (``1-3``)."""
    if not tasks.lower().startswith("0x"):
        return tasks
    try:
        bits = int(tasks, 16)
    except ValueError:
        return tasks
    ids = [i for i in range(bits.bit_length()) if bits >> i & 1]
    parts: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(parts)
