"""`regcourse autograde`: parallel grading gives the sequential grades, and re-grading
replaces a student's grades and autograded notebook completely."""

import subprocess
import sys

import pytest

import submissions as sub
from regcourse.grading.batch import grade_class
from regcourse.sandbox.slots import Limits

AID = "warmup"
WRONG_HALF = ("def regularized_cost(X, y, w, lam):\n    if lam < 0:\n        raise ValueError(lam)\n"
              "    r = X @ w - y\n    return float(r @ r + 0.5 * lam * w @ w)")
CLASS = {
    "ada": sub.solution(AID),
    "bob": sub.exercise(AID),
    "cy": sub.with_function(AID, "regularized_cost", WRONG_HALF),
    "dee": sub.NOT_JSON,
    "eve": sub.with_function(AID, "regularized_cost", "import os\nos._exit(3)"),
}
EXPECTED = {"ada": 3.0, "bob": 0.0, "cy": 1.0, "dee": 0.0, "eve": 0.0}


def _grades(course, students=CLASS):
    return {s: [(x.grade_id, x.score) for x in course.scores(AID, s)] for s in students}


@pytest.mark.tier2
def test_parallel_grading_gives_the_sequential_grades(tmp_path):
    sequential = sub.class_folder(tmp_path / "one", AID, CLASS)
    parallel = sub.class_folder(tmp_path / "two", AID, CLASS)
    one = {r.student: r for r in grade_class(sequential.root, AID, jobs=1, progress=None)}
    two = {r.student: r for r in grade_class(parallel.root, AID, jobs=2, progress=None)}
    assert {s: r.score for s, r in one.items()} == EXPECTED
    assert {s: [(i.grade_id, i.score, i.message) for i in r.items] for s, r in one.items()} == \
           {s: [(i.grade_id, i.score, i.message) for i in r.items] for s, r in two.items()}
    assert _grades(sequential) == _grades(parallel)
    assert (sequential.root / "grades.csv").read_text() == (parallel.root / "grades.csv").read_text()


def test_a_class_s_workers_share_one_warm_factory_that_ends_with_the_grading(tmp_path, monkeypatch):
    """A class grading starts the warm kernel factory before anything else, and its pool
    workers fork every kernel from it: one factory's imports per class, not one per
    worker. It ends with the grading; no kernel started cold, and the grades are right."""
    import os

    from regcourse.sandbox import kernel_factory, provisioner

    if kernel_factory.cold_reason(None):
        pytest.skip(f"no warm kernels here: {kernel_factory.cold_reason(None)}")
    started = tmp_path / "factories"
    original = kernel_factory.KernelFactory.__init__

    def noted(self):   # in whichever process starts one (workers too: they are forked)
        original(self)
        with open(started, "a") as f:
            f.write(f"{os.getpid()} {self.process.pid}\n")

    monkeypatch.setattr(kernel_factory.KernelFactory, "__init__", noted)
    course = sub.class_folder(tmp_path / "course", AID, CLASS)
    results = grade_class(course.root, AID, jobs=2, progress=None)
    assert {r.student: r.score for r in results} == EXPECTED
    assert not [n for r in results for n in r.notes if provisioner.COLD_NOTE in n]
    factories = [line.split() for line in started.read_text().splitlines()]
    assert len(factories) == 1 and factories[0][0] == str(os.getpid()), factories
    assert not os.path.exists(f"/proc/{factories[0][1]}"), "the factory outlived the class grading"


