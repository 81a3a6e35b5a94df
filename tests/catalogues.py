"""Each catalogue of submissions is graded once per test run; every test about it reads
that one grading.

A catalogue (the fairness mutants of an assignment, its honest answers, ...) is graded
as a class by the course's grader (``grade_class``: warm kernels, sandbox, trusted
checks, one worker). The first test worker that asks grades it under a file lock and
writes the results into ``_build/.test-catalogues/<run>/``; any other worker that asks
reads them. The warm-against-cold comparison grades the same catalogue once more with
every kernel cold, on the same secret inputs.

The grader's secret seed is drawn afresh for every test run (``REGCOURSE_TEST_SEED``
fixes it, to replay a failure); every assertion must hold whatever it is.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from lesson_cache import BUILD, RUN_ID

FOLDER = BUILD / ".test-catalogues" / RUN_ID
_factory = None


def shared_factory():
    """This test process's warm kernel factory, which every catalogue's grader borrows
    (each would otherwise pay the factory's imports, seconds); stopped when the process
    ends. None when kernels start cold here."""
    global _factory
    import atexit

    from regcourse.sandbox import kernel_factory

    if kernel_factory.cold_reason(None):
        return None
    if _factory is None or not _factory.alive():
        _factory = kernel_factory.KernelFactory()
        atexit.register(_factory.stop)
    return _factory


def slug(name: str, taken=()) -> str:
    """A student id for a catalogue entry's name."""
    student = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:50]
    while student in taken:
        student += "-again"
    return student


def run_seed() -> int:
    """This test run's secret seed for the grader's fresh inputs (the same in every worker)."""
    from filelock import FileLock

    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "seed"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            path.write_text(os.environ.get("REGCOURSE_TEST_SEED") or str(secrets.randbits(63)))
    return int(path.read_text())


def graded(name: str, assignment: str, notebooks: dict, cold: bool = False) -> dict:
    """``{student: Result}`` of the catalogue ``name``: ``notebooks`` maps student ids to
    notebooks of ``assignment``; graded once per run (per kind of kernel)."""
    from filelock import FileLock

    from regcourse.grading.batch import grade_class
    from regcourse.grading.grader import Grader
    from regcourse.grading.report import Result

    import submissions as sub

    seed = run_seed()
    path = FOLDER / f"{name}{'-cold' if cold else ''}.json"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            with tempfile.TemporaryDirectory(prefix=f"catalogue-{name}-") as tmp:
                course = sub.class_folder(Path(tmp) / "course", assignment, notebooks)
                # what grade_class would make itself, with this process's factory
                with Grader(course.root / course.source_directory, course.root / "nbgrader_config.py",
                            assignments=[assignment], cold=cold, seed=seed, for_class=True,
                            kernel_factory=None if cold else shared_factory()) as grader:
                    results = grade_class(course.root, assignment, jobs=1, progress=None, grader=grader)
            path.write_text(json.dumps({r.student: r.to_json() for r in results}))
    results = {s: Result.from_json(d) for s, d in json.loads(path.read_text()).items()}
    missing = notebooks.keys() - results.keys()
    assert not missing, f"catalogue {name}: {sorted(missing)} were not graded"
    return results


def seed_note() -> str:
    """For failure messages: how to replay this run's secret inputs."""
    return f"(secret seed {run_seed()}: REGCOURSE_TEST_SEED={run_seed()} replays it)"
