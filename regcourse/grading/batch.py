"""Grading a whole class: every submission of an assignment, in parallel, with one writer.

``regcourse autograde ASSIGNMENT --jobs N``, run in an nbgrader course folder, grades
each ``submitted/<student>/<assignment>/`` in a pool of N worker processes (each
submission in its own private course folder and sandbox), and records each result in the
course's gradebook as it arrives, from this process alone, because SQLite does not take
concurrent writers. A student's earlier grades and autograded notebook are replaced, never
merged: nothing stale survives a failed re-grade. It finally writes ``grades.csv``.

A crash (``kill -9``, a power cut) loses nothing graded: each result is first appended to
a journal (:class:`Journal`, ``.autograde-<assignment>/`` in the course folder, with the
autograded notebook), then written to the gradebook. The next run finds the journal, keeps
every result whose submission is still the same file, records again any it had not
finished recording, and grades only the rest; a submission collected again since (another
file) is graded anew. A run that ends removes its journal, so the run after it grades the
whole class again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .class_report import keep_result
from .course import Course, write_grades
from .feedback import add_report
from .grader import Grader
from .report import Result
from ..sandbox.kernel_factory import KernelFactory, cold_reason
from ..sandbox.slots import Limits, require_private

_grader: Grader | None = None  # the worker processes inherit it through fork


@dataclass
class Graded:
    result: Result
    autograded: str | None  # the private autograded notebook, if nbgrader produced one


def find_notebook(folder: Path, assignment: str) -> tuple[Path | None, str | None]:
    """The submitted notebook in ``folder`` and a note if it had to be guessed."""
    expected = folder / f"{assignment}.ipynb"
    if expected.is_file():
        return expected, None
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []
    if len(candidates) == 1:
        return candidates[0], f"the notebook was named {candidates[0].name}; graded it as {assignment}.ipynb"
    if candidates:
        return None, f"{len(candidates)} notebooks and none named {assignment}.ipynb: which one to grade is unclear"
    return None, f"no notebook was submitted ({assignment}.ipynb is missing)"


def fingerprint(*paths: Path) -> str:
    """What identifies a file's contents (a submission, the sources): their sha256."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
    return digest.hexdigest()


def submission_fingerprint(folder: Path, assignment: str) -> str:
    """The submitted notebooks and the submission's time stamp: another collect, another print."""
    return fingerprint(*sorted(folder.glob("*.ipynb")), folder / "timestamp.txt")


