"""Hypothesis strategies shared by every property test of rdcost.

Three families:

- *values*: texts of each value grammar together with the value they mean
  (``sacct_durations()`` draws ``("1-02:03:04", 93784.0)``), and texts that
  are no value at all (``noise_text()``, ``TRICKY_CELLS``);
- *mutations*: a strategy that takes the lines of a real log file and breaks
  them the way files get broken in practice: cut, duplicated, dropped or
  shuffled lines and fields, another delimiter, binary bytes, invalid UTF-8,
  a BOM, CRLF line ends, a 1 MB field (:func:`mutated_file`,
  :func:`mutated_json`);
- *settings*: :func:`fuzz_settings` gives every fuzz test the same bounded
  budget, scaled by ``$RDCOST_FUZZ_SCALE`` (default 1; ``RDCOST_FUZZ_SCALE=50``
  runs a long fuzzing session with the same tests).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# --------------------------------------------------------------------------
# Settings

#: The profile of the fuzz tests: no deadline (the first call of a parser
#: imports pandas/pyarrow code paths and can take a second on a busy machine),
#: and no health check on slow data generation (the seeds are real files).
settings.register_profile(
    "rdcost-fuzz",
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


def fuzz_scale() -> float:
    """``$RDCOST_FUZZ_SCALE`` as a positive number (1 when unset or not a number)."""
    try:
        scale = float(os.environ.get("RDCOST_FUZZ_SCALE", "1"))
    except ValueError:
        return 1.0
    return scale if scale > 0 else 1.0


def fuzz_settings(max_examples: int) -> settings:
    """Settings of one fuzz test: the rdcost-fuzz profile with a bounded number of examples."""
    return settings(
        settings.get_profile("rdcost-fuzz"), max_examples=max(1, round(max_examples * fuzz_scale()))
    )


# --------------------------------------------------------------------------
# Text that is no value

#: Cells that have broken parsers somewhere: sentinels, overflow, signs,
#: separators, control and invisible characters, formula starts.
TRICKY_CELLS: tuple[str, ...] = (
    "",
    " ",
    "  \t",
    "Unknown",
    "None",
    "none",
    "NONE",
    "INVALID",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "null",
    "N/A",
    "-",
    "--",
    "+",
    ".",
    ":",
    "::",
    "-1",
    "-0",
    "0",
    "00",
    "1e309",
    "1e-400",
    "9" * 19,
    "9" * 40,
    "18446744073709551615",
    "-9223372036854775808",
    "0x1f",
    "1_000",
    "1,5",
    "1.5.5",
    "00:00",
    "99:99:99",
    "1-",
    "-1-00:00:00",
    "1-24:00:00",
    "100000000-00:00:00",
    "1-2-3",
    "2024-02-30T00:00:00",
    "9999-12-31T23:59:59",
    "0000-01-01T00:00:00",
    "1970-01-01T00:00:00",
    "2262-04-12T00:00:00",
    "2999-03-01T09:05:00Z",
    "2300-01-01 00:00:00",
    "1500-01-01T00:00:00",
    "1677-09-21T00:12:43",
    "31/12/2999",
    "4 March 2999 10:00",
    "99999999999",
    "1e20",
    "1T",
    "1P",
    "1E",
    "1.5",
    "0K",
    "-1K",
    "4000Mc",
    "4000Mn",
    "64Gx",
    "gres/gpu=",
    "=",
    "cpu=",
    "a=b=c",
    ",,",
    "gpu:",
    "123.",
    "123_",
    "123_[",
    "123+",
    "_[1-2]",
    "CANCELLED by",
    "CANCELLED+",
    "?",
    "\x00",
    "\ufeff",
    "\u2028",
    "\u00a0",
    "\u200b",
    "é",
    "日本",
    "\U0001f600",
    "\ud7ff",
    "=1+1",
    "@SUM(A1)",
    "+cmd",
    "\r",
    "\n",
    '"',
    '""',
    "'",
    "\\",
    "|",
    "\x1f",
    "{",
    "[",
    "{]",
    "[1,",
    "{'a': 1",
    '{"a": NaN}',
    "(1, 2)",
    "[[[[[[[[[[]]]]]]]]]]",
    "True",
    "false",
    "9" * 5000,
    "[" + "9" * 5000 + "]",
    "[" * 3000 + "]" * 3000,
    "P" + "1" * 5000 + "D",
    "1" * 5000 + "-00:00:00",
)


def noise_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Arbitrary short text: any code point (surrogates excluded), tricky cells often."""
    any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)
    return st.one_of(
        st.sampled_from(TRICKY_CELLS),
        any_text,
        st.text(alphabet="0123456789:-.+_[]%KMGTPcnx=,/ ", max_size=max_size),
    )


