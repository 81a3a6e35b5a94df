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


def _endless(*args, **kwargs):
    while True:
        pass


def _ran_out(*args, **kwargs):
    raise TimeoutError("ran past its time limit")


def _probe_in_a_child(body: str, folder, namespace: dict, course_versions: dict, seconds: float = 120):
    """run_probe_body in a forked child, which is killed after ``seconds``: a probe that
    never ends fails the test instead of holding it (the probe takes SIGALRM for itself)."""
    import os
    import signal
    import sys
    import time

    pid = os.fork()
    if pid == 0:
        try:
            # torch's thread pool does not survive a fork (this process may have used it)
            sys.modules["torch"].set_num_threads(1) if "torch" in sys.modules else None
            run_probe_body(body, folder, namespace, course_versions=course_versions)
        finally:
            os._exit(0)
    deadline = time.monotonic() + seconds
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the trusted check did not end within {seconds:g} s")
        time.sleep(0.05)
    return trusted.Outputs(folder / trusted.OUT_DIR)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_an_endless_loop_costs_no_cell_its_notebook_test_keeps_and_the_trusted_check_ends(aid, tmp_path):
    """Each function with test cells of its own in turn loops forever, in the course's own
    solutions. Whether the grader named it (all its test cells ran out of time) or not (each
    call then has its time limit), the trusted check runs to its end, and it fails no cell
    whose notebook test survives the same function running out of time: every call of a
    learner's function has a time limit, and a check that builds on an earlier function
    uses the course's."""
    import contextlib
    import io
    import json

    from regcourse.grading.upstream import own_tests, probe_table

    cells = read(source_notebook(aid)).cells
    tests = [c for c in cells if is_test_cell(c)]
    functions = [nbgrader_meta(c).get("grade_id") for c in cells
                 if c.cell_type == "code" and not is_test_cell(c) and nbgrader_meta(c).get("grade_id")]

    def learner(replace: str, by) -> dict:   # one namespace, as in a kernel
        ns: dict = {"__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in cells:
                if cell.cell_type == "code" and not is_test_cell(cell):
                    exec(compile(cell.source, "cell", "exec"), ns)
        ns[replace] = by
        return ns

    inputs = spec(aid).make_inputs(np.random.default_rng(0))
    reference = run_probe_in_process(source_notebook(aid), aid, inputs, tmp_path / "reference")
    body, table = trusted.probe_body(aid), probe_table(source_notebook(aid), aid)
    looped = 0
    for function in functions:
        own = own_tests(function, [nbgrader_meta(c)["grade_id"] for c in tests])
        if not own:
            continue
        notebook = learner(function, _ran_out)   # the notebook's tests, the function out of time
        lost = set()
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in tests:
                notebook["TEST_SEED"] = 0
                try:
                    exec(compile(cell.source, "test", "exec"), notebook)
                except Exception:  # noqa: BLE001 -- a failing test is a result
                    lost.add(nbgrader_meta(cell)["grade_id"])
        for named in (True, False):
            folder = tmp_path / f"{function}-{named}"
            trusted.write_inputs(inputs, folder / trusted.IN_DIR)
            (folder / trusted.IN_DIR / "__call_limits.json").write_text(
                json.dumps({"limits": {function: 0.3}, "ran_out": [function] if named else []}))
            out = _probe_in_a_child(body, folder, learner(function, _endless), table)
            checks = trusted.verdicts(aid, out, reference, inputs)
            failed = {gid for gid, why in checks.failed.items() if why is not None}
            assert checks.finished, (function, named)
            assert failed & own and failed <= lost, (function, named, failed, lost)
        looped += 1
    assert looped >= 1


def test_a_write_the_probe_had_not_finished_is_passed_over_never_called_forged(tmp_path):
    """The probe writes each value beside its place and then moves it there. Stopped in the
    middle of a write (at a time limit), it leaves a ``.part`` that is never read and is no
    evidence of anything: a torn value once made an honest endless loop look forged. A torn
    file under a value's own name was not left by the probe, and stays evidence."""
    import textwrap

    trusted.write_inputs({}, tmp_path / trusted.IN_DIR)
    out = run_probe_body(textwrap.dedent('''
        save("whole", np.arange(3.0))
    '''), tmp_path)
    assert sorted(p.name for p in out.folder.iterdir()) == ["probe_complete.json", "whole.npy"]
    (out.folder / "cut.json.part").write_text('{"__error__": ["Keyboard')   # stopped here
    out = trusted.Outputs(out.folder)
    assert out.forgeries() == []
    assert isinstance(out["cut"], trusted.Missing) and np.array_equal(out["whole"], np.arange(3.0))
    (out.folder / "cut.json").write_text('{"__error__": ["Keyboard')
    assert trusted.Outputs(out.folder).forgeries() == ["cut.json is not plain JSON (JSONDecodeError)"]
    (out.folder / "notes.txt.part").write_text("")
    assert "notes.txt.part is not a file the probe writes" in trusted.Outputs(out.folder).forgeries()
