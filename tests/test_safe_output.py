"""Text that came from logs is untrusted; every output keeps it inert.

- CSV: a cell a spreadsheet would run as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, tab or CR, and not a number) gets a leading ``'``;
- Markdown: HTML, pipes, brackets and the other markup characters are escaped
  and a cell stays on one line (no ``\\n``, no ``\\r``);
- HTML: ``<``, ``>``, ``&`` and quotes are entities; LaTeX: special characters
  are escaped;
- text tables: line breaks and control characters (terminal escape sequences)
  are shown, never sent to the terminal;
- ``--anonymize``: users, accounts and job names are tokens in every output,
  and the salt is never printed.

The first part checks the render functions on any text (Hypothesis), the
second runs every command that prints log-derived text on a store of hostile
names, in every output format.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rdcost
from rdcost.cli import main
from rdcost.output import render
from rdcost.output.renderers import csv as csv_out
from rdcost.output.renderers import json as json_out
from rdcost.output.renderers import markdown as md_out
from rdcost.output.renderers import text as text_out
from tests.strategies import fuzz_settings, noise_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # all but "\n"

#: Hostile text in every column that comes from logs.
FORMULA = '=HYPERLINK("http://x","click")'
SCRIPT = "<script>alert(1)</script>"
PIPE = "| pipe | md"
ANSI = "\x1b[2J\x1b[31mred\x07"
LATEX = "\\input{/etc/passwd}"
USERS = ("@evil", "zyxuser1", "zyxuser2")
ACCOUNTS = ("+acctzz", "qqacct")
NAMES = (FORMULA, SCRIPT, PIPE, ANSI, "zyxstem-lr0.1-d0.2")
SALT = "s3cr3tSALTxyz"

text_cells = st.one_of(
    noise_text(30),
    st.sampled_from(
        (FORMULA, SCRIPT, PIPE, ANSI, LATEX, *USERS, *ACCOUNTS, "-1", "+2.5e3", "@", "=")
    ),
)


# ---------------------------------------------------------------- the render functions


def unsafe_csv_cells(text: str) -> list[str]:
    """Cells of a CSV text that a spreadsheet would run as a formula."""
    return [
        c
        for row in csv.reader(io.StringIO(text, newline=""))
        for c in row
        if c.startswith(FORMULA_START) and not NUMBER.match(c)
    ]


@fuzz_settings(150)
@given(st.lists(st.tuples(text_cells, text_cells), max_size=6), st.tuples(text_cells, text_cells))
def test_csv_has_no_formula_cell_and_keeps_the_text(rows, header):
    df = pd.DataFrame(rows, columns=["a", "b"]) if rows else pd.DataFrame({"a": [], "b": []})
    df.columns = list(header) if len(set(header)) == 2 else ["a", "b"]
    text = csv_out.frame(df)
    assert unsafe_csv_cells(text) == []
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert len(back) == len(rows) + 1  # no cell starts a row of its own
    for got, want in zip(back[1:], rows, strict=True):
        for g, w in zip(got, want, strict=True):
            w = w.replace("\r\n", "\n").replace("\r", "\n")
            assert g == w or (g == "'" + w and w.startswith((*FORMULA_START, "\n")))


def test_a_carriage_return_cannot_start_a_new_csv_row():
    """csv.writer does not quote a bare CR when lines end in LF: the row once split
    there and its second half, a formula, was not neutralized."""
    text = csv_out.frame(pd.DataFrame({"job_name": ['ok\r=HYPERLINK("http://x")'], "n": [1]}))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["job_name", "n"], ['ok\n=HYPERLINK("http://x")', "1"]]


@pytest.mark.parametrize("value", ["-1", "-0.5", "+3", "-1e-3", "12"])
def test_numbers_are_not_quoted_in_csv(value):
    assert render.csv_safe(value) == value


@fuzz_settings(200)
@given(text_cells)
def test_markdown_escaping_keeps_markup_and_lines_out(text):
    out = render.md_escape(text)
    assert "<" not in out and "\n" not in out and "\r" not in out
    assert re.search(r"(?<!\\)\|", out) is None  # every pipe escaped
    assert CONTROL.search(out) is None


@fuzz_settings(100)
@given(st.lists(st.lists(text_cells, min_size=3, max_size=3), min_size=1, max_size=5))
def test_markdown_table_rows_keep_their_cells(rows):
    md = md_out.frame(pd.DataFrame(rows, columns=["x", "y", "z"]))
    lines = md.rstrip("\n").split("\n")
    assert len(lines) == len(rows) + 2
    for line in lines:
        assert len(re.findall(r"(?<!\\)\|", line)) == 4, line


@fuzz_settings(200)
@given(text_cells)
def test_html_escaping(text):
    out = render.html_escape(text)
    assert not set(out) & set("<>\"'")
    assert html.unescape(out) == text


@fuzz_settings(100)
@given(st.lists(text_cells, min_size=1, max_size=6))
def test_text_table_sends_no_control_character_to_the_terminal(names):
    out = text_out.frame(pd.DataFrame({"job_name": names, "n": range(len(names))}))
    assert CONTROL.search(out) is None
    assert out.count("\n") == len(names) + 2


def test_control_characters_are_shown_not_sent():
    assert render.printable(ANSI) == "\\x1b[2J\\x1b[31mred\\x07"
    assert render.printable("a\r\nb\tc\u2028d") == "a  b c d"
    assert render.md_escape("a\rb") == "a b"


@fuzz_settings(100)
@given(st.lists(text_cells, max_size=6))
def test_json_gives_back_the_text_exactly(names):
    df = pd.DataFrame({"job_name": names})
    assert [r["job_name"] for r in json.loads(json_out.dumps(df))] == names


# ---------------------------------------------------------------- every command on hostile logs


def hostile_csv() -> str:
    """Jobs of one project whose names, users, accounts, tags, groups, GPU
    types and hyperparameter names are hostile; a grid search by name stem."""
    rows = []

    def add(
        job_id,
        name,
        user,
        account,
        start,
        hours,
        group="",
        tags="",
        config=None,
        metrics=None,
        cluster="c1",
        state="COMPLETED",
    ):
        end = pd.Timestamp(start) + pd.Timedelta(hours=hours)
        rows.append(
            {
                "job_id": job_id,
                "job_name": name,
                "user": user,
                "account": account,
                "project": "evilproj",
                "state": state,
                "start_time": start,
                "end_time": end.isoformat(),
                "n_gpus": 1,
                "gpu_type": "v100",
                "group_id": group,
                "tags": tags,
                "cluster": cluster,
                "config_json": json.dumps(config) if config else "",
                "metrics_json": json.dumps(metrics) if metrics else "",
            }
        )

    add(
        "101",
        FORMULA,
        "@evil",
        "+acctzz",
        "2020-03-01T09:00:00+00:00",
        2,
        tags='["=1+1", "<b>t</b>"]',
        cluster="-cl",
    )
    add("102", SCRIPT, "zyxuser1", "qqacct", "2020-03-01T12:00:00+00:00", 1, state="FAILED")
    add("103", PIPE, "zyxuser1", "qqacct", "2020-03-02T12:00:00+00:00", 3)
    add("104", ANSI, "zyxuser2", "qqacct", "2020-03-02T16:00:00+00:00", 1)
    for i in range(6):  # a search stated in the log, hostile hyperparameter and metric names
        add(
            str(200 + i),
            f"=cmd|' /C calc'!A0-{i}",
            "@evil",
            "+acctzz",
            f"2020-03-03T1{i}:00:00+00:00",
            0.5,
            group="<img src=x onerror=alert(1)>",
            config={"<script>lr</script>": 0.1 * (i + 1), "=dropout": 0.1 * (i % 3), LATEX: i % 2},
            metrics={"val_f1_<b>x</b>": 60 + i},
        )
    for i in range(5):  # a search found by the name heuristic: one user, one stem, one burst
        add(
            str(300 + i),
            f"zyxstem-lr0.{i + 1}-d0.2",
            "zyxuser1",
            "qqacct",
            f"2020-03-04T10:0{i}:00+00:00",
            1,
        )
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    path = d / "evil.csv"
    path.write_text(hostile_csv(), encoding="utf-8")
    report = rdcost.ingest([path], store=d / "store")
    assert report.files[0].error is None and report.files[0].n_rejected == 0, report.files[0]
    return d / "store"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    captured = capsys.readouterr()
    return done.value.code, captured.out, captured.err


SUMMARY = ["-p", "evilproj", "-a", "paper"]
#: (command line, output format) of every command that prints log-derived text
COMMANDS = (
    [(["jobs", "--columns", "all", "--format", f], f) for f in ("csv", "json", "markdown", "table")]
    + [(["groups", "--format", f], f) for f in ("csv", "json", "markdown", "table")]
    + [(["groups", "--members", "--format", f], f) for f in ("csv", "markdown")]
    + [(["summarize", *SUMMARY, "--format", f], f) for f in ("csv", "json", "markdown", "table")]
    + [
        (["tuning", "-p", "evilproj", "--goal", "max", "--format", f], f)
        for f in ("csv", "json", "markdown", "table")
    ]
    + [
        (["compare-buy-vs-cloud", "-p", "evilproj", "--format", f], f)
        for f in ("csv", "json", "markdown", "table")
    ]
    + [(["card", *SUMMARY, "--format", f], f) for f in ("markdown", "latex")]
)


def check_output(text: str, fmt: str) -> None:
    """The format's own safety rule, on the whole output."""
    if fmt == "csv":
        assert unsafe_csv_cells(text) == []
    elif fmt == "json":
        json.loads(text)
    elif fmt in ("markdown", "md"):
        for raw in (SCRIPT, "<img", "<b>", PIPE, "\r", "\x1b"):
            assert raw not in text, raw
        widths = set()
        for line in text.split("\n"):
            if line.startswith("|"):
                widths.add(len(re.findall(r"(?<!\\)\|", line)))
            elif widths:
                assert len(widths) == 1, widths  # every row of a table has the header's cells
                widths = set()
    elif fmt == "html":
        assert "<script" not in text.lower()
        assert re.search(r"<img(?![^>]*src=\"data:)", text) is None
        assert "<b>" not in text and "onerror=alert" not in text.replace("onerror=alert(1)&gt;", "")
    elif fmt == "latex":
        assert LATEX not in text and "\x1b" not in text
    elif fmt == "table":
        assert CONTROL.search(text) is None