class Journal:
    """What one class grading has graded and recorded, kept across a crash (see the module).

    ``journal.jsonl`` holds one line per event, appended and flushed to disk: first the
    fingerprint of the sources, then, for each result, the student, the fingerprint of the
    submission graded, the result and where its autograded notebook is kept, and a second
    line once it reached the gradebook. Appending costs the same at the first student and
    the five hundredth (rewriting a whole journal per result made a class pay its square).
    A kill can cut only the last line short; a line cut short was never written, and is
    dropped before the next run appends."""

    def __init__(self, course: Course, assignment: str, sources: str):
        self.folder = course.root / f".autograde-{assignment}"
        self.file = self.folder / "journal.jsonl"
        self.sources = sources
        self.students: dict[str, dict] = {}
        self._out = None
        lines, whole = self._read()
        if lines and lines[0].get("sources") == sources:   # the same solutions and tests: its grades hold
            for event in lines[1:]:
                if "result" in event:
                    self.students[event["student"]] = {**event, "recorded": False}
                elif event.get("recorded") in self.students:
                    self.students[event["recorded"]]["recorded"] = True
        if not self.students:
            if self.folder.exists():
                shutil.rmtree(self.folder)
        elif not whole:   # the next line must not be glued to a torn one
            self._replace(lines)

    def _read(self) -> tuple[list[dict], bool]:
        """The journal's complete lines, and whether it holds nothing else."""
        try:
            text = self.file.read_text()
        except (OSError, UnicodeDecodeError):
            return [], True
        lines = []
        for line in text.splitlines(keepends=True):
            try:
                if not line.endswith("\n"):
                    raise ValueError("cut short")
                lines.append(json.loads(line))
            except ValueError:
                return lines, False
        return lines, True

    def _replace(self, lines: list[dict]) -> None:
        draft = self.file.with_suffix(".new")
        with open(draft, "w") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(draft, self.file)

    def kept(self, student: str, submission: str) -> dict | None:
        """The journal's entry for ``student`` if it graded this very submission."""
        entry = self.students.get(student)
        return entry if entry and entry["submission"] == submission else None

    def graded(self, g: "Graded", submission: str) -> "Graded":
        """Keep ``g`` (and its autograded notebook) before anything reaches the gradebook."""
        student = g.result.student
        kept = None
        if g.autograded:
            target = self.folder / "autograded" / student
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(Path(g.autograded).parent, target)
            kept = str(target / Path(g.autograded).name)
        entry = {"student": student, "submission": submission, "result": g.result.to_json(), "autograded": kept}
        self._append(entry)
        self.students[student] = {**entry, "recorded": False}
        return Graded(g.result, kept)

    def recorded(self, student: str) -> None:
        self._append({"recorded": student})
        self.students[student]["recorded"] = True

    def _append(self, event: dict) -> None:
        if self._out is None:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            new = not self.file.exists()
            self._out = open(self.file, "a")
            if new:
                self._out.write(json.dumps({"sources": self.sources}) + "\n")
        self._out.write(json.dumps(event) + "\n")
        self._out.flush()
        os.fsync(self._out.fileno())

    def close(self) -> None:
        """The run is over: the next one grades the class again."""
        if self._out is not None:
            self._out.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _forget_factory_pipe() -> None:
    """In each pool worker: the factory ends when the class grading does, not when the
    last worker does (a worker left behind by a crash holds no factory up)."""
    factory = _grader._factory if _grader is not None else None
    if factory is not None:
        factory.forget_in_child()


def _grade_student(task: tuple[str, str, str]) -> Graded:
    folder, assignment, student = task
    assert _grader is not None
    notebook, note = find_notebook(Path(folder), assignment)
    if notebook is None:
        result = Result(assignment, student, _grader._zeros(assignment, "not graded: no notebook"), [note])
        return Graded(result, None)
    run = _grader.grade(notebook, assignment, student)
    if note:
        run.result.problems.insert(0, note)
    return Graded(run.result, str(run.autograded) if run.autograded.exists() else None)


