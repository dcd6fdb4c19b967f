"""The report: self-contained HTML and Markdown from the sample logs, escaping, and a headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

import rdcost
from rdcost.analysis.assumptions import load, override_all_power, override_all_prices
from rdcost.analysis.buy_vs_cloud import load_owned
from rdcost.analysis.project import analyze_project
from rdcost.analysis.tuning import analyze_context
from rdcost.cli import main
from rdcost.errors import UsageError
from rdcost.jobtable.schema import conform
from rdcost.output.report import REPORT_PLOTS, write_report

LISA = Path(__file__).resolve().parents[1] / "sample_logs" / "lisa"
CHROMIUM = Path("/usr/bin/chromium")
VOID = {"meta", "img", "br", "hr", "link", "input"}


class Page(HTMLParser):
    """Tags, attributes and text of an HTML document; checks that elements nest properly."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed {self.stack}")

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


@pytest.fixture(scope="session")
def lisa(tmp_path_factory):
    root = tmp_path_factory.mktemp("lisa-report")
    store = root / "store"
    rdcost.ingest([LISA / "sacct.txt", LISA / "wandb_runs.csv"], store=store, project="lisa")
    st = rdcost.open_store(store)
    ctx = analyze_project(
        st.read_jobs(project="lisa"),
        load(["paper"]),
        project="lisa",
        owned=load_owned(["paper"]),
        inputs=st.inputs(),
    )
    html = write_report(
        ctx, root / "report.html", command="rdcost report -p lisa -a paper -o report.html"
    )
    return store, ctx, html


