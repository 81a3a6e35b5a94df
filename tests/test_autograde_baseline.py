"""nbgrader's own autograde: every solution earns full marks, every untouched release 0."""

import pytest

from regcourse.authoring.notebooks import released_notebook, source_notebook

from conftest import ASSIGNMENTS

pytestmark = pytest.mark.tier2   # plain nbgrader on every assignment: `make test-all`


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_solution_autogrades_to_full_marks(aid, course):
    course.submit("teacher", aid, source_notebook(aid))
    result = course.autograde(aid, "teacher")
    assert result["success"], result.get("log")
    written = set(course.written_answers(aid))   # graded by hand: nbgrader leaves them at 0
    scores = [s for s in course.scores(aid, "teacher") if s.grade_id not in written]
    assert scores and all(s.score == s.max_score > 0 for s in scores), scores


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_untouched_release_autogrades_to_zero(aid, course):
    course.submit("nobody", aid, released_notebook(aid))
    result = course.autograde(aid, "nobody")
    assert result["success"], result.get("log")
    scores = course.scores(aid, "nobody")
    assert scores and all(s.score == 0 for s in scores), scores
    assert sum(s.max_score for s in scores) > 0
