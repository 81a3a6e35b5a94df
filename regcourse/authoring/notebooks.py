"""Reading course notebooks: cells, nbgrader metadata, code to run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator

import nbformat

from .. import REPO


def notebook_in(folder: str | Path, assignment: str, notebook: str | None = None) -> Path:
    """``<folder>/<id>/<id>.ipynb``: where nbgrader keeps an assignment's notebook in
    ``solutions/``, ``exercises/`` and a course folder's ``source/``, ``submitted/<student>/``..."""
    return Path(folder) / assignment / f"{notebook or assignment}.ipynb"


def assignment_ids(folder: str | Path) -> list[str]:
    """The assignments of ``folder`` (``solutions/``, a course's ``source/``): each one is a
    folder that holds the notebook of its name."""
    return sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and notebook_in(folder, p.name).exists())


def source_notebook(assignment: str, repo: Path = REPO) -> Path:
    """``solutions/<id>/<id>.ipynb``: the instructor's version, with solutions and hidden tests."""
    return notebook_in(Path(repo) / "solutions", assignment)


def released_notebook(assignment: str, repo: Path = REPO) -> Path:
    """``exercises/<id>/<id>.ipynb``: the student version nbgrader generates."""
    return notebook_in(Path(repo) / "exercises", assignment)


def read(path: str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_cells(nb) -> Iterator:
    """Cells that carry points and are graded automatically (the test cells)."""
    return (c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code")


def graded_cells(nb) -> Iterator:
    """Every cell that carries points: the test cells and the written answers."""
    return (c for c in nb.cells if nbgrader_meta(c).get("grade"))


def is_written_answer(cell) -> bool:
    """A written answer graded by hand: a Markdown cell that is both a solution and graded."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def written_answers(nb) -> Iterator:
    return (c for c in nb.cells if is_written_answer(c))


def answer_title(nb, cell) -> str:
    """What a written answer is about: the bold "**Question: ...**" of the cell before it,
    or its grade_id."""
    index = next(i for i, c in enumerate(nb.cells) if c is cell)
    if index and nb.cells[index - 1].cell_type == "markdown":
        import re

        match = re.search(r"\*\*Question:?\s*([^*]+)\*\*", nb.cells[index - 1].source)
        if match:
            return " ".join(match.group(1).split())
    return nbgrader_meta(cell)["grade_id"]


def point_rows(nb) -> list[tuple[str, str, float]]:
    """``[(task, graded by, points), ...]`` in the notebook's order: each function with the
    points of its test cells (``test_<function>[_suffix]``), each written answer with its own."""
    functions = [nbgrader_meta(c)["grade_id"] for c in nb.cells
                 if c.cell_type == "code" and nbgrader_meta(c).get("solution")]
    points = {f: 0.0 for f in functions}
    rows: list[tuple[str, str, float]] = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            rows.append((f"`{meta['grade_id']}`", "tests", 0.0))
        elif is_written_answer(cell):
            rows.append((f"written answer: {answer_title(nb, cell)}", "your instructor", float(meta["points"])))
        elif is_test_cell(cell):
            # test_<function>[_suffix]: the longest function name that fits is the one tested
            owner = max((f for f in functions if meta["grade_id"].startswith(f"test_{f}")), key=len)
            points[owner] += float(meta["points"])
    return [(task, by, points[task.strip("`")] if by == "tests" else p) for task, by, p in rows]


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
