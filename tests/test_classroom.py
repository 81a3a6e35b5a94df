"""The classroom (`make classroom`): a JupyterHub on 127.0.0.1 with one instructor and two
students, driven in Chromium as its users drive it, then taken down.

The browser flow runs on the default SQLite gradebook; a second classroom runs its gradebook
on a PostgreSQL server it starts (Debian's postgresql, run by its postgres user), where
two graders write at once (from the command line).

What it changes on the machine, and undoes at the end of each run whatever happens:
Unix users rc-<tag>-teach, rc-<tag>-s1..s3 (homes in a folder of /tmp), a sudo
rule for the instructor (/etc/sudoers.d/regcourse-classroom-<tag>), the processes of the
hub, its proxy, the users' servers and PostgreSQL, and free ports on 127.0.0.1. The last
test checks that users, processes, ports and the sudo rule are as they were.

Needs root (it creates users), configurable-http-proxy (`make setup` installs it with npm)
and Debian's Chromium; without them it is skipped with the reason (a failure under CI).
Screenshots of each step land in _build/screenshots/classroom/.
"""

from __future__ import annotations

import copy
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat

import pytest

from conftest import REPO, SCREENSHOTS, missing_tool
from regcourse.classroom import hub, users
from regcourse.classroom.state import State
from regcourse.grading.course import Course
from submissions import solution as sub_solution
from test_grading_cli import hidden_lines
from test_grading_hostile import MEASURE_HOSTILE

pytestmark = pytest.mark.tier2   # minutes of JupyterHub: `make test-all`

# fools plain nbgrader: it replaces numpy's comparisons the first time it is called
HOSTILE = MEASURE_HOSTILE["ratios-allclose-replaced"][0]

SHOTS = SCREENSHOTS / "classroom"
ROOT_ONLY = Path("/root/regcourse-written-by-a-solution-cell")   # only root may write in /root
PRIVATE_MARK = "This class's own copy of the exercise."
# an answer that earns part of l2: the penalty and its check are right, the rest is not done
PENALTY = '''def l2_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam must be >= 0")
    if isinstance(params, np.ndarray):
        params = [params]
    return float(0.5 * lam * sum(np.sum(p ** 2) for p in params))'''


def listening_ports() -> set[int]:
    ports = set()
    for table in ["/proc/net/tcp", "/proc/net/tcp6"]:
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":   # LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def machine_users() -> set[str]:
    """The machine's users, but those another test worker creates and removes meanwhile
    (tests/test_grading_host.py)."""
    return {p.pw_name for p in pwd.getpwall() if not p.pw_name.startswith("regcourse-hosttest-")}


def uids_of(users: list[str]) -> set[int]:
    uids = set()
    for user in users:
        try:
            uids.add(pwd.getpwnam(user).pw_uid)
        except KeyError:
            pass
    return uids


