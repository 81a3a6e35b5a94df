"""A class of 30 on the hub at once (issue 25): each student signs in, starts their server
and, all at the same moment, fetches ``l2`` and submits it through their Assignment List
(the extension's HTTP handlers in their own running server, the route the browser takes).
The instructor then collects and autogrades the class through the course's grader while
5 late submissions arrive, and collects again.

Measured: p50/p95 of fetch and submit, the time to grade the class; checked: every
submission is in the gradebook once, with the grade the course's grader gives that
notebook alone, and a late one is either collected whole or still waiting.

Changes the machine as ``regcourse classroom`` does (users, a sudo rule, processes, ports)
and takes it all down at the end (``hub.down``), whatever happens. Root only.
"""

from __future__ import annotations

import concurrent.futures
import copy
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import requests

from regcourse.authoring.notebooks import released_notebook, source_notebook
from regcourse.classroom import hub, users
from regcourse.grading.course import Course
from regcourse.grading.grader import Grader
from regcourse import REPO

ASSIGNMENT = "l2"
CLASS_SIZE = 30
LATE = 5
COURSE_ID = users.COURSE_ID
# the formgrader's Autograde button: nbgrader's autograde through the course's hook
AUTOGRADE = (str(users.VENV / "bin" / "nbgrader"), "autograde", ASSIGNMENT)
COLLECT = (str(users.VENV / "bin" / "nbgrader"), "collect", "--update", ASSIGNMENT)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, nearest rank (the value a q-share of the class waited at most)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))]


class Student:
    """One student's browser, without the browser: the hub's login form, then their server."""

    def __init__(self, state, user: str):
        self.state, self.user = state, user
        self.http = requests.Session()

    def _xsrf(self, path: str) -> str:
        return next(c.value for c in self.http.cookies if c.name == "_xsrf" and c.path == path)

    def sign_in_and_start(self, seconds: float = 600) -> None:
        url = self.state.url
        self.http.get(url + "hub/login", timeout=30).raise_for_status()
        answer = self.http.post(url + "hub/login", timeout=60, allow_redirects=False,
                                data={"username": self.user, "password": self.state.passwords[self.user],
                                      "_xsrf": self._xsrf("/hub/")})
        if answer.status_code != 302:
            raise RuntimeError(f"{self.user} could not sign in: {answer.status_code}")
        api = f"{url}hub/api/users/{self.user}"
        self.http.post(api + "/server", timeout=60, headers={"X-XSRFToken": self._xsrf("/hub/")})
        deadline = time.monotonic() + seconds
        while not (self.http.get(api, timeout=30, headers={"X-XSRFToken": self._xsrf("/hub/")}).json()
                   .get("servers", {}).get("", {}).get("ready")):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user}'s server did not start within {seconds:g} s")
            time.sleep(1)
        # the server signs the student in through the hub (OAuth) and sets its own _xsrf
        lab = self.http.get(f"{url}user/{self.user}/lab", timeout=60)
        if not lab.ok:   # say all there is: the way the redirects went, what the hub thinks
            model = self.http.get(api, timeout=30, headers={"X-XSRFToken": self._xsrf("/hub/")}).json()
            way = " -> ".join(f"{r.status_code} {r.url}" for r in [*lab.history, lab])
            raise RuntimeError(f"{self.user}'s server was ready, but its page answered {lab.status_code}: {way}; "
                               f"the hub says {model.get('servers')}; the page: {lab.text[:500]!r}")

    def assignment_action(self, action: str) -> float:
        """``fetch`` or ``submit`` from the Assignment List; its seconds."""
        server = f"/user/{self.user}/"
        # a fresh connection: the proxy closes one idle for 5 s (Node's keep-alive), and a
        # request sent on it as it closes is reset (seen while the browser's students set up)
        self.http.close()
        started = time.perf_counter()
        answer = self.http.post(f"{self.state.url.rstrip('/')}{server}assignments/{action}", timeout=300,
                                data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT},
                                headers={"X-XSRFToken": self._xsrf(server)})
        seconds = time.perf_counter() - started
        answer.raise_for_status()
        if not answer.json().get("success"):
            raise RuntimeError(f"{self.user}: {action} failed: {answer.text[:500]}")
        return seconds

    def write_answer(self, notebook: nbformat.NotebookNode) -> None:
        """The student's work, saved through their server's contents API (as Lab saves)."""
        server = f"/user/{self.user}/"
        answer = self.http.put(f"{self.state.url.rstrip('/')}{server}api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                               timeout=60, headers={"X-XSRFToken": self._xsrf(server)},
                               json={"type": "notebook", "format": "json", "content": notebook})
        answer.raise_for_status()


