"""Machinery of the fairness tests: swap a wrong implementation into a solution notebook,
grade it, and compare the points each test cell keeps or loses."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import catalogues
from regcourse.authoring.notebooks import is_test_cell, nbgrader_meta, read, source_notebook, with_cell_source


@dataclass(frozen=True)
class Mutant:
    """A submission: the solution notebook with the solution cells in ``cells`` replaced.

    ``loses`` are the test cells that must score 0 (every other cell keeps its points),
    ``says`` words the messages of those cells must contain, and ``notes`` words the
    report's notes must contain (a cell that failed to run, for example).
    """

    name: str
    cells: tuple[tuple[str, str], ...]    # (grade_id of a solution cell, its new source)
    loses: frozenset[str]
    says: str
    notes: str = ""

    def __str__(self):
        return self.name

    def notebook(self, assignment: str):
        nb = read(source_notebook(assignment))
        for grade_id, source in self.cells:
            nb = with_cell_source(nb, grade_id, source)
        return nb


def mutant(name, function, source, loses, says, notes=""):
    """A plausible answer that changes one function (``loses`` empty: a correct one)."""
    return Mutant(name, ((function, source),), frozenset(loses), says, notes)


def check_mutant(result, m: Mutant):
    """The grading ``result`` of ``m`` loses exactly the points of ``m.loses``, says why,
    and is never called tampering (nor sent for review: the notebook's own tests see every
    catalogued mistake)."""
    scores = {i.grade_id: i for i in result.items}
    unknown = m.loses - scores.keys()
    assert not unknown, f"catalogue names unknown test cells {unknown}"
    assert not result.tampering, f"{m.name}: an honest submission was called tampering: {result.tampering}"
    assert not result.reviews, f"{m.name}: the notebook's tests missed what the grader's check found: {result.reviews}"
    for gid, item in scores.items():
        if gid in m.loses:
            assert item.score == 0, f"{m.name}: {gid} kept {item.score}/{item.max_score} points"
        else:
            assert item.passed or item.pending, f"{m.name}: {gid} lost points ({item.score}/{item.max_score}): {item.message}"
    said = " | ".join(scores[g].message for g in m.loses)
    assert m.says.lower() in said.lower(), f"{m.name}: feedback does not name the mistake: {said}"
    notes = " | ".join(result.problems)
    assert m.notes.lower() in notes.lower(), f"{m.name}: the notes do not say {m.notes!r}: {notes}"
    without = [g for g in m.loses if not scores[g].hint]
    assert not without, f"{m.name}: no hint (likely cause) for the lost cells {without}: {said}"
    return result


def run_probe_in_process(notebook, assignment: str, inputs: dict, folder):
    """The grader's probe on ``notebook``'s code, in this process (as the reference run
    does, but skipping cells that fail, as a kernel would), on ``inputs``, in ``folder``:
    the Outputs."""
    import os

    from regcourse.grading import reference, trusted

    trusted.write_inputs(inputs, folder / trusted.IN_DIR)
    here = os.getcwd()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            reference.run_reference(str(notebook), assignment, str(folder), keep_going=True, tests=False,
                                  course_notebook=str(source_notebook(assignment)))  # it moves into folder
    finally:
        os.chdir(here)
    return trusted.Outputs(folder / trusted.OUT_DIR)


def run_probe_body(body: str, folder, namespace: dict | None = None, course_versions: dict | None = None):
    """A probe made of ``body`` run in this process, in ``folder`` (whose ``probe-in/`` the
    caller wrote), in the learner's ``namespace`` (the globals of their functions, as in a
    kernel), with the course's versions of upstream functions
    (:func:`regcourse.grading.upstream.probe_table`): the Outputs."""
    import os

    from regcourse.grading import trusted

    here = os.getcwd()
    os.chdir(folder)
    try:
        source = trusted.probe_source(body, course_versions=course_versions)
        exec(compile(source, "probe", "exec"), {"__name__": "__main__"} if namespace is None else namespace)
    finally:
        os.chdir(here)
    return trusted.Outputs(folder / trusted.OUT_DIR)


def run_tests_in_process(nb, seed: int) -> dict[str, str | None]:
    """Execute ``nb`` in this process with ``TEST_SEED = seed`` before every test cell.

    Returns ``{grade_id: None}`` for passing test cells and the error text for failing ones.
    """
    namespace: dict = {}
    results: dict[str, str | None] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                namespace["TEST_SEED"] = seed
                try:
                    exec(compile(cell.source, nbgrader_meta(cell)["grade_id"], "exec"), namespace)
                    results[nbgrader_meta(cell)["grade_id"]] = None
                except Exception as exc:  # noqa: BLE001 -- a failing test is a result
                    results[nbgrader_meta(cell)["grade_id"]] = f"{type(exc).__name__}: {exc}"
            else:
                exec(compile(cell.source, "cell", "exec"), namespace)
    return results


def run_each_test_alone(nb, seed: int = 0) -> dict[str, str | None]:
    """Run every test cell after the non-test cells only, never after another test cell.

    A test cell that fails here depends on something another test cell defines, so a
    learner who fails one function would lose the points of another: unfair.
    """
    setup = [c.source for c in nb.cells if c.cell_type == "code" and not is_test_cell(c)]
    results: dict[str, str | None] = {}
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        namespace: dict = {}
        with contextlib.redirect_stdout(io.StringIO()):
            for source in setup:
                exec(compile(source, "cell", "exec"), namespace)
            namespace["TEST_SEED"] = seed
            gid = nbgrader_meta(cell)["grade_id"]
            try:
                exec(compile(cell.source, gid, "exec"), namespace)
                results[gid] = None
            except Exception as exc:  # noqa: BLE001 -- a failing test is a result
                results[gid] = f"{type(exc).__name__}: {exc}"
    return results


def check_passes_over_seeds(assignment: str, nb=None, seeds: int = 20) -> None:
    """Every test cell of ``nb`` (default: the solution) passes for each of ``seeds`` seeds."""
    nb = nb if nb is not None else read(source_notebook(assignment))
    cells = sum(1 for c in nb.cells if is_test_cell(c))
    for seed in range(seeds):
        results = run_tests_in_process(nb, seed)
        assert len(results) == cells and all(v is None for v in results.values()), (seed, results)


def students(entries) -> dict[str, Mutant]:
    """Student id -> catalogue entry, for a list of entries of one assignment."""
    found: dict[str, Mutant] = {}
    for m in entries:
        found[catalogues.slug(m.name, found)] = m
    return found


def graded_entries(kind: str, assignment: str, entries) -> dict[str, tuple[Mutant, object]]:
    """Student id -> (entry, its Result): the catalogue ``kind`` of ``assignment``, graded
    once per test run (see catalogues.py)."""
    named = students(entries)
    results = catalogues.graded(f"{kind}-{assignment}", assignment,
                                {s: m.notebook(assignment) for s, m in named.items()})
    return {s: (m, results[s]) for s, m in named.items()}


def result_of(kind: str, assignment: str, entries, m: Mutant):
    """The Result of the entry ``m`` of the catalogue ``kind`` of ``assignment``."""
    (result,) = [r for entry, r in graded_entries(kind, assignment, entries).values() if entry is m]
    return result
