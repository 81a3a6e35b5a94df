"""The reference run: the course's own solutions and the trusted probe, in a process of
their own that never executes student code (as root, as a sandbox user of its own, so that
a solution cell never runs as root).

Its outputs are what the student's are compared with, and its times per cell set each
test cell's time limit. A warm kernel factory forks it when one answers
(:class:`regcourse.sandbox.kernel_factory.TrustedRun`); otherwise it starts cold, as
``python -m regcourse.grading.reference FOLDER`` with its task on stdin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..authoring.notebooks import is_test_cell, nbgrader_meta, read
from .trusted import PROBE_NAME, probe_body, probe_source


def reference_outputs(source_notebook: Path, assignment: str, folder: Path, factory: str = "", user=None):
    """Start the reference run (solution code + probe) in ``folder``; returns the process
    (forked from the warm kernel ``factory`` when one is given and answers).

    ``folder`` holds ``probe-in/``; the reference outputs land in ``folder/probe-out``.
    The grader reads the notebook; the code runs as ``user`` (a ``pwd`` entry) when one is
    given: as root the grader gives it a sandbox user of its own, so that a solution cell
    never runs as root (an instructor who edits one gets no more than a sandbox).
    """
    import functools

    from ..sandbox.kernel_factory import TrustedRun, write_task
    from ..sandbox.launch import drop_to
    from ..sandbox.slots import ONE_THREAD, sandbox_env

    env = sandbox_env(str(folder), "") if user else dict(os.environ)
    env.update({"MPLBACKEND": "Agg", **ONE_THREAD})
    task = write_task(folder, reference_sources(source_notebook, assignment), env, user.pw_name if user else "")
    if factory:
        try:
            return TrustedRun(factory, task, folder)
        except OSError:
            pass   # the factory is gone: start the run cold
    with open(task, "rb") as stdin:   # opened by the grader: the run's user cannot read the file
        return subprocess.Popen([sys.executable, "-m", "regcourse.grading.reference", str(folder)], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=folder, env=env,
                                preexec_fn=functools.partial(drop_to, user) if user else None)


def reference_sources(source_notebook: Path, assignment: str, keep_going: bool = False,
                      tests: bool = True, course_notebook: Path | None = None) -> list[tuple[str, str, bool]]:
    """What a reference run executes, as ``(name, source, may_fail)``: every code cell of
    the notebook (named by its grade id; the test cells too, unless ``tests`` is false, so
    that their times are known), then the probe, whose measurements use the upstream
    functions of ``course_notebook`` (default: this notebook). With ``keep_going`` every
    cell may fail, as in a kernel."""
    from .upstream import probe_table

    table = probe_table(Path(course_notebook or source_notebook), assignment)
    sources = []
    for index, cell in enumerate(read(source_notebook).cells):
        if cell.cell_type == "code" and (tests or not is_test_cell(cell)):
            name = nbgrader_meta(cell).get("grade_id") or f"cell-{index}"
            sources.append((name, cell.source, keep_going or is_test_cell(cell)))
    return sources + [(PROBE_NAME, probe_source(probe_body(assignment), course_versions=table), False)]


def run_reference(source_notebook: str, assignment: str, folder: str, keep_going: bool = False,
                  tests: bool = True, course_notebook: str | None = None) -> None:
    """Entry point of the reference process: the notebook's cells, then the probe, in
    ``folder``, timed (see :func:`regcourse.sandbox.kernel_factory.run_timed`).

    With ``keep_going`` a cell that fails is skipped, as a kernel would, and without
    ``tests`` the test cells are left out (both for running the probe on other notebooks
    than the solutions, in tests, with the upstream functions of ``course_notebook``)."""
    from ..sandbox.kernel_factory import TIMES_FILE, run_timed

    sources = reference_sources(Path(source_notebook), assignment, keep_going, tests,
                                Path(course_notebook) if course_notebook else None)
    os.chdir(folder)
    run_timed(sources, Path(folder) / TIMES_FILE)


def run_task(folder: str) -> None:
    """Entry point of a cold reference run: its task (see
    :func:`regcourse.sandbox.kernel_factory.write_task`) on stdin, run in ``folder``."""
    from ..sandbox.kernel_factory import TIMES_FILE, run_timed

    task = json.load(sys.stdin)
    os.chdir(folder)
    run_timed(task["sources"], Path(folder) / TIMES_FILE)




if __name__ == "__main__":
    run_task(sys.argv[1])