def test_html_is_self_contained(lisa):
    _, _, path = lisa
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert page.problems == []
    assert text.startswith("<!DOCTYPE html>")
    assert page.all("meta")[0] == {"charset": "utf-8"}
    csp = [m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]
    assert not page.all("script") and not page.all("link") and not page.all("iframe")
    assert "@import" not in text and "url(" not in text
    assert all(a["href"].startswith("#") for a in page.all("a"))
    imgs = page.all("img")
    assert len(imgs) == len(REPORT_PLOTS)
    for img in imgs:
        assert img["src"].startswith("data:image/png;base64,") and img["alt"]
        png = base64.b64decode(img["src"].split(",", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_html_has_the_tables_figures_assumptions_inputs_and_version(lisa):
    _, ctx, path = lisa
    page = Page(path.read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert len(page.all("table")) >= 12
    for s in (
        "239,942",
        "9,998 GPU-days",
        "4,789",
        "$103,175 - $350,315",
        "$52 - $175",
        "$1,238 - $4,205",
        "one tuning round",
        "all R&D",
        "crashed",
        "timed out",
        "Car, average incl. fuel, 1 lifetime",
    ):
        assert s in text, s
    # assumptions with their sources and dates
    for s in (
        "usd_per_gpu_hour_high:titanx_maxwell",
        "Strubell et al. 2019",
        "as of 2019",
        "pue",
        "kg_co2e_per_kwh",
        "crash_threshold_minutes",
    ):
        assert s in text, s
    # input files with their hashes, and the version
    for f in ("sacct.txt", "wandb_runs.csv"):
        assert hashlib.sha256((LISA / f).read_bytes()).hexdigest() in text
    assert f"rdcost {rdcost.__version__}" in text
    assert "rdcost report -p lisa -a paper -o report.html" in text
    # the compute statement and the tuning analysis
    assert "learning_rate" in text and "val/f1" in text
    ids = {a.get("id") for _, a in page.tags}
    assert {
        "summary",
        "rd",
        "waste",
        "searches",
        "tuning",
        "card",
        "assumptions",
        "inputs",
        "reproduce",
    } <= ids
    assert {f"plot-{k}" for k in REPORT_PLOTS} <= ids


def _section(text: str, id_: str) -> str:
    return text.split(f'<h2 id="{id_}">', 1)[1].split("<h2 ", 1)[0]


def test_html_tuning_section_is_what_rdcost_tuning_finds(lisa):
    _, ctx, path = lisa
    sec = _section(path.read_text(encoding="utf-8"), "tuning")
    page = Page(sec)
    text = " ".join(page.text)
    t = analyze_context(ctx)
    for sentence in t.statement():  # the statement for the paper, sentence by sentence
        assert sentence in text
    # the per-search table: the largest searches by GPU-hours, the largest first
    assert len(page.all("table")) == 1
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td>", sec)
    d = t.search_table().sort_values("gpu_hours", ascending=False, kind="stable")
    assert len(rows) == min(15, len(d))
    assert [r[0] for r in rows[:3]] == [
        n if isinstance(n, str) and n else i
        for n, i in zip(d["name"][:3], d["search_id"][:3], strict=True)
    ]
    assert [r[1] for r in rows[:3]] == [f"{n:,}" for n in d["n_runs"][:3]]
    for header in (
        "best val/f1",
        "top hyperparameter (eta²)",
        "seed std",
        "saved",
        "seed reps / retries / redundant",
    ):
        assert f">{header}</th>" in sec, header
    # its two plots, and the method
    assert 'id="plot-sensitivity"' in sec and 'id="plot-tuning-return"' in sec
    assert "oracle stopping rule" in text and "within 1% (relative) of the search's best" in text


def test_tuning_not_available_is_said_and_its_plots_left_out(evil_ctx, tmp_path):
    text = write_report(
        evil_ctx, tmp_path / "r.html", kinds=["waste", "sensitivity", "tuning-return"]
    ).read_text(encoding="utf-8")
    sec = _section(text, "tuning")
    assert "Not available: no run reports a metric" in sec and "<img" not in sec
    assert len(Page(text).all("img")) == 1  # waste only
    assert (
        "| Hyperparameter sensitivity | not available: no run reports a metric" in text
    )  # the card's Markdown


def test_tuning_section_escapes_text_from_the_logs(tmp_path):
    jobs = _evil_jobs()
    key = "<b>lr</b>"
    jobs["config_json"] = [f'{{"{key}": {0.1 if i % 2 else 0.01}}}' for i in range(len(jobs))]
    jobs["metrics_json"] = [f'{{"val_acc": {70 + i}}}' for i in range(len(jobs))]
    a = override_all_power(override_all_prices(load([]), 1.0, 3.0, "test"), 250.0, "test")
    ctx = analyze_project(jobs, a, project="p")
    text = write_report(ctx, tmp_path / "r.html", kinds=["sensitivity"]).read_text(encoding="utf-8")
    sec = _section(text, "tuning")
    assert key not in text and EVIL_NAME not in text
    assert "&lt;b&gt;lr&lt;/b&gt;" in sec  # in the statement and the table
    page = Page(text)
    assert page.problems == [] and not page.all("script") and len(page.all("img")) == 1
    md = write_report(ctx, tmp_path / "r.md", kinds=[]).read_text(encoding="utf-8")
    assert key not in md and "&lt;b&gt;lr&lt;/b&gt;" in md


def test_markdown_report_writes_plots_beside_it(lisa, tmp_path):
    _, ctx, _ = lisa
    path = write_report(ctx, tmp_path / "out" / "report.md")
    md = path.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(links) == sorted(f"report_files/{k}.png" for k in REPORT_PLOTS)
    for rel in links:
        with Image.open(path.parent / rel) as im:
            assert im.format == "PNG"
    assert "data:" not in md and "<script" not in md
    assert "239,942" in md and "$103,175 - $350,315" in md
    assert md.count("| ---") >= 12  # the tables


def test_bad_suffix_and_unknown_plot(lisa, tmp_path):
    _, ctx, _ = lisa
    with pytest.raises(UsageError, match="must end in"):
        write_report(ctx, tmp_path / "r.pdf")
    with pytest.raises(UsageError, match="not a report plot"):
        write_report(ctx, tmp_path / "r.html", kinds=["sizing"])


# -- escaping ----------------------------------------------------------------------------

EVIL_NAME = "<script>alert(1)</script>"
EVIL_USER = "\"&'"
EVIL_TAG = "<img src=x onerror=alert(2)>"


def _evil_jobs() -> pd.DataFrame:
    rows = []
    t0 = pd.Timestamp("2021-05-01", tz="UTC")
    for i in range(6):
        start = t0 + pd.Timedelta(minutes=i)
        rows.append(
            {
                "record_key": f"k{i}",
                "source": "csv",
                "project": "p",
                "job_id": str(100 + i),
                "job_name": EVIL_NAME,
                "user": EVIL_USER,
                "tags": f'["{EVIL_TAG}", "ok"]',
                "state": "COMPLETED" if i else "FAILED",
                "n_gpus": 2.0,
                "gpu_type": "v100",
                "group_id": "g<1>",
                "group_source": "csv",
                "submit_time": start,
                "start_time": start,
                "end_time": start + pd.Timedelta(hours=1 + i),
                "elapsed_s": 3600.0 * (1 + i),
            }
        )
    return conform(pd.DataFrame(rows))


@pytest.fixture()
def evil_ctx():
    a = override_all_power(override_all_prices(load([]), 1.0, 3.0, "test"), 250.0, "test")
    return analyze_project(_evil_jobs(), a, project="p")


def test_html_escapes_everything_from_the_logs(evil_ctx, tmp_path):
    text = write_report(evil_ctx, tmp_path / "r.html", kinds=["waste"]).read_text(encoding="utf-8")
    assert EVIL_NAME not in text and EVIL_TAG not in text and EVIL_USER not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&quot;&amp;&#x27;" in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text
    page = Page(text)
    assert page.problems == [] and not page.all("script")
    assert len(page.all("img")) == 1  # the one plot asked for; the tag's <img> stayed text
    shown = " ".join(page.text)
    assert (
        EVIL_NAME in shown and EVIL_USER in shown
    )  # the reader sees the names as they were logged


def test_markdown_escapes_everything_from_the_logs(evil_ctx, tmp_path):
    md = write_report(evil_ctx, tmp_path / "r.md", kinds=[]).read_text(encoding="utf-8")
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in md


# -- CLI ----------------------------------------------------------------------------------


def test_cli_report(lisa, tmp_path, capsys):
    store, _, _ = lisa
    out = tmp_path / "cli.html"
    with pytest.raises(SystemExit) as e:
        main(
            [
                "report",
                "--store",
                str(store),
                "-p",
                "lisa",
                "-a",
                "paper",
                "--pue",
                "1.1",
                "-o",
                str(out),
            ]
        )
    assert e.value.code == 0
    cap = capsys.readouterr()
    assert cap.out == "" and f"wrote {out}" in cap.err
    text = out.read_text(encoding="utf-8")
    # the command as typed, without the local store; the override is used and shown with its origin
    assert f"rdcost report --output {out} --project lisa --assumptions paper --pue 1.1" in text
    assert "--store" not in text.split('id="reproduce"')[1].split("</pre>")[0]
    assert "option --pue" in text and "PUE 1.1" in text


def test_cli_report_metric_and_goal(lisa, tmp_path, capsys):
    store, _, _ = lisa
    out = tmp_path / "cli.md"
    with pytest.raises(SystemExit) as e:
        main(
            [
                "report",
                "--store",
                str(store),
                "-p",
                "lisa",
                "-a",
                "paper",
                "-m",
                "val/f1",
                "--goal",
                "min",
                "-o",
                str(out),
            ]
        )
    assert e.value.code == 0
    md = out.read_text(encoding="utf-8")
    assert (
        "Tuned for val/f1 \\(lower is better\\)" in md
        and "val/f1, lower is better \\(given\\)" in md
    )
    assert "--metric val/f1 --goal min" in md


# -- headless Chromium ------------------------------------------------------------------------


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def _page_errors(stderr: str) -> list[str]:
    """Errors of the page itself (console messages, blocked or failed loads), not of the sandbox."""
    return [
        line
        for line in stderr.splitlines()
        if re.search(
            r"CONSOLE|Refused to|Content Security Policy|net::ERR_|Uncaught|Failed to load", line
        )
    ]


@pytest.mark.chromium
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package chromium)"
)
def test_chromium_renders_images_and_tables(lisa, tmp_path):
    _, _, path = lisa
    r = _chromium(tmp_path, "--dump-dom", path.resolve().as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    assert _page_errors(r.stderr) == []
    dom = Page(r.stdout)
    imgs = dom.all("img")
    assert len(imgs) == len(REPORT_PLOTS)
    assert all(i["src"].startswith("data:image/png;base64,") for i in imgs)
    assert len(dom.all("table")) >= 12
    assert "rdcost report: project lisa" in " ".join(dom.text)

    shot = tmp_path / "shot.png"
    r = _chromium(
        tmp_path, "--window-size=1280,3000", f"--screenshot={shot}", path.resolve().as_uri()
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert _page_errors(r.stderr) == []
    with Image.open(shot) as im:
        assert im.size == (1280, 3000)
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    # the page itself uses no orange: Okabe-Ito orange (#E69F00) on screen means the plots were decoded and painted
    orange = sum(
        n for n, (r_, g, b) in colours if abs(r_ - 0xE6) < 12 and abs(g - 0x9F) < 12 and b < 30
    )
    assert orange > 2_000
    assert len(colours) > 500


@pytest.mark.chromium
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package chromium)"
)
def test_chromium_runs_no_script_from_the_logs(evil_ctx, tmp_path):
    path = write_report(evil_ctx, tmp_path / "evil.html", kinds=[])
    r = _chromium(tmp_path, "--dump-dom", path.resolve().as_uri())
    assert r.returncode == 0
    assert _page_errors(r.stderr) == []
    dom = Page(r.stdout)
    assert not dom.all("script") and not dom.all("img")
    assert EVIL_NAME in " ".join(dom.text)


def test_cli_report_anonymized_shows_no_user(lisa, tmp_path, capsys):
    store, ctx, _ = lisa
    users = set(ctx.jobs["user"].dropna())
    out = tmp_path / "anon.html"
    with pytest.raises(SystemExit) as e:
        main(
            [
                "--anonymize",
                "report",
                "--store",
                str(store),
                "-p",
                "lisa",
                "-a",
                "paper",
                "-o",
                str(out),
            ]
        )
    assert e.value.code == 0
    text = out.read_text(encoding="utf-8")
    assert users and not [u for u in users if u in text]
    assert "rdcost --anonymize report" in text