def processes_of(uids: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid in uids:
                    found.append(int(entry))
            except FileNotFoundError:
                pass
    return found


@pytest.fixture(scope="module")
def machine_before():
    if os.geteuid() != 0:
        missing_tool("the classroom creates Unix users: its tests run as root (as CI does)")
    if not hub.CHP.exists():
        missing_tool(f"configurable-http-proxy is not installed at {hub.CHP} (make setup installs it with npm)")
    if not shutil.which("sudo"):
        missing_tool("sudo is not installed: the classroom grades through a sudo rule (apt-get install sudo)")
    return {"users": machine_users(), "ports": listening_ports()}


@pytest.fixture
def postgresql_server():
    import glob

    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing_tool("PostgreSQL's server is not installed (apt-get install postgresql)")


@pytest.fixture(scope="module")
def classroom(machine_before):
    # not in pytest's temporary folder: that is private to root, and the users' servers
    # must reach their homes
    folder = Path(tempfile.mkdtemp(prefix="regcourse-classroom-"))
    start = time.monotonic()
    # the sources from a private folder outside the clone, as a graded class keeps them
    private = Path(tempfile.mkdtemp(prefix="regcourse-private-source-"))
    shutil.copytree(REPO / "solutions" / "l2", private / "l2")
    nb = nbformat.read(str(private / "l2" / "l2.ipynb"), as_version=4)
    nb.cells[0].source += f"\n\n{PRIVATE_MARK}"
    # a cell as an instructor could add to a solution: it tries to write where only root may,
    # and stops the course's reference run (so the grading) if that run has root
    nb.cells.insert(1, nbformat.v4.new_code_cell(
        "import os\n"
        f"try:\n    open({str(ROOT_ONLY)!r}, 'w').write('written with root')\n"
        "except PermissionError:\n    pass\n"
        "assert os.geteuid() != 0, 'this solution cell runs as root'\n"))
    nbformat.write(nb, str(private / "l2" / "l2.ipynb"))
    state = hub.up(folder, students=3, assignments=["l2"], source=private, say=lambda line: None)
    shutil.rmtree(private)
    state.started_in = time.monotonic() - start
    yield state
    hub.down(folder, say=lambda line: None)   # whatever happened (idempotent)
    ROOT_ONLY.unlink(missing_ok=True)


def _login(browser, state, user: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(state.url + "hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", state.passwords[user])
    start = time.monotonic()
    page.click("#login_submit")
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    return page, time.monotonic() - start


def _nbgrader_menu(page) -> list[str]:
    page.locator("#jp-menu-panel >> text=Nbgrader").click()
    items = [t.strip() for t in page.locator("#jp-mainmenu-nbgrader li").all_inner_texts() if t.strip()]
    return items


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_the_hub_answers_and_releases_the_assignment(classroom):
    exchange = f"{classroom.folder}/exchange/regcourse/outbound/l2"
    assert os.path.isdir(exchange), "the instructor's release of l2 is not in the exchange"
    assert PRIVATE_MARK in open(f"{exchange}/l2.ipynb").read(), "not released from the private source folder"
    assert oct(os.stat(f"{classroom.folder}/exchange").st_mode & 0o7777) == "0o1777"


def test_each_user_signs_in_with_their_own_password(classroom, browser):
    """A student's password does not open the instructor's account (one shared password did)."""
    page = browser.new_page()
    try:
        page.goto(classroom.url + "hub/login")
        page.fill("#username_input", classroom.instructor)
        page.fill("#password_input", classroom.passwords[classroom.students[0]])
        page.click("#login_submit")
        page.wait_for_load_state()
        assert "/hub/login" in page.url and "Invalid" in page.locator("body").inner_text()
    finally:
        page.close()
    assert len(set(classroom.passwords.values())) == len(classroom.passwords) == 4
    assert not any(p in classroom.path.read_text() for p in classroom.passwords.values()), "a password was saved"
    private = classroom.private
    assert private.stat().st_uid == 0 and private.stat().st_mode & 0o777 == 0o700, oct(private.stat().st_mode)
    for path in [*secret_files(classroom)[:-1], str(private / "hub.log")]:
        assert os.stat(path).st_mode & 0o777 == 0o600, (path, oct(os.stat(path).st_mode))


def test_a_student_fetches_validates_and_submits(classroom, browser):
    student = classroom.students[0]
    page, login_seconds = _login(browser, classroom, student)
    try:
        _shot(page, "1-student-lab")
        assert _nbgrader_menu(page) == ["Assignment List"], "a student sees only the Assignment List"
        page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
        released = page.locator("#released_assignments_list > .list_item", has_text="l2").first
        released.locator(".item_status button", has_text="Fetch").click()
        fetched = page.locator("#fetched_assignments_list > .list_item", has_text="l2").first
        fetched.locator("a.assignment-notebooks-link").click()
        _shot(page, "2-student-fetched")
        page.locator("#nbgrader-regcourse-l2 .list_item .item_name a").first.click()

        answer = page.locator(".jp-Notebook:visible .jp-Cell.jp-CodeCell", has_text="def l2_penalty(params, lam)").first
        answer.wait_for()
        answer.scroll_into_view_if_needed()
        answer.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(PENALTY)   # typed, not pasted: CodeMirror would re-indent newlines
        page.keyboard.press("Escape")
        for attempt in range(4):   # saved when the tab loses its dirty mark; a busy machine may drop a key
            page.keyboard.press("Control+s")
            try:
                page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
                                       timeout=30_000)
                break
            except Exception:
                assert attempt < 3, "the notebook was never saved"

        page.locator("jp-button.validate-button:visible").click()
        dialog = page.locator(".jp-Dialog").first
        dialog.wait_for(timeout=180_000)
        said = dialog.inner_text()
        _shot(page, "3-student-validated")
        # the other functions are not written yet: validation names a failing cell
        assert "Validation Results" in said and "failed" in said, said
        page.locator(".jp-Dialog-button.jp-mod-accept").click()

        page.locator("#jp-menu-panel >> text=Nbgrader").click()
        page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
        fetched = page.locator("#fetched_assignments_list > .list_item", has_text="l2").first
        fetched.locator('.item_status button:text-is("Submit")').click()
        page.locator("#submitted_assignments_list > .list_item", has_text="l2").first.wait_for()
        _shot(page, "4-student-submitted")
    finally:
        page.close()
    inbound = os.listdir(f"{classroom.folder}/exchange/regcourse/inbound")
    assert any(name.startswith(f"{student}+l2+") for name in inbound), inbound
    submitted = next(n for n in inbound if n.startswith(f"{student}+l2+"))
    text = open(f"{classroom.folder}/exchange/regcourse/inbound/{submitted}/l2.ipynb").read()
    assert "0.5 * lam * sum(np.sum(p ** 2) for p in params)" in text, "the typed answer was not submitted"
    print(f"login to a ready JupyterLab: {login_seconds:.1f} s; hub up in {classroom.started_in:.1f} s")


def _as(user: str, home: Path, *command, cwd: Path) -> str:
    env = {"HOME": str(home), "PATH": f"{users.VENV / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    done = subprocess.run([users.RUNUSER, "-u", user, "--", *map(str, command)], cwd=cwd, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_second_student_submits_a_hostile_notebook(classroom):
    """nbgrader's own command line, as a student would use it from a terminal."""
    student = classroom.students[1]
    home = Path(classroom.folder) / "home" / student
    _as(student, home, users.VENV / "bin" / "nbgrader", "fetch_assignment", "l2", cwd=home)
    nbformat.write(copy.deepcopy(HOSTILE), str(home / "l2" / "l2.ipynb"))
    shutil.chown(home / "l2" / "l2.ipynb", student, student)
    _as(student, home, users.VENV / "bin" / "nbgrader", "submit", "l2", cwd=home)


# A third student's submission carries script everywhere a student's words or outputs reach
# the instructor's pages (issue 24): each payload logs its name to the console if it runs.
XSS = "XSS-RAN"
WORDS = "SHRINKAGE-ANSWER each direction shrinks by the factor"
MATHS = r"\frac{\sigma_i}{\sigma_i + \lambda}"
WRITTEN_PAYLOAD = (f"{WORDS} ${MATHS}$.\n\n"
                   f"<script>console.log('{XSS} markdown script')</script>\n"
                   f"<img src=x onerror=\"console.log('{XSS} markdown img')\">\n"
                   f"<svg onload=\"console.log('{XSS} markdown svg')\"></svg>\n"
                   f"<iframe srcdoc=\"<script>parent.console.log('{XSS} markdown iframe')</script>\"></iframe>\n")
OUTPUT_PAYLOAD = f"""from IPython.display import HTML, SVG, Javascript, display
display(HTML("<b>HTML-OUTPUT-KEPT</b><table><tr><td>cell</td></tr></table>"
             "<script>console.log('{XSS} html script')</script><img src=x onerror=\\"console.log('{XSS} html img')\\">"))
display(SVG("<svg xmlns='http://www.w3.org/2000/svg' width='20' height='20' onload=\\"console.log('{XSS} svg')\\">"
            "<script>console.log('{XSS} svg script')</script><circle cx='10' cy='10' r='8'/></svg>"))
display(Javascript("console.log('{XSS} javascript')"))
"""


def secret_files(state) -> list[str]:
    """What only the hub (and the instructor's own course) may read: the state with the
    gradebook's address, the hub's configuration, the password hashes, the cookie secret."""
    return [str(state.path), str(state.private / "jupyterhub_config.py"), str(state.private / hub.PASSWORDS),
            str(state.private / "jupyterhub_cookie_secret"),
            f"{state.folder}/home/{state.instructor}/course/nbgrader_config.py"]


def _reads_the_classroom(state) -> str:
    """A cell that tries to read what only the hub and the instructor may read."""
    paths = secret_files(state)
    return ("for path in %r:\n"
            "    try:\n"
            "        print('READ', path, open(path).read()[:80])\n"
            "    except OSError as error:\n"
            "        print('DENIED', path, type(error).__name__)\n" % (paths,))


def test_a_third_student_submits_script_in_answers_and_outputs(classroom):
    student = classroom.students[2]
    home = Path(classroom.folder) / "home" / student
    _as(student, home, users.VENV / "bin" / "nbgrader", "fetch_assignment", "l2", cwd=home)
    nb = sub_solution("l2")
    written = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "question_shrinkage")
    written.source = WRITTEN_PAYLOAD
    nb.cells.insert(2, nbformat.v4.new_code_cell(OUTPUT_PAYLOAD))
    nb.cells.insert(3, nbformat.v4.new_code_cell(_reads_the_classroom(classroom)))
    nbformat.write(nb, str(home / "l2" / "l2.ipynb"))
    shutil.chown(home / "l2" / "l2.ipynb", student, student)
    _as(student, home, users.VENV / "bin" / "nbgrader", "submit", "l2", cwd=home)


def _close_modal(frame, name: str) -> str:
    modal = frame.locator(f"#{name}")
    modal.wait_for(timeout=240_000)
    text = modal.inner_text()
    modal.locator("button[data-dismiss=modal]").first.click()
    modal.wait_for(state="detached")
    return text


def test_the_instructor_collects_from_the_formgrader(classroom, browser):
    page, _ = _login(browser, classroom, classroom.instructor)
    try:
        menu = _nbgrader_menu(page)
        assert {"Assignment List", "Course List", "Formgrader"} <= set(menu), menu
        page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-formgrader"]').click()
        frame = page.frame_locator("#formgrader iframe")
        row = frame.locator("tr", has=frame.locator("a", has_text="l2")).first
        row.wait_for(state="attached")
        _shot(page, "5-instructor-formgrader")
        # the Collect button brings the student's submission into the course
        row.locator("td.collect a").click()
        _shot(page, "6-instructor-collected")
        assert "Successfully collected submissions of 'l2'" in _close_modal(frame, "success-modal")
        submitted = Path(classroom.folder) / "home" / classroom.instructor / "course" / "submitted"
        for student in classroom.students:
            assert (submitted / student / "l2" / "l2.ipynb").exists(), f"{student}'s submission was not collected"

        # autograde each submission with the formgrader's button: the course's grader runs
        row.locator("td.num-submissions a").click()
        for student in classroom.students:
            line = frame.locator("tr", has=frame.locator("td.student-id", has_text=student)).first
            start = time.monotonic()
            line.locator("td.autograde a").click()
            said = _close_modal(frame, "success-modal")
            assert f"Successfully autograded 'l2' for student '{student}'" in said, said
            print(f"autograde of {student} from the formgrader: {time.monotonic() - start:.1f} s")
        _shot(page, "7-instructor-autograded")

        # the written answer, graded by hand in the formgrader's Manual Grading view
        course = Course(Path(classroom.folder) / "home" / classroom.instructor / "course")
        with course.gradebook() as gb:
            submission = gb.find_submission_notebook("l2", "l2", classroom.students[0]).id
        grading = page       # the same signed-in page, away from JupyterLab and back
        grading.goto(f"{classroom.url}user/{classroom.instructor}/formgrader/submissions/{submission}/",
                     wait_until="networkidle")    # the page's script saves scores: let it load
        assert "Rubric (2 points)" in grading.locator("body").inner_text(), "the rubric is beside the answer"
        score = grading.locator("input.score#question_shrinkage")

        def saved() -> bool:
            with course.gradebook() as gb:
                return gb.find_grade("question_shrinkage", "l2", "l2", classroom.students[0]).manual_score == 1.5

        deadline = time.monotonic() + 90
        while not saved():   # typed again if a busy machine lost the first change event
            assert time.monotonic() < deadline, "the score typed in the formgrader did not reach the gradebook"
            score.fill("")
            score.fill("1.5")
            score.press("Tab")
            for _ in range(20):
                if saved():
                    break
                time.sleep(0.5)
        _shot(grading, "8-instructor-manual-grading")
        page.goto(f"{classroom.url}user/{classroom.instructor}/lab")
        page.wait_for_selector("#jp-main-dock-panel")
        _nbgrader_menu(page)
        page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-formgrader"]').click()
        frame = page.frame_locator("#formgrader iframe")

        # feedback: generated with the course's steps (no hidden tests), then released
        row = frame.locator("tr", has=frame.locator("a", has_text="l2")).first
        row.locator("td.generate-feedback a").click()
        assert "Successfully generated feedback" in _close_modal(frame, "success-modal")
        row.locator("td.release-feedback a").click()
        assert "Successfully released feedback" in _close_modal(frame, "success-modal")
        _shot(page, "9-instructor-released-feedback")
    finally:
        page.close()


def test_a_grading_kernel_cannot_read_the_classrooms_secrets(classroom):
    """The third student's cell, run by the autograde above, tried to open each secret file."""
    course = Course(Path(classroom.folder) / "home" / classroom.instructor / "course")
    graded = nbformat.read(str(course.autograded_path(classroom.students[2], "l2")), as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.get("outputs", []))
    tried = [line.split()[1] for line in printed.splitlines() if line.startswith(("DENIED ", "READ "))]
    assert tried == secret_files(classroom) and all(os.path.exists(path) for path in tried), printed   # each one is there
    read = [line[:160] for line in printed.splitlines() if line.startswith("READ ")]
    assert not read, "a grading kernel read the classroom's secrets:\n" + "\n".join(read)
    assert printed.count("PermissionError") == len(tried), printed


def test_no_script_of_a_student_runs_on_the_instructors_pages(classroom, browser):
    """The third student's submission, autograded and given feedback above, opened as the
    instructor would open it: no payload runs, and the student's words, maths and outputs
    are still there to grade."""
    student = classroom.students[2]
    course = Course(Path(classroom.folder) / "home" / classroom.instructor / "course")
    with course.gradebook() as gb:
        submission = gb.find_submission_notebook("l2", "l2", student).id
    messages = []
    page, _ = _login(browser, classroom, classroom.instructor)
    page.on("console", lambda message: messages.append(message.text))
    try:
        page.evaluate("console.log('console-control')")   # the listener hears the page
        url = f"{classroom.url}user/{classroom.instructor}/formgrader/submissions/{submission}/"
        # inside JupyterLab's formgrader panel, as the instructor grades
        page.wait_for_selector("#jp-main-dock-panel")
        _nbgrader_menu(page)
        page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-formgrader"]').click()
        page.wait_for_selector("#formgrader iframe")
        page.evaluate("url => { document.querySelector('#formgrader iframe').src = url }", url)
        inner = page.frame_locator("#formgrader iframe").locator("body")
        inner.get_by_text("HTML-OUTPUT-KEPT", exact=True).wait_for()   # the output, not the code
        framed = inner.inner_text()
        _shot(page, "11-instructor-formgrader-hostile-in-lab")
        # the same page on its own
        page.goto(url, wait_until="networkidle")
        alone = page.locator("body").inner_text()
        _shot(page, "12-instructor-formgrader-hostile")
        # the feedback generated for the student (through the files handler, and the file itself)
        feedback = course.root / "feedback" / student / "l2"
        (page_file,) = list(feedback.rglob("l2.html"))
        page.goto(f"{classroom.url}user/{classroom.instructor}/files/"
                  f"{page_file.relative_to(course.root.parent).as_posix()}", wait_until="networkidle")
        shown = page.locator("body").inner_text()
        page.wait_for_timeout(1000)   # anything deferred (onload, onerror) has run by now
    finally:
        page.close()
    assert "console-control" in messages, messages
    ran = [m for m in messages if XSS in m]
    assert not ran, f"a student's script ran on the instructor's pages: {ran}"
    for text in (framed, alone):
        assert WORDS in text and MATHS in text and "HTML-OUTPUT-KEPT" in text, text[:2000]
    assert WORDS in shown and "HTML-OUTPUT-KEPT" in shown, shown[:2000]
    written = page_file.read_text()
    assert "<script" not in written, "the feedback page needs no script; it has one"
    assert "<math" in written, "the written answer's equation is not drawn on the feedback page"


def test_the_student_reads_the_feedback(classroom, browser):
    student = classroom.students[0]
    page, _ = _login(browser, classroom, student)
    try:
        page.locator("#jp-menu-panel >> text=Nbgrader").click()
        page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
        submitted = page.locator("#submitted_assignments_list > .list_item", has_text="l2").first
        submitted.locator("button", has_text="Fetch Feedback").click()
        home = Path(classroom.folder) / "home" / student
        deadline = time.monotonic() + 60
        while not list(home.glob("l2/feedback/*/l2.html")) and time.monotonic() < deadline:
            time.sleep(0.5)
        (page_file,) = home.glob("l2/feedback/*/l2.html")
        page.goto(f"{classroom.url}user/{student}/files/{page_file.relative_to(home).as_posix()}")
        text = page.locator("body").inner_text()
        _shot(page, "10-student-feedback")
    finally:
        page.close()
    assert "Grading report: 3.5 / 15 points" in text, text[:500]      # 2 from tests, 1.5 by hand
    assert "Written response (Score: 1.5 / 2.0)" in text
    assert "ridge_fit" in text and "NotImplementedError" in text    # why points were lost
    leaked = [line for line in hidden_lines("l2") if line in page_file.read_text()]
    assert not leaked, f"hidden test lines in the feedback: {leaked[:3]}"


def test_the_gradebook_holds_the_course_grades(classroom, browser):
    """(After the browser flow above: it skips with the browser, for the same reason.)"""
    course = Course(Path(classroom.folder) / "home" / classroom.instructor / "course")
    honest, hostile, _ = classroom.students
    with course.gradebook() as gb:
        partial = gb.find_submission_notebook("l2", "l2", honest)
        attack = gb.find_submission_notebook("l2", "l2", hostile)
        assert partial.score == 3.5, "l2_penalty and its check earn 2 points, the written answer 1.5 by hand"
        assert attack.score == 0.0, "plain nbgrader would give the hostile notebook 13 points"
    graded = course.autograded_path(hostile, "l2").read_text()
    assert "Tampering detected" in graded
    honest_graded = course.autograded_path(honest, "l2").read_text()
    assert "Tampering detected" not in honest_graded
    # through the classroom's sudo rule, the kernels ran as sandbox users without network
    assert classroom.sudo_rule and Path(classroom.sudo_rule).exists()
    assert "unprivileged user" in honest_graded and "no network" in honest_graded
    # and so did the instructor's solutions (the reference run): their cell could not write as root
    assert not ROOT_ONLY.exists(), "a solution cell ran as root through the classroom's sudo rule"


def test_the_instructor_opens_the_class_report(classroom, browser):
    """Each autograde from the formgrader rewrites course/reports/l2.html: the class view
    of what went wrong, which the instructor opens from their server."""
    honest, hostile, payload = classroom.students
    page, _ = _login(browser, classroom, classroom.instructor)
    try:
        page.goto(f"{classroom.url}user/{classroom.instructor}/files/course/reports/l2.html")
        text = page.locator("body").inner_text()
        _shot(page, "13-instructor-class-report")
    finally:
        page.close()
    assert "What the class got wrong" in text and "3 graded submissions" in text, text[:1000]
    tampering = text.split("Tampering", 1)[1]
    assert hostile in tampering and honest not in tampering and payload not in tampering, tampering
    assert "question_shrinkage" in text.split("Written answers still to grade", 1)[1]


def test_down_leaves_the_machine_as_it_was(classroom, machine_before, browser):
    """(The users' servers run once they signed in, in the browser flow above.)"""
    uids = uids_of([classroom.instructor, *classroom.students])
    assert len(uids) == 4 and processes_of(uids), "the classroom's servers should be running before down"
    assert hub.down(classroom.folder, say=lambda line: None) is True
    assert hub.down(classroom.folder, say=lambda line: None) is False    # idempotent
    assert machine_users() == machine_before["users"]
    assert not processes_of(uids)
    assert not set(classroom.ports) & listening_ports(), "a classroom port still listens"
    assert not os.path.exists(classroom.folder)
    assert not classroom.sudo_rule or not os.path.exists(classroom.sudo_rule)


def test_ctrl_c_takes_the_classroom_down(machine_before):
    """`make classroom` stays up until Ctrl-C, which removes everything it created."""
    before = machine_users()   # what this test finds, whatever the tests before it left
    folder = Path(tempfile.mkdtemp(prefix="regcourse-classroom-"))
    serving = subprocess.Popen([str(users.VENV / "bin" / "regcourse"), "classroom", "up", "--state", str(folder),
                                "--students", "1", "--wait"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        lines = []
        for line in serving.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):   # the last line of what `up` says once it is up
                break
        state = State.load(folder)
        assert state and state.users, "".join(lines)
        said = "".join(lines)
        assert said.count(" password ") == 2 and "/files/course/reports/" in said, said
        uids = uids_of(state.users)
        serving.send_signal(signal.SIGINT)
        try:   # the teardown waits at most 15 s for the hub and 30 s per user by design
            serving.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{serving.pid}/status").read_text()
            signals = [line for line in status.splitlines() if line.startswith(("State", "SigIgn", "SigCgt"))]
            serving.kill()
            said, _ = serving.communicate()
            pytest.fail(f"Ctrl-C did not take the classroom down within 240 s ({signals}); it said: {said}")
    finally:
        if serving.poll() is None:
            serving.kill()
        hub.down(folder, say=lambda line: None)
    assert machine_users() == before
    assert not processes_of(uids) and not set(state.ports) & listening_ports()
    assert not folder.exists()


def test_the_gradebook_on_postgresql_takes_two_graders_at_once(machine_before, postgresql_server):
    """`make classroom DB=postgresql`: two students submit from the command line, the
    instructor collects, and two autogrades of the class run at the same moment; both
    land in the PostgreSQL gradebook, with the course's grades. Then it all goes away."""
    before = machine_users()
    folder = Path(tempfile.mkdtemp(prefix="regcourse-classroom-"))
    state = hub.up(folder, students=2, assignments=["l2"], db="postgresql", say=lambda line: None)
    try:
        assert state.db_url.startswith("postgresql") and state.postgres
        nbgrader = users.VENV / "bin" / "nbgrader"
        for student, notebook in zip(state.students, [sub_solution("l2"), HOSTILE]):
            home = folder / "home" / student
            _as(student, home, nbgrader, "fetch_assignment", "l2", cwd=home)
            nbformat.write(copy.deepcopy(notebook), str(home / "l2" / "l2.ipynb"))
            shutil.chown(home / "l2" / "l2.ipynb", student, student)
            _as(student, home, nbgrader, "submit", "l2", cwd=home)
        home = folder / "home" / state.instructor
        _as(state.instructor, home, nbgrader, "collect", "l2", cwd=home / "course")
        env = {"HOME": str(home), "PATH": f"{users.VENV / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}
        graders = [subprocess.Popen([users.RUNUSER, "-u", state.instructor, "--", str(nbgrader), "autograde", "l2",
                                     "--student", student], cwd=home / "course", env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for student in state.students]
        outputs = [g.communicate(timeout=600)[0] for g in graders]
        assert all(g.returncode == 0 for g in graders), outputs
        course = Course(home / "course")
        assert course.db_url == state.db_url
        with course.gradebook() as gb:
            assert gb.find_submission_notebook("l2", "l2", state.students[0]).score == 13.0   # + 2 by hand
            assert gb.find_submission_notebook("l2", "l2", state.students[1]).score == 0.0
        uids = uids_of([state.instructor, *state.students])
    finally:
        hub.down(folder, say=lambda line: None)
    assert machine_users() == before
    assert not processes_of(uids) and not set(state.ports) & listening_ports()
    assert not folder.exists()