def text_series(values: st.SearchStrategy[str], max_size: int = 20) -> st.SearchStrategy[pd.Series]:
    """A pandas Series of drawn texts, with some missing values, on a non-default index."""
    cell = st.one_of(values, st.none())
    return st.lists(cell, max_size=max_size).map(
        lambda xs: pd.Series(xs, index=range(100, 100 + len(xs)), dtype=object)
    )


# --------------------------------------------------------------------------
# sacct value grammars (spec/formats.md section 1.4): text and meaning


@st.composite
def sacct_durations(draw, with_fraction: bool = True) -> tuple[str, float]:
    """``[D-]HH:MM:SS``, ``HH:MM:SS``, ``MM:SS`` or ``MM:SS.mmm`` and its seconds."""
    shape = draw(
        st.sampled_from(
            ["dhms", "hms", "ms", "ms_frac"] if with_fraction else ["dhms", "hms", "ms"]
        )
    )
    d = draw(st.integers(0, 400))
    h = draw(st.integers(0, 23))
    m = draw(st.integers(0, 59))
    s = draw(st.integers(0, 59))
    if shape == "dhms":
        return f"{d}-{h:02d}:{m:02d}:{s:02d}", float(d * 86400 + h * 3600 + m * 60 + s)
    if shape == "hms":
        hh = draw(st.integers(0, 999))
        return f"{hh:02d}:{m:02d}:{s:02d}", float(hh * 3600 + m * 60 + s)
    if shape == "ms":
        return f"{m:02d}:{s:02d}", float(m * 60 + s)
    ms = draw(st.integers(0, 999))
    return f"{m:02d}:{s:02d}.{ms:03d}", m * 60 + s + ms / 1000


@st.composite
def sacct_sizes(draw) -> tuple[str, int]:
    """A MaxRSS-like size (bare = bytes; K/M/G/T/P binary) and its bytes."""
    unit = draw(st.sampled_from(["", "K", "M", "G", "T", "P"]))
    exp = "|KMGTP".index(unit) if unit else 0
    if draw(st.booleans()):
        n = draw(st.integers(0, 8191 if unit == "P" else 10**6))  # stays below 2**63 bytes
        return f"{n}{unit}", n * 1024**exp
    cents = draw(st.integers(0, 10**5))
    text = f"{cents // 100}.{cents % 100:02d}{unit}"
    return text, round(cents / 100 * 1024**exp)


@st.composite
def sacct_timestamps(draw) -> tuple[str, pd.Timestamp]:
    """A sacct ``YYYY-MM-DDTHH:MM:SS`` (read as UTC) and its instant."""
    t = draw(
        st.datetimes(
            min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
            max_value=pd.Timestamp("2099-12-31").to_pydatetime(),
        )
    )
    t = pd.Timestamp(t).floor("s")
    return t.strftime("%Y-%m-%dT%H:%M:%S"), t.tz_localize("UTC")


