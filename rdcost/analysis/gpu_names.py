"""GPU names as sites write them, resolved to a ``gpus.csv`` key.

Sites name GPUs in many ways: Slurm ``gres/gpu:TYPE`` strings (an arbitrary
site word such as ``a100l``, or the NVML name lower-cased with spaces turned
into underscores such as ``nvidia_a100-sxm4-80gb``), nvidia-smi product names
(``Tesla V100-SXM2-16GB``), W&B ``gpu`` metadata (``NVIDIA GeForce RTX 3090``)
and MIG slices (``1g.10gb``, ``a100_3g.40gb``, Mila's ``a100l.2``).
:func:`match_gpu` maps one such name to a key of ``rdcost/refdata/gpus.csv``
and says how it got there (:data:`MATCH_KINDS`), so a report can say which
share of the GPU-hours was matched by an exact type and which by a default.

This module is self-contained: the standard library and the name columns of
``gpus.csv`` (``key``, ``model``, ``variant``, ``memory_gb``,
``nvidia_smi_names``, ``slurm_gres_examples``, ``segment``, ``parent_key``,
``mig_profile``, ``mig_compute_slices``). A table can be passed in as rows
(dicts) instead of the bundled file.

Rules, in order (the first that decides wins):

1. **No type.** An empty string, ``gpu`` or a bare count of one or two
   digits (``gpu:2``) is no GPU type: kind ``none``. Three or four digits
   are a model number (``3090``).
2. **Exact key.** The cleaned name (``gpu:`` / ``gres/gpu:`` prefix and a
   ``:N`` / ``=N`` count dropped, lower case) is a ``gpus.csv`` key.
3. **User alias.** The compact form of the name (lower case, letters and
   digits only, vendor words ``nvidia``/``tesla``/``geforce``/``quadro``/
   ``amd``/``instinct`` dropped from the front) is a key of the ``aliases``
   argument; the alias target is returned as it is.
4. **MIG profile.** A name ending in a MIG profile ``<N>g.<M>gb`` (``+me``
   allowed), alone or after a GPU name (``a100_1g.10gb``,
   ``nvidia_h100_80gb_hbm3_2g.20gb``), or a GPU name that supports MIG
   followed by ``.N`` with N from 1 to 7 (Mila's ``a100l.2`` = a 2-slice
   instance). The parent is the GPU before the profile (rules 2-7); a bare
   profile takes its parent from :data:`DEFAULT_MIG_PARENTS` (a user alias
   on the profile, ``1g.10gb=h100_sxm``, overrides it). The result's ``key``
   is the parent (kind ``mig_parent``); ``mig_key`` is the ``gpus.csv`` row
   of the slice and ``mig_fraction`` its share of the parent's compute
   slices (2/7 for ``2g.20gb``; A30: quarters), which is also the share of
   the parent's power the slice row carries.
5. **Default alias by name.** The compact name is a key of
   :data:`DEFAULT_ALIASES` (names several rows could claim: ``titanx``,
   ``v100``, ``a100``, ``h100`` ...): kind ``default_alias``.
6. **Listed name.** The compact name is the compact form of exactly one
   row's key, model, nvidia-smi name or Slurm gres example: kind
   ``table_name``.
7. **Tokens.** The name is split into words and numbers and read as a
   product (``a100``, ``l40s``, ``rtx3090``, ``gtx1080ti``, ``a6000`` for
   the RTX A6000, ``quadrortx6000`` for the Turing Quadro RTX 6000,
   ``rtx6000ada``, ``mi250x``, ``max1550``, ``tpuv5e`` ...), a memory size
   (``80gb``, ``80g``, a bare number after the product as in ``a100_80``)
   and a form factor (``pcie``, ``sxm``/``sxm2``..``sxm6``, ``nvl``,
   ``oam``). Rows whose own names read as the same product are kept, then
   those whose memory sizes and form factor agree. A letter after the model
   number that no row has (``a100l`` at a site that is not listed, ``k40m``)
   is a site suffix and dropped. One row left: kind ``normalised``. Several:
   the first of :data:`DEFAULT_ALIASES` for product+memory+form,
   product+memory, product+form, product that is one of them: kind
   ``default_alias``. None: kind ``none``.

Partition names (``gpu-2080ti``) are not GPU types; callers pass only the
type part of a gres string.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

#: How a name was matched, from the most to the least direct.
MATCH_KINDS: tuple[str, ...] = (
    "exact_key",  # the name is a gpus.csv key
    "alias",  # a user alias (--gpu-alias, [gpu_aliases])
    "table_name",  # a name listed for exactly one gpus.csv row
    "normalised",  # the tokens of the name identify exactly one row
    "mig_parent",  # a MIG slice, resolved to its parent GPU
    "default_alias",  # an ambiguous name resolved by DEFAULT_ALIASES / DEFAULT_MIG_PARENTS
    "none",  # no GPU type, or no row fits
)

#: Names (compact form, see :func:`compact`) that several gpus.csv rows could
#: claim, resolved to one key. Product-level entries (``a100``) also decide
#: between the rows that the tokens of a longer name leave (``a100_sxm4``);
#: entries with a memory size or form factor (``a10080gb``, ``a100pcie``)
#: decide first. Users override any entry with an alias of the same name.
DEFAULT_ALIASES: dict[str, str] = {
    # Slurm sites write gpu:titanx for both Titan X cards; both draw 250 W and
    # neither is rented in clouds, so the choice changes no figure.
    "titanx": "titanx_maxwell",
    "p100": "p100_pcie",
    "p10016gb": "p100_pcie",
    "v100": "v100_sxm2",  # the cloud V100 (GCP, AWS) is SXM2
    "v10016gb": "v100_sxm2",
    "v10032gb": "v100_sxm2",
    "a100": "a100_40_sxm",  # the first A100 (2020) and the 40 GB cloud A100
    "a10040gb": "a100_40_sxm",
    "a10080gb": "a100_80_sxm",
    "a100pcie": "a100_40_pcie",
    "a100sxm": "a100_40_sxm",
    "h100": "h100_sxm",
    "h10080gb": "h100_sxm",
    "h200": "h200_sxm",
    "h200141gb": "h200_sxm",
    "a800": "a800_sxm",
    "a80080gb": "a800_sxm",
}

#: MIG profiles that several parent GPUs offer -> the parent assumed when a
#: site writes the bare profile (``gpu:1g.10gb``). Profiles that one parent
#: family offers resolve without an entry. Users override with an alias on
#: the profile (``--gpu-alias 1g.10gb=h100_sxm``).
DEFAULT_MIG_PARENTS: dict[str, str] = {
    "1g.5gb": "a100_40_sxm",
    "2g.10gb": "a100_40_sxm",
    "3g.20gb": "a100_40_sxm",
    "4g.20gb": "a100_40_sxm",
    "7g.40gb": "a100_40_sxm",
    "1g.10gb": "a100_80_sxm",
    "1g.20gb": "a100_80_sxm",
    "2g.20gb": "a100_80_sxm",
    "3g.40gb": "a100_80_sxm",
    "4g.40gb": "a100_80_sxm",
    "7g.80gb": "a100_80_sxm",
}

_VENDOR_PREFIXES = ("nvidia", "tesla", "geforce", "quadro", "amd", "instinct", "radeon")
# words that carry no identity (vendor, marketing, "Intel(R) Data Center GPU")
_NOISE = {
    "nvidia",
    "tesla",
    "geforce",
    "amd",
    "radeon",
    "instinct",
    "intel",
    "r",
    "tm",
    "data",
    "center",
    "datacenter",
    "gpu",
    "gpus",
    "graphics",
    "card",
    "generation",
    "gen",
    "edition",
    "tensor",
    "core",
    "accelerator",
    "module",
    "board",
    "server",
    "nv",
    "hbm",
    "hbm2",
    "hbm2e",
    "hbm3",
    "hbm3e",
    "gddr6",
    "gddr6x",
    "with",
    "ecc",
}
# letter words a site may glue to the next letters (rtxa6000, teslak80, titanxp, tpuv4)
_GLUED = ("nvidia", "geforce", "quadro", "tesla", "titan", "rtx", "gtx", "tpu")
# letter prefixes of model numbers (k80, p100, a6000, mi250, gb200, ...)
_MODEL_PREFIXES = {"k", "m", "p", "v", "t", "a", "l", "h", "b", "gb", "gh", "mi"}
_FORMS = {
    "pcie": "pcie",
    "pci": "pcie",
    "fhhl": "pcie",
    "sxm": "sxm",
    "sxm2": "sxm",
    "sxm3": "sxm",
    "sxm4": "sxm",
    "sxm5": "sxm",
    "sxm6": "sxm",
    "nvl": "nvl",
    "oam": "oam",
}
_WORKSTATION = {2000, 4000, 4500, 5000, 5500, 6000, 8000}
_TITANS = {
    "x": "titanx",
    "xp": "titanxp",
    "v": "titanv",
    "rtx": "titanrtx",
    "black": "titanblack",
    "z": "titanz",
}
_GENERATIONS = {
    "pascal",
    "maxwell",
    "kepler",
    "turing",
    "volta",
    "ampere",
    "ada",
    "hopper",
    "blackwell",
}
_MIG_TAIL = re.compile(r"(?:^|[_\-\s.:/])(?P<n>[1-8])g\.(?P<m>\d+)gb(?:\+me)?$")
_MILA_TAIL = re.compile(r"^(?P<parent>.*[a-z0-9])\.(?P<n>[1-7])$")


@dataclass(frozen=True)
class GpuMatch:
    """The result of :func:`match_gpu`."""

    name: str  # the name as given
    key: str | None  # gpus.csv key (for a MIG slice: the parent GPU)
    how: str  # one of MATCH_KINDS
    detail: str = ""  # why, in words
    candidates: tuple[str, ...] = ()  # the rows a default alias chose between
    mig_key: str | None = None  # gpus.csv row of the MIG slice, when listed
    mig_profile: str | None = None  # e.g. "2g.20gb" ("2g" when only the slice count is known)
    mig_fraction: float | None = None  # the slice's share of the parent's compute slices
    defaulted: bool = False  # a default alias or default MIG parent chose between candidates

    @property
    def is_exact(self) -> bool:
        """True when the name named one GPU type and no default had to choose."""
        return self.key is not None and not self.defaulted


# -- the table ------------------------------------------------------------------


def load_rows() -> list[dict[str, str]]:
    """The rows of the bundled ``rdcost/refdata/gpus.csv`` (all columns as text)."""
    text = (resources.files("rdcost") / "refdata" / "gpus.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def compact(text: str) -> str:
    """Lower case, letters and digits only, leading vendor words dropped.

    ``NVIDIA A100-SXM4-80GB`` -> ``a100sxm480gb``; ``Tesla_T4`` -> ``t4``.
    """
    s = re.sub(r"[^a-z0-9]", "", str(text).lower())
    changed = True
    while changed:
        changed = False
        for p in _VENDOR_PREFIXES:
            if s.startswith(p) and len(s) > len(p):
                s, changed = s[len(p) :], True
    return s


def clean(text: object) -> str:
    """A gres or device string without ``gres/gpu:``/``gpu:`` prefix and count, lower case."""
    s = str(text).strip().lower()
    s = re.sub(r"^(?:gres/)?gpu[:/]", "", s)
    s = re.sub(r"\s*\(idx:[^)]*\)$", "", s)  # gpu:a100:2(IDX:0-1)
    s = re.sub(r"[:=]\d+$", "", s)  # :2, =2
    return s.strip().strip("'\"").strip()


_NOTE = re.compile(
    r"\s*\((?:[^)]*\b(?:pattern|drivers?|seen|autodetect|PCI-ID|verified|label|ambiguous|"
    r"prefix|names?)\b[^)]*)\)",
    re.IGNORECASE,
)


def _listed_names(row: Mapping[str, str]) -> list[str]:
    """The names a row lists: key, model, nvidia-smi names, Slurm gres examples."""
    names = [row.get("key") or "", row.get("model") or ""]
    smi = row.get("nvidia_smi_names") or ""
    for n in re.split(r";| / ", _NOTE.sub("", smi)):
        if n.strip() and not re.search(r"\bnot\b|\bn/a\b|rocm|amd-smi", n, re.IGNORECASE):
            names.append(n.strip())
    names += re.findall(r"gpu:([A-Za-z0-9_.\-]+)", row.get("slurm_gres_examples") or "")
    return [n for n in names if n]


# -- tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """What the words of a name say: product, memory size, form factor, generation."""

    product: str | None = None
    base: str | None = None  # the product without a trailing letter suffix (a100l -> a100)
    memory_gb: float | None = None
    form: str | None = None
    generation: str | None = None
    words: tuple[str, ...] = field(default=())


def _pieces(text: str) -> list[list[str]]:
    """Chunks (split at separators), each split into letter runs and digit runs."""
    out = []
    for chunk in re.split(r"[^a-z0-9.+]+", text.lower()):
        if not chunk:
            continue
        parts: list[str] = []
        for p in re.findall(r"[a-z]+|\d+(?:\.\d+)?", chunk):
            parts += _unglue(p) if p.isalpha() else [p]
        out.append(parts)
    return out


def _unglue(word: str) -> list[str]:
    """``rtxa`` -> ``rtx a``, ``teslak`` -> ``tesla k``, ``titanxp`` -> ``titan xp``."""
    for g in _GLUED:
        if word.startswith(g) and len(word) > len(g):
            return [g, *_unglue(word[len(g) :])]
    return [word]


def tokens(text: str) -> Tokens:
    """Read a GPU name as product, memory size and form factor (rule 7)."""
    chunks = _pieces(text)
    words = tuple(p for c in chunks for p in c)
    product = base = form = generation = None
    memory: float | None = None
    flags = set(words)
    series = "rtx" if "rtx" in flags else "gtx" if "gtx" in flags else None
    for ci, parts in enumerate(chunks):
        i = 0
        while i < len(parts):
            p = parts[i]
            nxt = parts[i + 1] if i + 1 < len(parts) else None
            if p in _FORMS:
                form = form or _FORMS[p]
            elif p == "pci" and nxt == "e":
                form = form or "pcie"
                i += 1
            elif p in _GENERATIONS:
                generation = generation or p
            elif p[0].isdigit() and nxt in ("gb", "g") and product is not None:
                memory = memory if memory is not None else float(p)
                i += 1
            elif (
                p[0].isdigit()
                and product is not None
                and i == 0
                and len(parts) == 1
                and float(p) <= 512
            ):
                memory = memory if memory is not None else float(p)  # a100_80, v100-32
            elif product is None:
                got, used = _product(
                    parts, i, flags, series, chunks[ci + 1 :] if ci + 1 < len(chunks) else []
                )
                if got:
                    product, base = got
                    i += used - 1
            i += 1
    return Tokens(product, base, memory, form, generation, words)


def _product(
    parts: list[str], i: int, flags: set[str], series: str | None, later: list[list[str]]
) -> tuple[tuple[str, str | None] | None, int]:
    """The product that starts at parts[i], and how many parts it used."""
    p = parts[i]
    nxt = parts[i + 1] if i + 1 < len(parts) else None
    after = parts[i + 2] if i + 2 < len(parts) else None
    following = [q for c in later for q in c]
    if p == "titan":
        word = (
            nxt
            if nxt in _TITANS
            else (following[0] if following and following[0] in _TITANS else None)
        )
        if word:
            return (_TITANS[word], None), 2 if nxt == word else 1
        return None, 1
    if p == "tpu":
        rest = parts[i + 1 :] + following
        if len(rest) >= 2 and rest[0] == "v" and rest[1].isdigit():
            suffix = rest[2] if len(rest) > 2 and rest[2] in ("e", "p", "lite") else ""
            return (f"tpuv{rest[1]}{suffix}", f"tpuv{rest[1]}" if suffix else None), 1
        return None, 1
    if p in ("trillium",):
        return ("tpuv6e", None), 1
    if p in ("ironwood",):
        return ("tpuv7", None), 1
    if p == "max" and nxt and nxt.isdigit():
        return (f"max{nxt}", None), 2
    if p in _MODEL_PREFIXES and nxt and nxt.isdigit():
        num = int(nxt)
        if p == "a" and num in _WORKSTATION | {4000, 4500, 5000, 5500, 6000}:
            return (f"a{num}", None), 2  # RTX A6000 etc.
        letter: str | None = (
            after
            if after
            and after.isalpha()
            and after not in _FORMS
            and after not in _NOISE
            and after != "gb"
            and len(after) <= 3
            else None
        )
        core = f"{p}{nxt}"
        if letter:
            return (f"{core}{letter}", core), 3
        return (core, None), 2
    if p.isdigit() and len(p) in (3, 4):
        num = int(p)
        ti = nxt if nxt in ("ti", "super", "d") else None
        if ti is None and nxt is None and following and following[0] in ("ti", "super", "d"):
            ti = following[0]  # rtx_2080_ti
        if "ada" in flags and num in _WORKSTATION:
            return (f"rtx{num}ada", None), 1
        if ("blackwell" in flags or "pro" in flags) and num in _WORKSTATION:
            return (f"rtxpro{num}", None), 1
        if num in _WORKSTATION and series != "gtx":
            return (f"quadrortx{num}", None), 1
        if 900 <= num < 2000 or (series == "gtx" and num < 2000):
            return (f"gtx{num}{ti or ''}", f"gtx{num}" if ti else None), 2 if ti and nxt else 1
        if 2000 <= num < 6000 and num % 10 == 0:
            return (f"rtx{num}{ti or ''}", f"rtx{num}" if ti else None), 2 if ti and nxt else 1
    return None, 1


# -- the index ------------------------------------------------------------------


@dataclass
class _Row:
    key: str
    segment: str
    parent: str | None
    products: set[str]
    memories: set[float]
    forms: set[str]
    generations: set[str]
    mig_profile: str | None
    mig_slices: tuple[int, int] | None


@dataclass
class GpuTable:
    """The name columns of gpus.csv, indexed for :func:`match_gpu`."""

    rows: dict[str, _Row]
    names: dict[str, tuple[str, ...]]  # compact name -> keys claiming it
    keys: frozenset[str]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> GpuTable:
        out: dict[str, _Row] = {}
        names: dict[str, set[str]] = {}
        for r in rows:
            key = (r.get("key") or "").strip()
            if not key:
                continue
            seg = (r.get("segment") or "").strip()
            slices = None
            m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", r.get("mig_compute_slices") or "")
            if m:
                slices = (int(m.group(1)), int(m.group(2)))
            row = _Row(
                key,
                seg,
                (r.get("parent_key") or "").strip() or None,
                set(),
                set(),
                set(),
                set(),
                (r.get("mig_profile") or "").strip().lower() or None,
                slices,
            )
            for mem in re.findall(r"\d+(?:\.\d+)?", r.get("memory_gb") or ""):
                row.memories.add(float(mem))
            for word in ("pcie", "sxm", "nvl", "oam"):
                if re.search(word, r.get("variant") or "", re.IGNORECASE):
                    row.forms.add(word)
            listed = _listed_names(r)
            for n in listed:
                if seg != "mig":
                    c = compact(n)
                    if c:
                        names.setdefault(c, set()).add(key)
                t = tokens(n)
                if t.product and seg != "mig":
                    row.products.add(t.product)
                if t.memory_gb is not None:
                    row.memories.add(t.memory_gb)
                if t.form and n != row.key:
                    row.forms.add(t.form)
                if t.generation:
                    row.generations.add(t.generation)
            kt = tokens(key)
            if kt.form:
                row.forms.add(kt.form)
            out[key] = row
        return cls(out, {n: tuple(sorted(k)) for n, k in names.items()}, frozenset(out))

    def mig_rows(self, parent: str) -> list[_Row]:
        return [r for r in self.rows.values() if r.parent == parent and r.segment == "mig"]


@cache
def bundled_table() -> GpuTable:
    """The index of the bundled gpus.csv (built once)."""
    return GpuTable.from_rows(load_rows())


def ambiguous_names(table: GpuTable | None = None) -> dict[str, tuple[str, ...]]:
    """Compact names that more than one row lists (each needs a default alias)."""
    t = table or bundled_table()
    return {n: k for n, k in t.names.items() if len(k) > 1}


# -- matching -------------------------------------------------------------------


def match_gpu(
    name: object, aliases: Mapping[str, str] | None = None, table: GpuTable | None = None
) -> GpuMatch:
    """The gpus.csv key of a GPU name and how it was found (rules in the module doc).

    ``aliases`` maps names (any spelling; compared in compact form) to keys and
    wins over everything but an exact key. ``table`` defaults to the bundled
    gpus.csv.
    """
    t = table or bundled_table()
    given = "" if name is None else str(name)
    user = {compact(clean(k)): v for k, v in (aliases or {}).items()}
    s = clean(given)
    if not s or s == "gpu" or (s.isdigit() and len(s) <= 2):  # gpu:2 is a count, 3090 a model
        return GpuMatch(given, None, "none", "no GPU type")
    return _match(given, s, user, t, allow_mig=True)


def _match(given: str, s: str, user: dict[str, str], t: GpuTable, allow_mig: bool) -> GpuMatch:
    if s in t.keys:
        return _with_mig_fields(GpuMatch(given, s, "exact_key", "the name is a gpus.csv key"), t)
    c = compact(s)
    bare_profile = (
        re.fullmatch(r"[1-8]g\.\d+gb(?:\+me)?", s) is not None
    )  # an alias on it names the parent
    if c in user and not (allow_mig and bare_profile):
        return _with_mig_fields(GpuMatch(given, user[c], "alias", f"user alias {c}={user[c]}"), t)
    if allow_mig:
        mig = _match_mig(given, s, user, t)
        if mig is not None:
            return mig
    if c in DEFAULT_ALIASES:
        amb = t.names.get(c, ())
        return GpuMatch(
            given,
            DEFAULT_ALIASES[c],
            "default_alias",
            f"default alias {c}={DEFAULT_ALIASES[c]}",
            candidates=amb,
            defaulted=True,
        )
    listed = t.names.get(c, ())
    if len(listed) == 1:
        return GpuMatch(
            given, listed[0], "table_name", f"listed in gpus.csv as a name of {listed[0]}"
        )
    return _match_tokens(given, s, user, t, listed)


def _match_tokens(
    given: str, s: str, user: dict[str, str], t: GpuTable, listed: tuple[str, ...]
) -> GpuMatch:
    tok = tokens(s)
    if tok.product is None:
        if listed:
            return GpuMatch(
                given,
                None,
                "none",
                f"listed for several rows {listed}, no default alias",
                candidates=listed,
            )
        return GpuMatch(given, None, "none", "no GPU product found in the name")
    plain = [r for r in t.rows.values() if r.segment != "mig"]
    cands = [r for r in plain if tok.product in r.products]
    why = f"product {tok.product}"
    if not cands and tok.base:
        cands = [r for r in plain if tok.base in r.products]
        why = f"product {tok.base} (site suffix {tok.product[len(tok.base) :]!r} dropped)"
    if not cands:
        return GpuMatch(given, None, "none", f"{why}: no gpus.csv row")
    if tok.memory_gb is not None:
        cands = [r for r in cands if not r.memories or tok.memory_gb in r.memories]
        why += f", {tok.memory_gb:g} GB"
    if tok.form is not None:
        cands = [r for r in cands if not r.forms or tok.form in r.forms]
        why += f", {tok.form}"
    if tok.generation is not None and len(cands) > 1:
        narrowed = [r for r in cands if tok.generation in r.generations]
        cands = narrowed or cands
    if not cands:
        return GpuMatch(given, None, "none", f"{why}: no gpus.csv row agrees")
    keys = tuple(sorted(r.key for r in cands))
    if len(keys) == 1:
        return GpuMatch(given, keys[0], "normalised", why)
    product = (
        tok.base
        if tok.base and tok.product not in {p for r in cands for p in r.products}
        else tok.product
    )
    mem = f"{tok.memory_gb:g}gb" if tok.memory_gb is not None else ""
    form = tok.form or ""
    for probe in dict.fromkeys(
        compact(x) for x in (product + mem + form, product + mem, product + form, product)
    ):
        for table_ in (user, DEFAULT_ALIASES):
            target = table_.get(probe)
            if target in keys:
                how = "alias" if table_ is user else "default_alias"
                return GpuMatch(
                    given,
                    target,
                    how,
                    f"{why}: {len(keys)} rows, alias {probe}={target}",
                    candidates=keys,
                    defaulted=table_ is not user,
                )
    return GpuMatch(
        given, None, "none", f"{why}: {len(keys)} rows and no default alias", candidates=keys
    )


def _with_mig_fields(m: GpuMatch, t: GpuTable) -> GpuMatch:
    row = t.rows.get(m.key or "")
    if row is None or row.segment != "mig":
        return m
    frac = row.mig_slices[0] / row.mig_slices[1] if row.mig_slices else None
    return GpuMatch(
        m.name, m.key, m.how, m.detail, m.candidates, row.key, row.mig_profile, frac, m.defaulted
    )


def _profile_parents(t: GpuTable, profile: str) -> list[str]:
    return sorted(
        {
            r.parent
            for r in t.rows.values()
            if r.segment == "mig" and r.mig_profile == profile and r.parent
        }
    )


def _match_mig(given: str, s: str, user: dict[str, str], t: GpuTable) -> GpuMatch | None:
    m = _MIG_TAIL.search(s)
    if m:
        n, profile = int(m.group("n")), f"{m.group('n')}g.{m.group('m')}gb"
        head = s[: m.start()].strip("_-. :/")
        parent, how_parent, defaulted = _mig_parent(given, head, profile, user, t)
    else:
        mm = _MILA_TAIL.match(s)
        if not mm:
            return None
        head = mm.group("parent")
        base = _match(given, head, user, t, allow_mig=False)
        if base.key is None or not t.mig_rows(base.key):
            return None  # ".N" after a GPU without MIG: not a MIG slice
        n, profile = int(mm.group("n")), None
        parent, how_parent, defaulted = base.key, f"parent {head} by {base.how}", base.defaulted
    if parent is None:
        return GpuMatch(given, None, "none", how_parent, mig_profile=profile)
    rows = [
        r
        for r in t.mig_rows(parent)
        if (r.mig_profile == profile if profile else r.mig_slices and r.mig_slices[0] == n)
    ]
    rows.sort(key=lambda r: float(re.sub(r"^\d+g\.|gb$", "", r.mig_profile or "0") or 0))
    row = rows[0] if rows else None
    frac = None
    if row and row.mig_slices:
        frac = row.mig_slices[0] / row.mig_slices[1]
    elif t.mig_rows(parent):
        total = next((r.mig_slices[1] for r in t.mig_rows(parent) if r.mig_slices), None)
        frac = n / total if total else None
    detail = f"MIG {profile or str(n) + 'g'} of {parent} ({how_parent})"
    if row is None:
        detail += "; profile not listed for the parent"
    return GpuMatch(
        given,
        parent,
        "mig_parent",
        detail,
        mig_key=row.key if row else None,
        mig_profile=(row.mig_profile if row else profile or f"{n}g"),
        mig_fraction=frac,
        defaulted=defaulted,
    )


def _mig_parent(
    given: str, head: str, profile: str, user: dict[str, str], t: GpuTable
) -> tuple[str | None, str, bool]:
    """The parent GPU of a MIG profile, why, and whether a default chose it."""
    offering = _profile_parents(t, profile)
    if not head:
        c = compact(profile)
        if c in user:
            target = user[c]
            row = t.rows.get(target)
            return (
                (row.parent if row and row.segment == "mig" else target),
                f"user alias {profile}={target}",
                False,
            )
        if len(offering) == 1:
            return offering[0], f"only {offering[0]} offers {profile}", False
        if profile in DEFAULT_MIG_PARENTS:
            return (
                DEFAULT_MIG_PARENTS[profile],
                f"default parent {profile}={DEFAULT_MIG_PARENTS[profile]}",
                True,
            )
        return None, f"bare MIG profile {profile}: no parent offers it", False
    base = _match(given, head, user, t, allow_mig=False)
    if base.key is None:
        return None, f"MIG parent {head!r}: {base.detail}", False
    if base.how == "default_alias" and base.key not in offering:
        pool = [k for k in (base.candidates or ()) if k in offering]
        if not pool:
            same = tokens(head).product
            pool = [k for k in offering if same and same in t.rows[k].products]
        if len(pool) == 1:
            return pool[0], f"parent {head}: the only candidate offering {profile}", False
        if DEFAULT_MIG_PARENTS.get(profile) in pool:
            return DEFAULT_MIG_PARENTS[profile], f"parent {head}: default parent of {profile}", True
    return base.key, f"parent {head} by {base.how}", base.defaulted


def match_many(
    names: Iterable[object], aliases: Mapping[str, str] | None = None, table: GpuTable | None = None
) -> dict[str, GpuMatch]:
    """:func:`match_gpu` for each distinct name (None and NaN are skipped)."""
    out: dict[str, GpuMatch] = {}
    for n in names:
        if n is None or (isinstance(n, float) and n != n):
            continue
        key = str(n)
        if key not in out:
            out[key] = match_gpu(key, aliases, table)
    return out


def gres_types(text: str) -> list[str]:
    """The GPU type strings in a text: ``gres/gpu:TYPE=N`` (AllocTRES, ReqTRES) and JSON TRES entries ``"type": "gres", "name": "gpu:TYPE"``. Untyped ``gres/gpu=N``
    and ``"name": "gpu"`` give ``""`` (no GPU type)."""
    found: list[str] = []
    for m in re.finditer(r"gres/gpu(?::(?P<t>[^=,|\s\"']+))?=\d", text):
        found.append(m.group("t") or "")
    for m in re.finditer(
        r"\"type\"\s*:\s*\"gres\"\s*,\s*\"name\"\s*:\s*\"gpu(?::(?P<t>[^\"]+))?\"", text
    ):
        found.append(m.group("t") or "")
    for m in re.finditer(
        r"\"name\"\s*:\s*\"gpu(?::(?P<t>[^\"]+))?\"\s*,\s*\"type\"\s*:\s*\"gres\"", text
    ):
        found.append(m.group("t") or "")
    return found
