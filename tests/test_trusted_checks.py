"""The trusted checks never fail a correct answer, and each graded cell has one."""

import numpy as np
import pytest

from conftest import ASSIGNMENTS
from fairness import run_probe_body, run_probe_in_process
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


def test_a_function_whose_test_cells_all_ran_out_of_time_is_charged_once_and_not_called_again(tmp_path):
    """An endless loop waits out its test cells' limit once, in the notebook. The grader
    then names the function to the probe, which does not call it: its checks read "ran out
    of time", as after a first call that ran out. A function with one test cell that
    finished is still called, and so is every other function."""
    import json
    import textwrap

    from regcourse.grading.execute import SafeExecute
    from regcourse.sandbox.kernel_factory import TIMES_FILE

    # the grader's side: which functions it names, from the reference run's cells
    reference, inputs = tmp_path / "reference", tmp_path / "probe-in"
    reference.mkdir()
    cells = {"sparsity": 0.0002, "test_sparsity": 0.0008, "lasso_ista": 0.0002, "test_lasso_ista": 0.04,
             "test_lasso_ista_objective_decreases": 0.007, "soft_threshold": 0.0001, trusted.PROBE_NAME: 0.1}
    (reference / TIMES_FILE).write_text(json.dumps({"cells": cells, "done": True}))
    trusted.write_inputs({}, inputs)
    step = SafeExecute(reference_folder=str(reference), probe_inputs=str(inputs), timeout=10)
    step._ran_out = {"test_sparsity", "test_lasso_ista"}   # as async_execute_cell records them
    step._write_call_limits()
    written = json.loads((inputs / "__call_limits.json").read_text())
    assert written["ran_out"] == ["sparsity"], written   # lasso_ista's second test cell finished
    # no kernel forked here: the floor of a cold kernel, above 100 times the reference
    assert written["limits"] == {"sparsity": step.cold_min_seconds, "lasso_ista": step.cold_min_seconds}, written

    # the probe's side: the function named is never called
    calls = []
    learner = {"sparsity": lambda w: calls.append("sparsity") or 0.5,
               "lasso_ista": lambda w: calls.append("lasso_ista") or w}
    body = textwrap.dedent('''
        call("sparse", "sparsity", np.ones(3))
        call("lasso", "lasso_ista", np.ones(3))
        example("example__test_sparsity__0", "test_sparsity", "sparsity(np.zeros(2))")
    ''')
    out = run_probe_body(body, tmp_path, learner)
    assert calls == ["lasso_ista"]
    for name in ("sparse", "example__test_sparsity__0"):
        assert isinstance(out[name], trusted.Raised) and out[name].is_a("TimeoutError"), out[name]
    assert np.array_equal(out["lasso"], np.ones(3))