@st.composite
def job_ids(draw) -> tuple[str, dict]:
    """A JobID (plain, array task, pending array, het component, with or without
    a step) and the parts the parser must find."""
    base = draw(st.integers(1, 10**9))
    kind = draw(st.sampled_from(["plain", "task", "pending", "het"]))
    if kind == "plain":
        alloc, parts = str(base), {}
    elif kind == "task":
        task = draw(st.integers(0, 10**5))
        alloc, parts = f"{base}_{task}", {"array_job_id": str(base), "array_task_id": task}
    elif kind == "pending":
        a = draw(st.integers(0, 1000))
        alloc, parts = f"{base}_[{a}-{a + draw(st.integers(1, 50))}]", {"array_job_id": str(base)}
    else:
        off = draw(st.integers(0, 9))
        alloc, parts = f"{base}+{off}", {"het_job_id": str(base), "het_offset": off}
    step = draw(st.sampled_from([None, "batch", "extern", "0", "12", "interactive"]))
    text = alloc if step is None or kind == "pending" else f"{alloc}.{step}"
    is_step = step is not None and kind != "pending"
    return text, {"alloc_id": alloc, "is_step": is_step, "base_id": str(base), **parts}


@st.composite
def tres_strings(draw) -> tuple[str, float]:
    """A TRES list in sacct's order and its GPU count (spec 1.4 GPU rule)."""
    items = [
        f"cpu={draw(st.integers(0, 512))}",
        f"mem={draw(st.integers(1, 4096))}G",
        f"node={draw(st.integers(1, 64))}",
    ]
    if draw(st.booleans()):
        items.append(f"billing={draw(st.integers(0, 1000))}")
    gpu_types = draw(
        st.lists(st.sampled_from(["a100", "v100", "titanx", "h100"]), unique=True, max_size=2)
    )
    typed = {t: draw(st.integers(1, 8)) for t in gpu_types}
    items += [f"gres/gpu:{t}={n}" for t, n in typed.items()]
    plain = draw(st.one_of(st.none(), st.integers(0, 16)))
    if plain is not None:
        items.append(f"gres/gpu={plain}")
    items.sort()
    n_gpus = float(plain) if plain is not None else float(sum(typed.values()))
    return ",".join(items), n_gpus


SLURM_STATES = (
    "PENDING",
    "RUNNING",
    "SUSPENDED",
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "OUT_OF_MEMORY",
    "REQUEUED",
)


@st.composite
def slurm_states(draw) -> tuple[str, str]:
    """A state as sacct prints it (``CANCELLED by 1234``) and its base name."""
    state = draw(st.sampled_from(SLURM_STATES))
    if state == "CANCELLED" and draw(st.booleans()):
        return f"CANCELLED by {draw(st.integers(0, 10**6))}", state
    return state, state


@st.composite
def exit_codes(draw) -> tuple[str, tuple[int, int]]:
    status, signal = draw(st.integers(0, 255)), draw(st.integers(0, 64))
    return f"{status}:{signal}", (status, signal)


# --------------------------------------------------------------------------
# Run-export value grammars (W&B, MLflow, plain CSV)


@st.composite
def run_durations(draw) -> tuple[str, float]:
    """A duration as run exports write it, and its seconds."""
    secs = draw(st.integers(0, 400 * 86400))
    shape = draw(st.sampled_from(["seconds", "clock", "units", "iso", "timedelta"]))
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if shape == "seconds":
        return str(secs), float(secs)
    if shape == "clock":
        return (f"{d}-{h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}"), float(secs)
    if shape == "units":
        return f"{d}d{h}h{m}m{s}s", float(secs)
    if shape == "iso":
        return f"P{d}DT{h}H{m}M{s}S", float(secs)
    return f"{d} day{'s' if d != 1 else ''}, {h}:{m:02d}:{s:02d}", float(secs)


@st.composite
def iso_times(draw) -> tuple[str, pd.Timestamp]:
    """An ISO 8601 time (naive = UTC, ``Z`` or an offset) and its UTC instant."""
    t = pd.Timestamp(
        draw(
            st.datetimes(
                min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                max_value=pd.Timestamp("2099-12-31").to_pydatetime(),
            )
        )
    )
    t = t.floor("s").tz_localize("UTC")
    style = draw(st.sampled_from(["naive", "Z", "offset", "space"]))
    if style == "naive":
        return t.strftime("%Y-%m-%dT%H:%M:%S"), t
    if style == "Z":
        return t.strftime("%Y-%m-%dT%H:%M:%SZ"), t
    if style == "space":
        return t.strftime("%Y-%m-%d %H:%M:%S+00:00"), t
    off = draw(st.integers(-12, 14))
    local = t.tz_convert(f"Etc/GMT{-off:+d}" if off else "UTC")
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{off:+03d}:00", t