def grade_class(course_root: Path, assignment: str, jobs: int | None = None, limits: Limits = Limits(),
                students: list[str] | None = None, progress=sys.stderr, cold: bool | None = None,
                seed: int | None = None, grader: Grader | None = None) -> list[Result]:
    """Grade every submission of ``assignment`` in the course folder ``course_root``, in
    the order of ``students`` when given (``seed``: the secret seed of the trusted checks'
    inputs, fixed only by tests; ``grader``: one to grade with, which the caller closes)."""
    global _grader
    course = Course(Path(course_root))
    submitted = course.root / "submitted"
    everyone = sorted(p.name for p in submitted.iterdir() if (p / assignment).exists()) if submitted.is_dir() else []
    students = students or everyone
    if not students:
        raise ValueError(f"no submissions of {assignment!r} under {submitted}")
    jobs = max(1, jobs or os.cpu_count() or 1)
    # kernels run as other users: they must not reach other submissions or the gradebook
    require_private(course.root)
    # the warm kernel factory first: its imports (seconds) overlap everything up to the
    # first kernel, and every pool worker shares it (see _forget_factory_pipe)
    factory = None if grader is not None or cold_reason(cold) else KernelFactory()
    try:
        _grader = grader or Grader(course.root / course.source_directory, course.root / "nbgrader_config.py",
                                   assignments=[assignment], limits=limits, cold=cold, seed=seed, for_class=True,
                                   kernel_factory=factory)
    except BaseException:
        if factory is not None:
            factory.stop()
        raise
    prints = {s: submission_fingerprint(submitted / s / assignment, assignment) for s in students}
    journal = Journal(course, assignment, fingerprint(*sorted((course.root / course.source_directory / assignment)
                                                              .glob("*.ipynb"))))
    results: dict[str, Result] = {}
    for student in students:   # what a run before a crash graded already
        entry = journal.kept(student, prints[student])
        if entry:
            kept = Graded(Result.from_json(entry["result"]), entry["autograded"])
            if not entry["recorded"]:
                record(course, assignment, [kept])
                journal.recorded(student)
            results[student] = kept.result
    tasks = [(str(submitted / s / assignment), assignment, s) for s in students if s not in results]
    if results:
        print(f"regcourse autograde: resumed an interrupted run: kept {len(results)} results, "
              f"grading {len(tasks)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    # the single writer's one connection for the run (its SQL compiled once, not once per
    # submission), opened at the first result: after the pool's workers are forked, so
    # that none of them holds a copy of it
    gradebook = None

    def keep(g: Graded) -> None:   # in the journal, then in the gradebook
        nonlocal gradebook
        gradebook = gradebook or course.gradebook()
        student = g.result.student
        record(course, assignment, [journal.graded(g, prints[student])], gradebook)
        journal.recorded(student)
        results[student] = g.result
        _progress(progress, len(results), len(students), started)

    try:
        if jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                keep(_grade_student(task))
        elif tasks:
            _grader.start_factory()   # before the fork: the workers share it
            with multiprocessing.get_context("fork").Pool(min(jobs, len(tasks)), _forget_factory_pipe) as pool:
                for g in pool.imap_unordered(_grade_student, tasks):
                    keep(g)
    finally:
        if gradebook is not None:
            gradebook.close()
        if grader is None:
            _grader.close()
        if factory is not None:
            factory.stop()
        _grader = None
    ordered = [results[s] for s in students]
    write_csv(course.root / "grades.csv", assignment, ordered)
    journal.close()
    return ordered


def record(course: Course, assignment: str, graded: list[Graded], gradebook=None) -> list[Result]:
    """The single writer: replace each student's submission in the gradebook (``course``'s,
    or the open ``gradebook`` of it) and folders."""
    from nbgrader.api import MissingEntry

    results = []
    with contextlib.nullcontext(gradebook) if gradebook is not None else course.gradebook() as gb:
        for g in sorted(graded, key=lambda g: g.result.student):
            r = g.result
            student = r.student
            gb.update_or_create_student(student)
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass
            stamp = _timestamp(course, student, assignment)
            gb.add_submission(assignment, student, **({"timestamp": stamp} if stamp else {}))
            write_grades(gb, assignment, student, r.items)
            target = course.autograded_path(student, assignment)
            if target.parent.exists():
                shutil.rmtree(target.parent)
            if g.autograded:
                source = Path(g.autograded)
                shutil.copytree(source.parent, target.parent)
                add_report(target, r)
            keep_result(course.root, r)   # for the class report (regcourse report)
            results.append(r)
    return results


def _timestamp(course: Course, student: str, assignment: str) -> str | None:
    stamp = course.root / "submitted" / student / assignment / "timestamp.txt"
    return stamp.read_text().strip() if stamp.is_file() else None


def write_csv(path: Path, assignment: str, results: list[Result]) -> None:
    ids = [i.grade_id for i in results[0].items] if results else []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "assignment", "score", "max_score", "pending", "status", *ids, "problems",
                    "needs review", "tampering"])
        for r in sorted(results, key=lambda r: r.student):
            # a written answer waits for the instructor: "pending", not 0
            cells = {i.grade_id: "pending" if i.pending else f"{i.score:g}" for i in r.items}
            w.writerow([r.student, assignment, f"{r.score:g}", f"{r.max_score:g}", f"{r.pending_points:g}",
                        r.status, *[cells.get(g, "0") for g in ids], " | ".join(r.problems),
                        " | ".join(r.reviews), " | ".join(r.tampering)])


def _progress(stream, done: int, total: int, started: float) -> None:
    if stream is None:
        return
    width = 30
    filled = int(width * done / total)
    elapsed = time.monotonic() - started
    stream.write(f"\rgrading [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {elapsed:5.0f} s")
    if done == total:
        stream.write("\n")
    stream.flush()
