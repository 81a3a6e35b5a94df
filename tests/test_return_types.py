"""The grader accepts every answer its own tests accept, in whatever container it comes.

The notebooks' tests read results with ``np.asarray``, so a function may return a list, a
tuple or a tensor where the contract says array, and a dict of lists where it says dict
of arrays. Each solution function is wrapped to return each of these in turn; wherever the
notebook's own test of that function still passes, its trusted check must pass too.
"""

import textwrap

import numpy as np
import pytest

from conftest import ASSIGNMENTS
from fairness import run_each_test_alone, run_probe_body, run_probe_in_process
from regcourse.grading import trusted
from regcourse.grading.checks import spec
from regcourse.grading.upstream import own_tests
from regcourse.authoring.notebooks import is_test_cell, nbgrader_meta, read, source_notebook, with_cell_source

# how a value comes back: arrays (1-d and up) become these; dicts hold them; a tuple of
# arrays (dropout_forward's (out, mask)) becomes a list
CONTAINERS = {
    "list": "list(value)",
    "tuple": "tuple(value)",
    "tensor": "__import__('torch').from_numpy(np.ascontiguousarray(value))",
}
WRAPPER = '''

def __as_{kind}(value):
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        return {expression}
    if isinstance(value, dict):
        return {{key: (list(v) if isinstance(v, np.ndarray) and v.ndim >= 1 else v) for key, v in value.items()}}
    if isinstance(value, tuple) and len(value) > 1:
        return list(value)
    return value


__returns_{kind} = {function}


def {function}(*args, **kwargs):
    return __as_{kind}(__returns_{kind}(*args, **kwargs))
'''


def functions(aid: str) -> list[str]:
    """The graded functions of ``aid`` (a solution cell with test cells of its own)."""
    nb = read(source_notebook(aid))
    tests = [nbgrader_meta(c)["grade_id"] for c in nb.cells if is_test_cell(c)]
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells
            if nbgrader_meta(c).get("solution") and c.cell_type == "code" and own_tests(nbgrader_meta(c)["grade_id"], tests)]


def wrapped(aid: str, function: str, kind: str):
    nb = read(source_notebook(aid))
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == function)
    source = cell.source + WRAPPER.format(kind=kind, expression=CONTAINERS[kind], function=function)
    return with_cell_source(nb, function, source)


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    cache = {}

    def reference(aid):
        if aid not in cache:
            inputs = spec(aid).make_inputs(np.random.default_rng(7))
            cache[aid] = inputs, run_probe_in_process(source_notebook(aid), aid, inputs,
                                                       tmp_path_factory.mktemp(f"reference-{aid}"))
        return cache[aid]
    return reference


CASES = [(aid, function) for aid in ASSIGNMENTS for function in functions(aid)]


@pytest.mark.tier2
@pytest.mark.parametrize("aid, function", CASES, ids=[f"{a}-{f}" for a, f in CASES])
def test_every_container_the_tests_accept_passes_the_trusted_check(aid, function, references, tmp_path):
    import nbformat

    inputs, reference = references(aid)
    for kind in CONTAINERS:
        nb = wrapped(aid, function, kind)
        own = own_tests(function, spec(aid).CHECKS)
        passed = {gid for gid, error in run_each_test_alone(nb).items() if gid in own and error is None}
        path = tmp_path / kind / f"{aid}.ipynb"
        path.parent.mkdir()
        nbformat.write(nb, str(path))
        student = run_probe_in_process(path, aid, inputs, tmp_path / kind / "run")
        checks = trusted.verdicts(aid, student, reference, inputs)
        refused = {gid: checks.failed[gid] for gid in passed if checks.failed.get(gid)}
        assert not refused, f"{function} returning a {kind}: the notebook's tests pass, the grader refuses: {refused}"


def test_the_probe_stores_a_list_of_arrays_as_one_array(tmp_path):
    """The case that scored 0: sgd_momentum_trajectory returning a list of arrays passes the
    notebook's tests, and its trusted check too."""
    nb = wrapped("weight_decay", "sgd_momentum_trajectory", "list")
    namespace = {}
    for cell in nb.cells:   # the wrapper does return a list
        if cell.cell_type == "code" and not is_test_cell(cell):
            exec(compile(cell.source, "cell", "exec"), namespace)
    assert isinstance(namespace["sgd_momentum_trajectory"](np.zeros(2), [np.ones(2)] * 3, 0.1, 0.9, 0.0), list)
    assert run_each_test_alone(nb)["test_sgd_momentum_trajectory"] is None   # the notebook's tests accept it
    inputs = spec("weight_decay").make_inputs(np.random.default_rng(3))
    import nbformat

    path = tmp_path / "weight_decay.ipynb"
    nbformat.write(nb, str(path))
    student = run_probe_in_process(path, "weight_decay", inputs, tmp_path / "student")
    reference = run_probe_in_process(source_notebook("weight_decay"), "weight_decay", inputs, tmp_path / "reference")
    assert isinstance(student["momentum_0"], np.ndarray)
    checks = trusted.verdicts("weight_decay", student, reference, inputs)
    assert checks.failed["test_sgd_momentum_trajectory"] is None, checks.failed


def test_a_value_the_grader_cannot_store_is_the_graders_problem(tmp_path):
    """A value with no array form (arrays of different shapes in a list) is reported as the
    grader's limit, never as an exception of the learner's."""
    folder = tmp_path / "probe-in"
    trusted.write_inputs({}, folder)
    body = textwrap.dedent('''
        ns["ragged"] = lambda: [np.zeros(2), object()]
        call("ragged", "ragged")
    ''')
    value = run_probe_body(body, tmp_path)["ragged"]
    assert isinstance(value, trusted.Unstorable), value
    with pytest.raises(trusted.Wrong, match="a limit of the grader, not a mistake of yours"):
        trusted.array(trusted.Outputs(tmp_path / trusted.OUT_DIR), "ragged", what="ragged()")
