"""exercises/ is exactly nbgrader's release of solutions/, and gives nothing away."""

import ast
import re

import pytest

from regcourse.notebooks import REPO, is_test_cell, nbgrader_meta, read, released_notebook, source_notebook
from regcourse.release import assignment_ids, generate

from conftest import ASSIGNMENTS

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def _comparable(nb):
    """What a learner receives: each cell's type, source and nbgrader metadata."""
    return [(c.cell_type, c.source, nbgrader_meta(c)) for c in nb.cells]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("exercises")
    generate(REPO / "solutions", out)
    return out


def test_every_solution_has_a_release_and_nothing_else():
    assert assignment_ids(REPO / "exercises") == ASSIGNMENTS
    assert "warmup" in ASSIGNMENTS


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_released_exercise_matches_fresh_nbgrader_release(aid, regenerated):
    fresh = read(regenerated / aid / f"{aid}.ipynb")
    committed = read(released_notebook(aid))
    assert _comparable(committed) == _comparable(fresh), \
        f"exercises/{aid} is out of date: run `make exercises` and commit the result"
    committed_files = sorted(p.name for p in released_notebook(aid).parent.iterdir())
    fresh_files = sorted(p.name for p in (regenerated / aid).iterdir())
    assert committed_files == fresh_files


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_contains_no_solution_or_hidden_test(aid):
    source, released = read(source_notebook(aid)), read(released_notebook(aid))
    text = "\n".join(c.source for c in released.cells)
    for marker in SOLUTION_MARKERS:
        assert marker not in text
    # every line of a solution, and every line of a hidden test that the visible part of
    # its cell does not also contain, is absent from the release
    for cell in source.cells:
        visible = re.sub(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
        for kind, block in re.findall(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END", cell.source, re.S):
            for line in block.splitlines():
                line = line.strip()
                if len(line) > 12 and (kind == "SOLUTION" or line not in visible):
                    assert line not in text, f"{aid}: released notebook contains {line!r}"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_graded_cells_follow_the_course_conventions(aid):
    nb = read(source_notebook(aid))
    solutions = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")]
    tests = [c for c in nb.cells if is_test_cell(c)]
    assert solutions and tests
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    for cell in tests:
        meta = nbgrader_meta(cell)
        assert meta["grade_id"].startswith("test_") and meta["points"] > 0 and meta["locked"]
        assert any(meta["grade_id"].startswith(f"test_{f}") for f in solutions), \
            f"{meta['grade_id']} does not name the function it tests"
        # a test cell ending in an expression would hand nbgrader a "partial credit" value
        last = ast.parse(cell.source).body[-1]
        is_print = (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                    and getattr(last.value.func, "id", "") == "print")
        assert not isinstance(last, ast.Expr) or is_print, \
            f"{meta['grade_id']} ends with an expression: nbgrader would read its value as a score"
    for fn in solutions:
        assert any(nbgrader_meta(c)["grade_id"].startswith(f"test_{fn}") for c in tests), \
            f"function {fn} has no test cell"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_each_test_cell_passes_without_the_other_test_cells(aid):
    from fairness import run_each_test_alone

    results = run_each_test_alone(read(source_notebook(aid)))
    failing = {gid: msg for gid, msg in results.items() if msg}
    assert not failing, f"test cells that depend on other test cells: {failing}"