@pytest.mark.tier2
def test_regrading_replaces_everything_even_when_the_new_submission_fails(tmp_path):
    course = sub.class_folder(tmp_path / "course", AID, {"ada": sub.solution(AID), "bob": sub.solution(AID)})
    grade_class(course.root, AID, jobs=1, progress=None)
    assert course.autograded_path("ada", AID).exists()
    assert sum(s.score for s in course.scores(AID, "ada")) == 3

    # ada resubmits a file that cannot be graded at all; bob is not re-graded
    sub.write(sub.NOT_JSON, course.submission_path("ada", AID))
    grade_class(course.root, AID, jobs=1, students=["ada"], progress=None)
    assert [s.score for s in course.scores(AID, "ada")] == [0.0, 0.0]
    assert not course.autograded_path("ada", AID).exists(), "a stale autograded notebook survived"
    assert sum(s.score for s in course.scores(AID, "bob")) == 3, "another student's grades changed"
    with course.gradebook() as gb:
        assert len(gb.find_student("ada").submissions) == 1


@pytest.mark.tier2
def test_command_line_prints_a_line_per_student(tmp_path):
    course = sub.class_folder(tmp_path / "course", AID, {"ada": sub.solution(AID), "bob": sub.NOT_JSON})
    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "autograde", AID, "--jobs", "2", "--quiet"],
                          cwd=course.root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "ada  3 / 3" in done.stdout and "bob  0 / 3  (see notes)" in done.stdout
    assert "2 submissions graded" in done.stdout


def test_command_line_refuses_a_folder_that_is_not_a_course(tmp_path):
    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "autograde", AID], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "not an nbgrader course folder" in done.stderr


def test_limits_come_from_the_command_line():
    from regcourse.cli import _limits, parser

    args = parser().parse_args(["autograde", "l2", "--cell-timeout", "7", "--time-limit", "90",
                                "--memory-mb", "512", "--output-kb", "64", "--min-seconds", "3",
                                "--cold-min-seconds", "12"])
    assert _limits(args) == Limits(memory_bytes=512 << 20, cell_seconds=7, submission_seconds=90,
                                   output_bytes=64 << 10, min_seconds=3, cold_min_seconds=12)


CRASH_CLASS = {**CLASS, "fay": sub.solution(AID), "gus": sub.with_function(AID, "regularized_cost", WRONG_HALF),
               "hal": sub.exercise(AID)}


def _autograde(course, **popen):
    return subprocess.Popen([sys.executable, "-m", "regcourse.cli", "autograde", AID, "--jobs", "2", "--quiet"],
                            cwd=course.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **popen)


def _journaled(course) -> int:
    """How many students' results the journal holds, read without touching it (a run may
    be appending to it): its complete lines that carry a result."""
    import json

    try:
        text = (course.root / f".autograde-{AID}" / "journal.jsonl").read_text()
    except OSError:
        return 0
    students = set()
    for line in text.splitlines(keepends=True)[1:]:
        try:
            event = json.loads(line) if line.endswith("\n") else {}
        except ValueError:
            break
        if "result" in event:
            students.add(event["student"])
    return len(students)


def test_a_journal_line_cut_short_by_a_kill_was_never_written(tmp_path):
    """The journal only grows, a line per event. A kill in the middle of a line leaves it
    cut short: the next run reads the lines before it, grades that student again, and
    appends after a journal mended to its whole lines."""
    import types

    from regcourse.grading.batch import Graded, Journal
    from regcourse.grading.report import Result

    course = types.SimpleNamespace(root=tmp_path)
    first = Journal(course, AID, "sources")
    first.graded(Graded(Result(AID, "ada", notes=["a"]), None), "ada's file")
    first.recorded("ada")
    first.graded(Graded(Result(AID, "bob"), None), "bob's file")
    lines = first.file.read_text().splitlines()
    assert len(lines) == 4 and '"recorded": "ada"' in lines[2], lines   # sources, ada, ada recorded, bob
    with open(first.file, "a") as f:
        f.write('{"student": "cy", "submission": "cy\'s f')   # the kill, mid-line
    again = Journal(course, AID, "sources")
    assert again.kept("ada", "ada's file")["recorded"] and again.kept("ada", "ada's file")["result"]["notes"] == ["a"]
    assert again.kept("bob", "bob's file")["recorded"] is False
    assert again.kept("ada", "a newer file") is None and "cy" not in again.students
    assert again.file.read_text().endswith("\n")
    again.graded(Graded(Result(AID, "cy"), None), "cy's file")
    third = Journal(course, AID, "sources")
    assert sorted(third.students) == ["ada", "bob", "cy"]
    assert Journal(course, AID, "changed sources").students == {} and not third.folder.exists()