def json_values(max_leaves: int = 8) -> st.SearchStrategy:
    """Any JSON value, with the numbers that break converters (huge, negative, float)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(TRICKY_CELLS),
        st.text(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


# --------------------------------------------------------------------------
# Mutations of real files

#: One megabyte and a bit: more than one block of the streaming readers.
HUGE = 1 << 20
OTHER_DELIMITERS = (b",", b";", b"\t", b"|", b" ", b"\x1f", b":", b"")
INVALID_UTF8 = (
    b"\xff",
    b"\xfe\xfe",
    b"\xc3",
    b"\xc3\x28",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xc0\xaf",
    b"\x80",
)


def _pos(i: int, n: int) -> int:
    return i % n if n else 0


def _fields(line: bytes, delimiter: bytes) -> list[bytes]:
    return line.split(delimiter) if delimiter else [line]


@st.composite
def line_mutation(draw, delimiter: bytes) -> Callable[[list[bytes]], list[bytes]]:
    """One way of breaking a list of lines (the lines without their line ends)."""
    op = draw(
        st.sampled_from(
            [
                "truncate",
                "duplicate",
                "drop",
                "swap",
                "shuffle_fields",
                "wrong_delimiter",
                "binary",
                "invalid_utf8",
                "replace_field",
                "drop_field",
                "extra_field",
                "blank",
                "huge_field",
                "noise_line",
                "repeat_header",
                "move_line",
            ]
        )
    )
    i = draw(st.integers(0, 10**6))
    j = draw(st.integers(0, 10**6))
    if op == "truncate":
        return lambda ls: [
            ln[: _pos(j, len(ln) + 1)] if k == _pos(i, len(ls)) else ln for k, ln in enumerate(ls)
        ]
    if op == "duplicate":
        times = draw(st.integers(1, 3))
        return lambda ls: (
            ls[: _pos(i, len(ls)) + 1] + [ls[_pos(i, len(ls))]] * times + ls[_pos(i, len(ls)) + 1 :]
            if ls
            else ls
        )
    if op == "drop":
        return lambda ls: [ln for k, ln in enumerate(ls) if k != _pos(i, len(ls))]
    if op == "swap":

        def swap(ls):
            ls = list(ls)
            if ls:
                a, b = _pos(i, len(ls)), _pos(j, len(ls))
                ls[a], ls[b] = ls[b], ls[a]
            return ls

        return swap
    if op == "move_line":

        def move(ls):
            ls = list(ls)
            if ls:
                x = ls.pop(_pos(i, len(ls)))
                ls.insert(_pos(j, len(ls) + 1), x)
            return ls

        return move
    if op == "shuffle_fields":
        perm_seed = draw(st.randoms(use_true_random=False))

        def shuffle(ls):
            ls = list(ls)
            if ls:
                k = _pos(i, len(ls))
                f = _fields(ls[k], delimiter)
                perm_seed.shuffle(f)
                ls[k] = delimiter.join(f)
            return ls

        return shuffle
    if op == "wrong_delimiter":
        other = draw(st.sampled_from([d for d in OTHER_DELIMITERS if d != delimiter]))
        every = draw(st.booleans())
        return lambda ls: [
            ln.replace(delimiter, other) if (every or k == _pos(i, len(ls))) and delimiter else ln
            for k, ln in enumerate(ls)
        ]
    if op in ("binary", "invalid_utf8"):
        payload = (
            draw(st.binary(min_size=1, max_size=16))
            if op == "binary"
            else draw(st.sampled_from(INVALID_UTF8))
        )

        def insert(ls):
            ls = list(ls)
            if ls:
                k = _pos(i, len(ls))
                at = _pos(j, len(ls[k]) + 1)
                ls[k] = ls[k][:at] + payload + ls[k][at:]
            return ls

        return insert
    if op in ("replace_field", "huge_field", "drop_field", "extra_field"):
        if op == "replace_field":
            value = draw(noise_text(30)).encode("utf-8", "surrogatepass")
        elif op == "huge_field":
            value = draw(st.sampled_from([b"x", b"9", b"\xc3\xa9", b"a,"])) * (HUGE // 2 + 1)
        else:
            value = draw(noise_text(10)).encode("utf-8", "surrogatepass")

        def field(ls):
            ls = list(ls)
            if ls:
                k = _pos(i, len(ls))
                f = _fields(ls[k], delimiter)
                at = _pos(j, len(f))
                if op == "drop_field":
                    del f[at]
                elif op == "extra_field":
                    f.insert(at, value)
                else:
                    f[at] = value
                ls[k] = delimiter.join(f)
            return ls

        return field
    if op == "blank":
        blank = draw(st.sampled_from([b"", b" ", b"\t", b"#", b"# comment"]))
        return lambda ls: ls[: _pos(i, len(ls) + 1)] + [blank] + ls[_pos(i, len(ls) + 1) :]
    if op == "noise_line":
        noise = draw(
            st.one_of(
                noise_text(60).map(lambda t: t.encode("utf-8", "surrogatepass")),
                st.binary(max_size=60),
            )
        )
        return lambda ls: ls[: _pos(i, len(ls) + 1)] + [noise] + ls[_pos(i, len(ls) + 1) :]
    # repeat_header: the first line again somewhere (concatenated exports)
    return lambda ls: ls[: _pos(i, len(ls) + 1)] + ls[:1] + ls[_pos(i, len(ls) + 1) :] if ls else ls


@st.composite
def mutated_file(
    draw, lines: Sequence[bytes], delimiter: bytes = b"", max_mutations: int = 4
) -> bytes:
    """The bytes of a file made from ``lines`` with a few mutations, then a
    whole-file change: BOM, CRLF or CR line ends, no final newline, a NUL."""
    ls = list(lines)
    for mutate in draw(st.lists(line_mutation(delimiter), min_size=1, max_size=max_mutations)):
        ls = mutate(ls)
    end = draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"\r"]))
    data = end.join(ls)
    if draw(st.booleans()):
        data += end
    prefix = draw(
        st.sampled_from(
            [
                b"",
                b"",
                b"",
                b"\xef\xbb\xbf",
                b"\xef\xbb\xbf\xef\xbb\xbf",
                b"\xff\xfe",
                b"\n\n",
                b"\x00",
            ]
        )
    )
    return prefix + data


def _paths(obj, here=()) -> list[tuple]:
    out = [here]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, here + (k,))
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            out += _paths(v, here + (k,))
    return out


def _set(obj, path: tuple, value):
    if not path:
        return value
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = value
    return obj


def _delete(obj, path: tuple):
    if not path:
        return obj
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    del parent[path[-1]]
    return obj


@st.composite
def mutated_json(draw, document, max_mutations: int = 4) -> bytes:
    """A JSON document with values replaced, deleted or duplicated at random
    places (the structure a parser walks), serialized with random layout."""
    doc = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        op = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "wrap"]))
        if op == "replace" or not path:
            doc = _set(doc, path, draw(json_values()))
        elif op == "delete":
            doc = _delete(doc, path)
        elif op == "duplicate":
            parent = doc
            for k in path[:-1]:
                parent = parent[k]
            if isinstance(parent, list):
                parent.append(json.loads(json.dumps(parent[path[-1]])))
        else:  # wrap a value in a list
            parent = doc
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]] = [parent[path[-1]]]
    indent = draw(st.sampled_from([None, 1, 2]))
    text = json.dumps(doc, indent=indent, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 7)) == 0:  # a member nested deeper than any JSON reader recurses
        text = text.replace(": ", ": " + "[" * 5000 + "]" * 5000 + ', "deep": ', 1)
    return text.encode("utf-8")
