"""Reading course notebooks: cells, nbgrader metadata, code to run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator

import nbformat

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("warmup", "l2", "l1", "weight_decay", "dropout")


def source_notebook(assignment: str, repo: Path = REPO) -> Path:
    """``solutions/<id>/<id>.ipynb``: the instructor's version, with solutions and hidden tests."""
    return repo / "solutions" / assignment / f"{assignment}.ipynb"


def released_notebook(assignment: str, repo: Path = REPO) -> Path:
    """``exercises/<id>/<id>.ipynb``: the student version nbgrader generates."""
    return repo / "exercises" / assignment / f"{assignment}.ipynb"


def read(path: str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_cells(nb) -> Iterator:
    """Cells that carry points (autograded tests)."""
    return (c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code")


def with_cell_source(nb, grade_id: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cell ``grade_id`` holds ``source`` (a submission's answer)."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    if len(cells) != 1:
        raise ValueError(f"the notebook has no single cell {grade_id!r}")
    cells[0].source = source
    return nb


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def code_cells_without_tests(nb) -> list[str]:
    """The sources of every code cell that is not a graded test, in order."""
    return [c.source for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)]


def iter_notebooks(*folders: Path) -> Iterator[Path]:
    """Every committed ``.ipynb`` under ``folders`` (checkpoints and build output excluded)."""
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" not in path.parts and "_build" not in path.parts:
                yield path