@pytest.mark.parametrize("args,fmt", COMMANDS, ids=[" ".join(a[:1] + a[-2:]) for a, _ in COMMANDS])
def test_every_command_output_is_safe(store, capsys, args, fmt):
    code, out, err = cli(capsys, *args, "--store", str(store))
    assert code == 0, err
    assert out.strip()
    check_output(out, fmt)
    assert "\x1b" not in err


def test_hostile_names_reach_the_outputs_escaped(store, capsys):
    """The escaping is exercised, not avoided: the names are there, made inert."""
    _, out, _ = cli(capsys, "jobs", "--format", "csv", "--store", str(store))
    rows = {r["job_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["101"]["job_name"] == "'" + FORMULA and rows["101"]["user"] == "'@evil"
    assert rows["101"]["account"] == "'+acctzz" and rows["101"]["cluster"] == "'-cl"
    assert rows["102"]["job_name"] == SCRIPT  # not a formula: CSV keeps it as is
    _, out, _ = cli(capsys, "jobs", "--format", "markdown", "--store", str(store))
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in out and "\\| pipe \\| md" in out
    assert "\\\\x1b\\[2J" in out
    _, out, _ = cli(capsys, "jobs", "--format", "json", "--store", str(store))
    by_id = {r["job_id"]: r for r in json.loads(out)}
    assert by_id["104"]["job_name"] == ANSI  # JSON is data: exact text, escaped by JSON
    _, out, _ = cli(capsys, "jobs", "--store", str(store))
    assert "\\x1b[2J\\x1b[31mred\\x07" in out
    _, out, _ = cli(capsys, "card", *SUMMARY, "--format", "latex", "--store", str(store))
    assert "\\textbackslash{}input\\{/etc/passwd\\}" in out


@pytest.mark.parametrize("suffix", ["html", "md"])
def test_report_files_are_safe(store, capsys, tmp_path, suffix):
    path = tmp_path / f"report.{suffix}"
    code, _, err = cli(capsys, "report", *SUMMARY, "-o", str(path), "--store", str(store))
    assert code == 0, err
    text = path.read_text(encoding="utf-8")
    check_output(text, suffix)
    assert "&lt;script&gt;" in text  # the name is there, as text


# ---------------------------------------------------------------- --anonymize

ORIGINALS = (
    *USERS,
    *ACCOUNTS,
    "HYPERLINK",
    "<script>alert",
    "script&gt;alert",
    "pipe | md",
    "pipe \\| md",
    "calc",
    "zyxstem",
    "x1b[2J",
    "[2J",
)

ANON_COMMANDS = (
    [(["jobs", "--columns", "all", "--format", f], f) for f in ("csv", "json", "markdown", "table")]
    + [
        (["groups", "--format", "json"], "json"),
        (["groups", "--members", "--format", "csv"], "csv"),
    ]
    + [
        (["summarize", *SUMMARY, "--format", "json"], "json"),
        (["summarize", *SUMMARY, "--format", "markdown"], "markdown"),
        (["tuning", "-p", "evilproj", "--goal", "max", "--format", "json"], "json"),
        (["compare-buy-vs-cloud", "-p", "evilproj", "--format", "json"], "json"),
        (["card", *SUMMARY, "--format", "markdown"], "markdown"),
    ]
)


def leaks(text: str, salt: str) -> list[str]:
    return [o for o in (*ORIGINALS, salt) if o in text]


@pytest.mark.parametrize(
    "args,fmt", ANON_COMMANDS, ids=[" ".join(a[:1] + a[-2:]) for a, _ in ANON_COMMANDS]
)
def test_anonymized_outputs_hold_no_name_and_no_salt(store, capsys, monkeypatch, args, fmt):
    monkeypatch.setenv("RDCOST_ANON_SALT", SALT)
    code, out, err = cli(capsys, "--anonymize", *args, "--store", str(store))
    assert code == 0, err
    assert leaks(out + err, SALT) == []
    check_output(out, fmt)


def test_anonymized_report_holds_no_name_and_no_salt(store, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("RDCOST_ANON_SALT", SALT)
    path = tmp_path / "report.html"
    code, out, err = cli(
        capsys, "--anonymize", "report", *SUMMARY, "-o", str(path), "--store", str(store)
    )
    assert code == 0, err
    assert leaks(path.read_text(encoding="utf-8") + out + err, SALT) == []


def test_the_stored_salt_is_never_printed_and_tokens_are_stable(store, capsys, monkeypatch):
    monkeypatch.delenv("RDCOST_ANON_SALT", raising=False)
    _, first, _ = cli(capsys, "--anonymize", "jobs", "--format", "json", "--store", str(store))
    salt = (store / "anon_salt").read_text().strip()
    assert len(salt) >= 16
    _, second, err = cli(capsys, "--anonymize", "jobs", "--format", "json", "--store", str(store))
    assert first == second and leaks(first + err, salt) == []
    users = {r["user"] for r in json.loads(first)}
    assert len(users) == 3 and all(u.startswith("user-") for u in users)
    monkeypatch.setenv("RDCOST_ANON_SALT", SALT)
    _, other, _ = cli(capsys, "--anonymize", "jobs", "--format", "json", "--store", str(store))
    assert {r["user"] for r in json.loads(other)}.isdisjoint(users)  # another salt, other tokens


def test_anonymized_searches_are_the_same_searches(store, capsys, monkeypatch):
    monkeypatch.setenv("RDCOST_ANON_SALT", SALT)
    _, plain, _ = cli(capsys, "groups", "--format", "json", "--store", str(store))
    _, anon, _ = cli(capsys, "--anonymize", "groups", "--format", "json", "--store", str(store))
    sizes = sorted(g["n_jobs"] for g in json.loads(plain))
    assert sizes == sorted(g["n_jobs"] for g in json.loads(anon)) == [5, 6]


WANDB_RUN = {
    "id": "r1",
    "name": "zyxrun",
    "path": ["zyxentity", "nmt", "r1"],
    "state": "finished",
    "created_at": "2024-03-04T09:12:44",
    "summary_metrics": {"_runtime": 3600},
    "user": "zyxuser3",
    "config": {"lr": 0.1},
}


def test_anonymize_hides_the_account_in_record_keys_and_the_user_in_paths(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("RDCOST_ANON_SALT", SALT)
    home = tmp_path / "home" / "zyxuser3"
    home.mkdir(parents=True)
    (home / "runs.json").write_text(json.dumps([WANDB_RUN]))
    rdcost.ingest([home / "runs.json"], store=tmp_path / "s")
    _, out, _ = cli(
        capsys, "--anonymize", "jobs", "--format", "json", "--store", str(tmp_path / "s")
    )
    assert [o for o in ("zyxentity", "zyxuser3", "zyxrun") if o in out] == []
