"""exercises/ is exactly nbgrader's release of solutions/, and gives nothing away."""

import ast
import re

import pytest

from regcourse.authoring.notebooks import REPO, is_test_cell, nbgrader_meta, read, released_notebook, source_notebook, written_answers
from regcourse.authoring.release import assignment_ids, generate

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
    # every line of a solution or of a hidden test is absent from the release, unless the
    # source also shows it to learners elsewhere (a visible test, the setup cell): then the
    # release repeats public code and gives nothing away
    public = "\n".join(re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END (SOLUTION|HIDDEN TESTS)", "",
                              c.source, flags=re.S) for c in source.cells)
    for cell in source.cells:
        for kind, block in re.findall(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END", cell.source, re.S):
            for line in block.splitlines():
                line = line.strip()
                if len(line) > 12 and line not in public:
                    assert line not in text, f"{aid}: released notebook contains {line!r}"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_graded_cells_follow_the_course_conventions(aid):
    nb = read(source_notebook(aid))
    solutions = [nbgrader_meta(c)["grade_id"] for c in nb.cells
                 if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    tests = [c for c in nb.cells if is_test_cell(c)]
    for cell in written_answers(nb):   # graded by hand: points, unlocked, a model answer for graders
        meta = nbgrader_meta(cell)
        assert meta["grade_id"].startswith("question_") and meta["points"] > 0 and not meta["locked"]
        assert "### BEGIN SOLUTION" in cell.source and "Rubric" in cell.source, f"{meta['grade_id']}: no rubric"
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


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_the_notebook_header_publishes_the_points_table(aid):
    """The intro cell's "## Points" table is the one the cells' metadata implies."""
    from regcourse.authoring.notebooks import point_rows

    nb = read(source_notebook(aid))
    header = nb.cells[0].source
    assert "## Points" in header, f"{aid}: the first cell has no points table"
    table = [line for line in header.split("## Points")[1].splitlines() if line.startswith("| ")][1:]
    rows = point_rows(nb)
    expected = [f"| {task} | {by} | {points:g} |" for task, by, points in rows]
    expected.append(f"| **total** | | **{sum(p for *_, p in rows):g}** |")
    assert table == expected, f"{aid}: the header's points table is out of date"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_each_part_states_its_points(aid):
    """A heading "## ... (N points)" announces the points of the tasks in its part."""
    from regcourse.authoring.notebooks import point_rows

    nb = read(source_notebook(aid))
    points = {task.strip("`"): p for task, _, p in point_rows(nb)}
    parts, current = [], None
    for cell in nb.cells:
        heading = re.match(r"## .*\(([\d.]+) points?", cell.source) if cell.cell_type == "markdown" else None
        if heading:
            current = [float(heading.group(1)), 0.0]
            parts.append(current)
        meta = nbgrader_meta(cell)
        if current is not None and meta.get("solution"):
            current[1] += points[meta["grade_id"]] if cell.cell_type == "code" else meta["points"]
    assert parts, f"{aid}: no heading states its points"
    assert all(announced == counted for announced, counted in parts), f"{aid}: (announced, counted) = {parts}"