class InBrowser:
    """A student who submits by clicking in Chromium: their session's cookies in a browser
    context, JupyterLab open at the Assignment List, the Submit button of ``l2`` found."""

    def __init__(self, browser, student: Student):
        self.student = student
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.add_cookies([{"name": c.name, "value": c.value, "domain": c.domain, "path": c.path}
                                  for c in student.http.cookies])
        self.page = self.context.new_page()
        self.page.set_default_timeout(120_000)
        self.page.goto(f"{student.state.url}user/{student.user}/lab")
        self.page.wait_for_selector("#jp-main-dock-panel")
        self.page.locator("#jp-menu-panel >> text=Nbgrader").click()
        self.page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
        fetched = self.page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT).first
        self.button = fetched.locator('.item_status button:text-is("Submit")')
        self.button.wait_for()

    def click_submit(self) -> float:
        started = time.perf_counter()
        self.button.click()
        self.page.locator("#submitted_assignments_list > .list_item", has_text=ASSIGNMENT).first.wait_for()
        return time.perf_counter() - started

    def close(self, screenshot: Path | None = None) -> None:
        if screenshot:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(screenshot))
        self.context.close()


def answers() -> list[nbformat.NotebookNode]:
    """What the class hands in, in turn: the solution, the released notebook untouched, and
    the solution with one function wrong (a grade in between)."""
    solution = nbformat.read(str(source_notebook(ASSIGNMENT)), as_version=4)
    untouched = nbformat.read(str(released_notebook(ASSIGNMENT)), as_version=4)
    partial = nbformat.read(str(source_notebook(ASSIGNMENT)), as_version=4)
    for cell in partial.cells:
        if cell.cell_type == "code" and "def l2_penalty" in cell.source:
            cell.source = cell.source.replace("def l2_penalty", "def l2_penalty_unused", 1)
            cell.source += "\n\ndef l2_penalty(params, lam):\n    return 0.0\n"
    return [solution, untouched, partial]


def signed(notebook: nbformat.NotebookNode, user: str) -> nbformat.NotebookNode:
    """``notebook`` with a line of its student's own: no two in a class are the same file,
    as in a real class (the grade is that of ``notebook``)."""
    mine = copy.deepcopy(notebook)
    mine.cells.append(nbformat.v4.new_markdown_cell(f"Handed in by {user}."))
    return mine


def _instructor(state, *command: str) -> float:
    """Run ``command`` in the instructor's course as the instructor; its seconds."""
    home = Path(state.folder) / "home" / state.instructor
    started = time.perf_counter()
    users.run(*command, user=state.instructor, cwd=home / "course", env=users.user_env(home), timeout=900)
    return time.perf_counter() - started


def run_class(db: str = "sqlite", size: int = CLASS_SIZE, late: int = LATE, say=print,
              browser=None, in_browser: int = 2) -> dict:
    """Bring a classroom of ``size + late`` students up on ``db``, load it, take it down.
    With a Playwright ``browser``, ``in_browser`` of the class submit by clicking (their
    screenshot in ``_build/screenshots/classroom/``)."""
    folder = Path(tempfile.mkdtemp(prefix="regcourse-load-"))
    started = time.perf_counter()
    state = hub.up(folder, students=size + late, db=db, assignments=[ASSIGNMENT], say=lambda line: None)
    out: dict = {"db": db, "students": size, "late": late, "up_seconds": round(time.perf_counter() - started, 1)}
    try:
        course = Course(Path(state.folder) / "home" / state.instructor / "course")
        class_ = [Student(state, user) for user in state.students]
        on_time, late_ones = class_[:size], class_[size:]
        work = answers()
        with concurrent.futures.ThreadPoolExecutor(len(class_)) as pool:
            started = time.perf_counter()
            list(pool.map(Student.sign_in_and_start, class_))
            out["servers_started_seconds"] = round(time.perf_counter() - started, 1)
            fetch = list(pool.map(lambda s: s.assignment_action("fetch"), class_))
            list(pool.map(lambda pair: pair[1].write_answer(signed(work[pair[0] % len(work)], pair[1].user)),
                          enumerate(class_)))
            clicking = [InBrowser(browser, s) for s in on_time[:in_browser]] if browser else []
            # everyone at once: the browser's clicks (this thread drives Chromium) among the requests
            requests_ = [pool.submit(s.assignment_action, "submit") for s in on_time[len(clicking):]]
            clicked = [b.click_submit() for b in clicking]
            submit = [f.result() for f in requests_]
            for k, b in enumerate(clicking):
                b.close(REPO / "_build" / "screenshots" / "classroom" / f"load-{db}-submitted-{k + 1}.png")
            out["fetch_seconds"] = _spread(fetch)
            out["submit_seconds"] = _spread(submit + clicked)
            out["browser_submit_seconds"] = [round(t, 2) for t in clicked]
            out["collect_seconds"] = round(_instructor(state, *COLLECT), 1)
            # the class is graded as the late ones hand in, then whatever came is collected
            grading = pool.submit(_instructor, state, *AUTOGRADE)
            late_submit = list(pool.map(lambda s: s.assignment_action("submit"), late_ones))
            _instructor(state, *COLLECT)
            out["late_collected_midway"] = sum(course.submission_path(s.user, ASSIGNMENT).exists()
                                               for s in late_ones)
            out["grade_seconds"] = round(grading.result(), 1)
            out["late_submit_seconds"] = _spread(late_submit)
        _instructor(state, *COLLECT)
        out["late_grade_seconds"] = round(_instructor(state, *AUTOGRADE), 1)
        out["gradebook"] = _gradebook(course, [s.user for s in class_])
        alone = _alone(work)
        out["expected"] = {s.user: alone[k % len(work)] for k, s in enumerate(class_)}
        # the same class through the course's own command line (root: kernels in the sandbox)
        started = time.perf_counter()
        users.run(users.VENV / "bin" / "regcourse", "autograde", ASSIGNMENT, "--jobs", "2", "--quiet",
                  "--course", course.root, timeout=900)
        out["regcourse_autograde_seconds"] = round(time.perf_counter() - started, 1)
        out["graded"] = size + late
    finally:
        hub.down(folder, say=lambda line: None)
    say(f"classroom load on {db}: fetch p50/p95 {out['fetch_seconds']['p50']}/{out['fetch_seconds']['p95']} s, "
        f"submit p50/p95 {out['submit_seconds']['p50']}/{out['submit_seconds']['p95']} s, "
        f"class of {size} graded in {out['grade_seconds']} s")
    return out


