"""Committed notebooks are sources: valid, without outputs or execution counts."""

import nbformat
import pytest

from regcourse.notebooks import REPO, iter_notebooks

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
