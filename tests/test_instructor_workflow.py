"""The instructor's loop with nbgrader's own commands, end to end on one machine:
release, two students fetch, edit and submit, collect, autograde, feedback out and back,
export; then the same class re-graded by `regcourse autograde` gives the same grades."""

import csv
import html
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from regcourse.authoring.notebooks import REPO, nbgrader_meta

pytestmark = pytest.mark.tier2   # nbgrader's whole loop for a class: `make test-all`

COURSE = "regcourse"
AID = "warmup"
ANSWERS = {  # what each student types into the solution cell, and the points it earns
    "alice": ("def regularized_cost(X, y, w, lam):\n    if lam < 0:\n        raise ValueError(lam)\n"
              "    r = X @ w - y\n    return float(0.5 * r @ r + 0.5 * lam * w @ w)", 3.0),
    "bob": ("def regularized_cost(X, y, w, lam):\n    if lam < 0:\n        raise ValueError(lam)\n"
            "    r = X @ w - y\n    return float(r @ r + lam * w @ w)", 1.0),
}
# A student's nbgrader commands run as that student: nbgrader takes the name from the
# operating-system account, which this stand-in replaces for the one process.
AS_STUDENT = ("import sys, nbgrader.utils as u; name = sys.argv.pop(1); u.get_osusername = lambda: name; "
              "from nbgrader.apps.nbgraderapp import main; sys.exit(main())")


# nbgrader runs `alembic` through PATH: put this environment's tools first, as `make` does
ENV = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}


def nbgrader(*args, cwd, student=None):
    command = [sys.executable, "-c", AS_STUDENT, student] if student else [sys.executable, "-m", "nbgrader"]
    # each student has a home of their own, as on a hub: nbgrader keeps their submission cache there
    env = {**ENV, "HOME": str(cwd), "JUPYTER_DATA_DIR": str(cwd / ".jupyter-data")} if student else ENV
    done = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    root = tmp_path_factory.mktemp("workflow")
    course, exchange = root / "course", root / "exchange"
    course.mkdir()
    exchange.mkdir()
    exchange.chmod(0o777)
    config = (REPO / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + f"\nc.Exchange.root = {str(exchange)!r}\n")
    shutil.copytree(REPO / "solutions" / AID, course / "solutions" / AID)

    nbgrader("generate_assignment", AID, cwd=course)
    nbgrader("release_assignment", AID, cwd=course)
    for student, (answer, _) in ANSWERS.items():
        home = root / student
        home.mkdir()
        exchange_option = f"--Exchange.root={exchange}"
        nbgrader("fetch_assignment", AID, f"--course={COURSE}", exchange_option, cwd=home, student=student)
        path = home / AID / f"{AID}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "regularized_cost")
        cell.source = answer
        nbformat.write(nb, str(path))
        nbgrader("submit", AID, f"--course={COURSE}", exchange_option, cwd=home, student=student)
    nbgrader("collect", AID, cwd=course)
    nbgrader("autograde", AID, cwd=course)
    nbgrader("generate_feedback", AID, cwd=course)
    nbgrader("release_feedback", AID, cwd=course)
    for student in ANSWERS:
        nbgrader("fetch_feedback", AID, f"--course={COURSE}", f"--Exchange.root={exchange}",
                 cwd=root / student, student=student)
    nbgrader("export", cwd=course)
    return root, course


def _exported(course):
    with open(course / "grades.csv") as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f) if row["assignment"] == AID}


def test_export_has_the_right_scores(classroom):
    _, course = classroom
    assert _exported(course) == {s: points for s, (_, points) in ANSWERS.items()}


def test_students_fetch_feedback_without_hidden_tests(classroom):
    root, _ = classroom
    for student in ANSWERS:
        pages = list((root / student / AID / "feedback").rglob(f"{AID}.html"))
        assert len(pages) == 1, f"{student} fetched {len(pages)} feedback pages"
        page = html.unescape(pages[0].read_text())
        assert "regularized_cost" in page
        assert "BEGIN HIDDEN TESTS" not in page and "_check_cost" not in page


def test_regcourse_autograde_regrades_the_collected_class_alike(classroom):
    _, course = classroom
    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "autograde", AID, "--quiet"], cwd=course,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    nbgrader("generate_feedback", AID, "--force", cwd=course)
    nbgrader("export", cwd=course)
    assert _exported(course) == {s: points for s, (_, points) in ANSWERS.items()}
    page = html.unescape((course / "feedback" / "bob" / AID / f"{AID}.html").read_text())
    assert "Grading report" in page and "_check_cost" not in page