def _spread(seconds: list[float]) -> dict:
    return {"p50": round(statistics.median(seconds), 2), "p95": round(percentile(seconds, 95), 2),
            "max": round(max(seconds), 2), "n": len(seconds)}


def _gradebook(course: Course, students: list[str]) -> dict:
    """Each student's submissions of the assignment in the gradebook: how many, and the score."""
    from nbgrader.api import MissingEntry

    found = {}
    with course.gradebook() as gb:
        for student in students:
            try:
                submission = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:   # never collected
                found[student] = {"submissions": 0, "score": None}
                continue
            count = sum(1 for s in gb.find_student(student).submissions if s.assignment.name == ASSIGNMENT)
            found[student] = {"submissions": count, "score": submission.score}
    return found


def _alone(work: list) -> list[float]:
    """The score the course's grader gives each notebook of ``work`` on its own (one grader)."""
    with tempfile.TemporaryDirectory() as tmp, \
            Grader(REPO / "solutions", REPO / "nbgrader_config.py", assignments=[ASSIGNMENT]) as grader:
        scores = []
        for k, notebook in enumerate(work):
            path = Path(tmp) / f"{k}" / f"{ASSIGNMENT}.ipynb"
            path.parent.mkdir()
            nbformat.write(notebook, str(path))
            scores.append(grader.grade(path, ASSIGNMENT).result.score)
    return scores


def run(repeats: int = 1) -> dict:
    import os

    if os.geteuid() != 0:
        return {"skipped": "the classroom creates users: run `make bench` as root"}
    return {db: run_class(db) for db in ("sqlite", "postgresql")}


def budgets(results: dict, add) -> None:
    for db, r in results.items():
        if not isinstance(r, dict) or "submit_seconds" not in r:
            continue
        add(f"classroom on {db}: submit p95 for {r['students']} at once, seconds", r["submit_seconds"]["p95"],
            "<= 5", r["submit_seconds"]["p95"] <= 5)
        ratio = round(r["grade_seconds"] / r["regcourse_autograde_seconds"] * r["graded"] / r["students"], 2)
        add(f"classroom on {db}: formgrader's autograde / `regcourse autograde --jobs 2` (per submission)", ratio,
            "<= 1.5", ratio <= 1.5)


def markdown(results: dict) -> list[str]:
    if "skipped" in results:
        return ["## A class on the hub", "", f"Not measured: {results['skipped']}.", ""]
    lines = ["## A class on the hub (`benchmarks/classroom.py`)", "",
             f"{CLASS_SIZE} students on `regcourse classroom up`, each signed in with their own session, fetch and "
             f"submit `{ASSIGNMENT}` at the same moment through their Assignment List (their running server's "
             f"handlers); the instructor collects, autogrades through the formgrader's route (`nbgrader autograde`, "
             f"the course's hook with its second grader working from the far end of the class, its sudo rule) "
             f"while {LATE} late submissions arrive, and collects again. The class hands in three answers (right, "
             f"untouched, one function wrong), each notebook with a line of its student's own, so no two are the "
             f"same file.", "",
             "| gradebook | servers up (s) | fetch p50 / p95 (s) | submit p50 / p95 (s) | collect (s) "
             "| formgrader's autograde of the class (s) | `regcourse autograde --jobs 2`, all of them (s) "
             "| each in the gradebook once, with its grade alone |",
             "|---|---|---|---|---|---|---|---|"]
    for db, r in results.items():
        right = all(r["gradebook"][u] == {"submissions": 1, "score": r["expected"][u]} for u in r["expected"])
        lines.append(f"| {db} | {r['servers_started_seconds']} | {r['fetch_seconds']['p50']} / "
                     f"{r['fetch_seconds']['p95']} | {r['submit_seconds']['p50']} / {r['submit_seconds']['p95']} "
                     f"| {r['collect_seconds']} | {r['grade_seconds']} ({r['students']}) | "
                     f"{r['regcourse_autograde_seconds']} ({r['graded']}) | {right} |")
    return lines + [""]