@pytest.fixture(scope="module")
def whole_class(tmp_path_factory):
    """CRASH_CLASS graded by `regcourse autograde --jobs 2`, never interrupted."""
    whole = sub.class_folder(tmp_path_factory.mktemp("whole") / "course", AID, CRASH_CLASS)
    done = _autograde(whole)
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    return whole


@pytest.mark.tier2
def test_a_class_grading_killed_again_and_again_ends_as_an_uninterrupted_one(tmp_path, whole_class):
    """`kill -9` of `regcourse autograde` three times (while it starts, then each time the
    moment one more result is kept), then a run to the end: the gradebook and grades.csv equal those of a run never
    interrupted; no kept result is graded again, and each submission is there once."""
    import os
    import signal
    import time

    whole = whole_class
    crashed = sub.class_folder(tmp_path / "crashed", AID, CRASH_CLASS)
    kept_before = []
    for attempt in range(3):
        before = _journaled(crashed)
        run = _autograde(crashed)
        deadline = time.monotonic() + 300
        if attempt == 0:
            time.sleep(1.5)   # while it starts, before any result
        else:   # the moment one more result is kept: often between the journal and the gradebook
            while _journaled(crashed) <= before and run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate(timeout=60)   # nothing it started holds its pipes any longer
        kept_before.append(_journaled(crashed))
    print(f"results kept after each kill: {kept_before}")
    assert kept_before[-1] < len(CRASH_CLASS), "the kills came too late to interrupt anything"
    last = _autograde(crashed)
    out, err = last.communicate(timeout=600)
    assert last.returncode == 0, err
    if kept_before[-1]:
        assert f"kept {kept_before[-1]} results, grading {len(CRASH_CLASS) - kept_before[-1]}" in err, err
    assert _grades(crashed, CRASH_CLASS) == _grades(whole, CRASH_CLASS)
    assert (crashed.root / "grades.csv").read_text() == (whole.root / "grades.csv").read_text()
    with crashed.gradebook() as gb:
        for student in CRASH_CLASS:
            assert len(gb.find_student(student).submissions) == 1, student
    assert not (crashed.root / f".autograde-{AID}").exists(), "the finished run left its journal"


@pytest.mark.tier2
def test_the_class_report_counts_the_known_mistakes(whole_class):
    """`regcourse report` on a class graded by the course's grader: the counts are those
    the class was built with, and no line of a hidden test is on the page."""
    import csv

    from test_grading_cli import hidden_lines

    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "report", AID], cwd=whole_class.root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = (whole_class.root / "reports" / f"{AID}.html").read_text()
    table = list(csv.reader((whole_class.root / "reports" / f"{AID}.csv").open()))
    lost = {row[1]: (int(row[2]), row[3].split()) for row in table if row[0] == "points lost"}
    assert lost == {"test_regularized_cost": (6, ["bob", "cy", "dee", "eve", "gus", "hal"]),
                    "test_regularized_cost_rejects_negative_lam": (4, ["bob", "dee", "eve", "hal"])}
    known = {row[4]: row[3].split() for row in table if row[0] == "known mistake"}
    half = next(cause for cause in known if cause.startswith("The data term is 1/2"))
    todo = next(cause for cause in known if "NotImplementedError" in cause)
    assert known[half] == ["cy", "gus"] and known[todo] == ["bob", "hal"], known
    assert not [row for row in table if row[0] in ("needs review", "tampering")]
    leaked = [line for line in hidden_lines(AID) if line in page]
    assert not leaked, f"hidden test lines on the class report: {leaked[:3]}"
