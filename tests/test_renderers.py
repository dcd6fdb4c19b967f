"""The presentation model and its renderers: one document of hostile strings, every format.

Each renderer must keep text from the logs inert (control characters shown, Markdown and
HTML markup escaped, spreadsheet formulas neutralized, LaTeX specials escaped), print no
nan/None, and align number columns right. The views built on them print 'unknown' for
unknown figures.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from rdcost.analysis import assumptions as A
from rdcost.analysis.summary import summarize
from rdcost.jobtable.schema import conform
from rdcost.output.blocks import (
    BulletList,
    Contents,
    Details,
    Document,
    Figure,
    Heading,
    Note,
    Paragraph,
    Preformatted,
    Table,
)
from rdcost.output.renderers import csv as csv_out
from rdcost.output.renderers import document as render_document
from rdcost.output.renderers import html, latex, markdown, text
from rdcost.output.views import summary as summary_view

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","click")'
ANSI = "\x1b[2J\x1b[31mred\x07"
PIPE = "a | b"
LATEX = "\\input{/etc/passwd} 100% $x$ #1 a_b"
MARKUP = "[bold]not bold[/bold] :smile: **x**"
NEWLINE = "two\nlines\r\nhere"
HOSTILE = (SCRIPT, FORMULA, ANSI, PIPE, LATEX, MARKUP, NEWLINE)
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # all but "\n"


def hostile_doc() -> Document:
    rows = [
        (name, f"{1000 * (i + 1) ** 3:,}", f"${i + 0.5:.2f}", "") for i, name in enumerate(HOSTILE)
    ]
    table = Table.of(
        ("job name " + SCRIPT, "GPU-hours", "cost (USD)", "note"),
        rows,
        right=("GPU-hours", "cost (USD)"),
        breakable=("note",),
    )
    return Document(
        title=f"title {SCRIPT} {ANSI}",
        id="hostile",
        blocks=[
            Heading(f"title {SCRIPT} {ANSI}", level=1),
            Contents((("s1", f"section {SCRIPT}"),)),
            Heading(f"section {PIPE} {SCRIPT}", id="s1"),
            Paragraph(f"para {FORMULA} {ANSI} {LATEX} {NEWLINE}"),
            Paragraph(f"strong {SCRIPT}", strong=True),
            table,
            Note(f"note {LATEX} {SCRIPT}"),
            BulletList(HOSTILE),
            Details(f"details {SCRIPT}", table),
            Figure("plot-kind", f"caption {SCRIPT}"),
            Preformatted(f"pre {SCRIPT}\n```\nend"),
        ],
    )


def test_text_shows_control_characters_and_ignores_markup():
    out = text.render(hostile_doc())
    assert CONTROL.search(out) is None and "\x1b" not in out
    assert "\\x1b[2J\\x1b[31mred\\x07" in out
    assert MARKUP in out  # rich markup and emoji codes printed as they are
    assert "two lines  here" in out  # line breaks in a cell become spaces: one row, one line
    assert "nan" not in out and "None" not in out
    assert out.startswith("title <script>") and out.splitlines()[1].startswith("=====")


def test_text_table_aligns_numbers_right_and_keeps_lines_whole():
    t = Table.of(
        ("name", "GPU-hours", "cost (USD)"),
        [("a", "1", "$0.50"), ("longer name", "239,942", "$103,175"), (ANSI, "58.1", "unknown")],
        right=("GPU-hours", "cost (USD)"),
    )
    lines = text.table(t).rstrip("\n").split("\n")
    assert len(lines) == 5 and set(lines[1]) <= {"-", " "}
    ends = {
        line.index(cell) + len(cell)
        for line, cell in zip(lines[2:], ("1", "239,942", "58.1"), strict=True)
    }
    assert len(ends) == 1  # the GPU-hours column ends at one place
    assert {len(line) for line in lines[2:]} == {
        max(len(x) for x in lines)
    }  # the last column is right-aligned
    assert all(line == line.rstrip() for line in lines)


def test_text_cuts_long_cells_only_where_the_table_says():
    long = "x" * 200
    assert long in text.table(Table.of(("a",), [(long,)]))
    cut = text.table(Table.of(("a",), [(long,)], max_width=40))
    assert long not in cut and "x" * 39 + "…" in cut


def test_markdown_escapes_and_keeps_every_row_on_one_line():
    out = markdown.render(hostile_doc(), images={"plot-kind": "r_files/plot-kind.png"})
    assert CONTROL.search(out) is None
    fence = out.index("````")
    outside, code = out[:fence], out[fence:]
    for raw in (SCRIPT, "[bold]", "**x**"):
        assert raw not in outside, raw
    assert (
        code == "````\npre <script>alert(1)</script>\n```\nend\n````\n"
    )  # shown literally, cannot be closed
    rows = [line for line in out.split("\n") if line.startswith("| ")]
    assert rows and all(len(re.findall(r"(?<!\\)\|", line)) == 5 for line in rows)
    assert "| --- | ---: | ---: | --- |" in out
    assert "![caption &lt;script&gt;" in out and "(r_files/plot-kind.png)" in out
    assert "````" in out  # a fence that the text cannot close
    assert "nan" not in out and "None" not in out


def test_markdown_leaves_out_a_figure_without_its_image():
    assert "![" not in markdown.render(hostile_doc())


class Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.data: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.data.append(data)


def test_html_is_self_contained_and_escapes_everything():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    out = html.render(hostile_doc(), {"plot-kind": png})
    page = Page(out)
    tags = [t for t, _ in page.tags]
    assert "script" not in tags and "link" not in tags
    assert [a for t, a in page.tags if t == "img"][0]["src"].startswith("data:image/png;base64,")
    assert tags.count("img") == 1 and tags.count("table") == 2 and tags.count("nav") == 1
    csp = [
        a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and csp[0]["content"].startswith("default-src 'none'")
    assert SCRIPT not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    shown = " ".join(page.data)
    assert SCRIPT in shown and FORMULA in shown  # the reader sees the text as logged
    num = [a for t, a in page.tags if t == "td" and a.get("class") == "num"]
    assert len(num) == 2 * 2 * len(HOSTILE)  # two right-aligned columns, in two tables
    assert "nan" not in out and "None" not in out


def test_html_leaves_out_a_figure_without_its_image():
    assert "<img" not in html.render(hostile_doc())


def test_csv_neutralizes_formulas_and_keeps_the_rows():
    out = csv_out.table(hostile_doc().tables()[0])
    back = list(csv.reader(io.StringIO(out, newline="")))
    assert len(back) == len(HOSTILE) + 1
    assert back[2][0] == "'" + FORMULA
    assert [r[1] for r in back[1:]][:2] == ["1,000", "8,000"]
    out = csv_out.frame(pd.DataFrame({"name": [FORMULA, "-1", None], "n": [1.5, None, -2]}))
    assert out.split("\n")[1:4] == ['"\'=HYPERLINK(""http://x"",""click"")",1.5', "-1,", ",-2.0"]


def test_latex_escapes_and_captions_with_the_notes():
    out = latex.render(hostile_doc())
    body = "\n".join(line for line in out.splitlines() if not line.startswith("%"))
    assert "\\input{" not in out and "\\textbackslash{}input\\{/etc/passwd\\}" in out
    assert not re.search(r"(?<!\\)[%$#_]", body.replace("CO$_2$e", ""))
    assert (
        "\\caption{title \\textless{}script\\textgreater{}" in out
        and "note \\textbackslash{}input" in out
    )
    assert "\\label{tab:hostile}" in out and "\\label{tab:hostile-2}" in out
    assert out.count("\\begin{table}") == 2 and "\x1b" not in out.replace("\\x1b", "")
    assert all(
        line.count(" & ") == 3
        for line in body.splitlines()
        if line.endswith("\\\\") and "& " in line
    )


def test_a_row_must_have_a_cell_per_column():
    with pytest.raises(ValueError, match="2 cells under 3 columns"):
        Table(("a", "b", "c"), (("1", "2"),))


def test_unknown_figures_print_unknown_in_every_format():
    """A GPU without a price: the cloud figures are unknown, and say so."""
    t0 = pd.Timestamp("2018-01-01", tz="UTC")
    jobs = conform(
        pd.DataFrame(
            [
                dict(
                    record_key="a",
                    source="slurm",
                    job_id="a",
                    state="COMPLETED",
                    submit_time=t0,
                    start_time=t0,
                    end_time=t0 + pd.Timedelta(hours=10),
                    elapsed_s=36000.0,
                    n_gpus=1.0,
                    gpu_type="rtx2080ti",
                    project="p",
                )
            ]
        )
    )
    s = summarize(jobs, A.Assumptions(), on_missing="unknown")
    doc = summary_view.document(s)
    for out in (render_document(doc, "table"), render_document(doc, "markdown"), html.render(doc)):
        assert "nan" not in out.lower().replace("nano", "") and "None" not in out
        assert "$None" not in out
    key = dict((r[0], r[1]) for r in summary_view.key_figures(s).rows)
    assert key["cloud cost"] == "unknown"
    assert [r[3] for r in summary_view.rd_table(s).rows] == ["unknown"] * 3
