"""The trusted checks never fail a correct answer, and each graded cell has one."""

import numpy as np
import pytest

from conftest import ASSIGNMENTS
from fairness import run_probe_in_process
from regcourse.grading import trusted
from regcourse.grading.checks import spec
from regcourse.authoring.notebooks import is_test_cell, nbgrader_meta, read, source_notebook


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_graded_cell_has_a_trusted_check(aid):
    cells = [nbgrader_meta(c)["grade_id"] for c in read(source_notebook(aid)).cells if is_test_cell(c)]
    assert sorted(spec(aid).CHECKS) == sorted(cells)


@pytest.mark.tier2
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_reference_passes_its_own_checks_over_20_seeds(aid, tmp_path):
    """Two independent runs of the solutions (as student and as reference) always agree."""
    for seed in range(20):
        inputs = spec(aid).make_inputs(np.random.default_rng(seed))
        student = run_probe_in_process(source_notebook(aid), aid, inputs, tmp_path / f"s{seed}")
        reference = run_probe_in_process(source_notebook(aid), aid, inputs, tmp_path / f"r{seed}")
        checks = trusted.verdicts(aid, student, reference, inputs)
        assert checks.finished and not checks.forged, (seed, checks)
        assert all(v is None for v in checks.failed.values()), (seed, checks.failed)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_diverging_lasso_path_fails_the_objective_check(bad, tmp_path):
    """NaN compares false with everything: a path that turns NaN must not pass as decreasing."""
    from regcourse.grading.checks import l1

    inputs = l1.make_inputs(np.random.default_rng(0))
    reference = run_probe_in_process(source_notebook("l1"), "l1", inputs, tmp_path)
    assert l1.check_objective(reference, reference, inputs) is None  # the reference passes
    diverging = {name: reference[name] for name in
                 (f"path_{i}_{k}" for i in range(len(l1.OBJECTIVE_LAMS)) for k in l1.ITERATIONS)}
    for i in range(len(l1.OBJECTIVE_LAMS)):
        for k in l1.ITERATIONS[3:]:
            diverging[f"path_{i}_{k}"] = np.full(30, bad)
    with pytest.raises(trusted.Wrong, match="not finite after 8 iterations"):
        l1.check_objective(diverging, reference, inputs)
