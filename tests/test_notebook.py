"""notebooks/lisa_case_study.ipynb: committed without outputs, and it runs (so it never rots)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "lisa_case_study.ipynb"


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in _code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert nb.metadata.kernelspec.name == "python3"


def test_uses_the_python_api_only():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in _code_cells(nb):
        assert not cell.source.lstrip().startswith(("!", "%")), (
            "no shell or magics: the Python API only"
        )
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("rdcost.cli", "subprocess")), node.module
            if isinstance(node, ast.Import):
                assert all(a.name not in ("subprocess", "rdcost.cli") for a in node.names)


@pytest.mark.slow
def test_notebook_runs(tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's temporary store lands here
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()
    outputs = [o for c in _code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [
        o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})
    ]
    assert len(images) == 7  # six case-study plots and the buy-vs-cloud one
    markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert any(
        "| Final model |" in m and "| Hyperparameters that mattered |" in m for m in markdown
    )
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "lisa-report.html" in text and "239,942" in text and "$103k - $350k" in text
    reports = list(tmp_path.glob("rdcost-lisa-*/lisa-report.html"))
    assert len(reports) == 1 and reports[0].stat().st_size > 100_000
