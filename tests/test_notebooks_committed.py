"""Committed notebooks are sources: valid, without outputs or execution counts."""

import nbformat
import pytest

from regcourse.authoring.notebooks import REPO, iter_notebooks

NOTEBOOKS = list(iter_notebooks(REPO / "book", REPO / "solutions", REPO / "exercises"))


def test_there_are_notebooks_to_check():
    assert any(p.parts[-3] == "book" for p in NOTEBOOKS)
    assert any("solutions" in p.parts for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


LESSONS = [p for p in NOTEBOOKS if p.parts[-3] == "book"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: str(p.relative_to(REPO)))
def test_lesson_code_fits_the_page(path):
    """A line longer than the site's code column is cut off or scrolls on a desktop page."""
    from conftest import LESSON_CODE_WIDTH

    long = [(i, line) for i, cell in enumerate(nbformat.read(path, as_version=4).cells)
            if cell.cell_type == "code" for line in cell.source.splitlines() if len(line) > LESSON_CODE_WIDTH]
    assert not long, (f"{len(long)} code line(s) longer than {LESSON_CODE_WIDTH} characters, "
                      f"the first in cell {long[0][0]}: {long[0][1]!r}")
