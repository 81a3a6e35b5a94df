"""`regcourse grade`: scores, table, JSON, feedback without hidden tests, exit codes."""

import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import submissions as sub
from regcourse.authoring.notebooks import REPO, nbgrader_meta, read, source_notebook

REGCOURSE = [sys.executable, "-m", "regcourse.cli"]
NEGATIVE_LAM_ACCEPTED = ("def regularized_cost(X, y, w, lam):\n    r = X @ w - y\n"
                         "    return float(0.5 * r @ r + 0.5 * lam * w @ w)")


def grade(*args, cwd=None):
    return subprocess.run([*REGCOURSE, "grade", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def hidden_lines(aid):
    """Lines of the hidden tests that the visible part of their cell does not contain."""
    lines = set()
    for cell in read(source_notebook(aid)).cells:
        visible = re.sub(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines |= {l.strip() for l in block.splitlines() if len(l.strip()) > 15 and l.strip() not in visible}
    return lines


def test_solution_earns_full_marks_with_json_and_feedback(tmp_path):
    notebook = sub.write(sub.solution("l1"), tmp_path / "my work.ipynb")
    done = grade(notebook, "--assignment", "l1", "--json", "--feedback", tmp_path / "pages")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["assignment"] == "l1" and report["score"] == report["max_score"] - report["pending"] == 13.5
    assert report["pending"] == 2 and report["status"] == "graded"
    assert {"grade_id", "score", "max_score", "message"} <= set(report["items"][0])
    assert Path(report["feedback"]).parent == tmp_path / "pages" and Path(report["feedback"]).is_file()


def test_untouched_exercise_scores_zero_with_a_table(tmp_path):
    notebook = sub.write(sub.exercise("warmup"), tmp_path / "warmup.ipynb")
    done = grade(notebook)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^total\s+0 / 3$", done.stdout, re.M), done.stdout
    assert "NotImplementedError" in done.stdout
    assert (tmp_path / "warmup-feedback.html").is_file()


@pytest.mark.tier2
def test_partly_correct_notebook_loses_exactly_the_broken_points(tmp_path):
    nb = sub.with_function("warmup", "regularized_cost", NEGATIVE_LAM_ACCEPTED)
    notebook = sub.write(nb, tmp_path / "warmup.ipynb")
    done = grade(notebook, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    items = {i["grade_id"]: i for i in report["items"]}
    assert report["score"] == 2
    assert items["test_regularized_cost"]["score"] == 2
    assert items["test_regularized_cost_rejects_negative_lam"]["score"] == 0
    assert "raise ValueError" in items["test_regularized_cost_rejects_negative_lam"]["message"]


@pytest.mark.tier2
def test_assignment_found_from_the_cells_when_the_file_is_renamed(tmp_path):
    nb = sub.with_function("warmup", "regularized_cost", NEGATIVE_LAM_ACCEPTED)
    notebook = sub.write(nb, tmp_path / "homework 1 final.ipynb")
    done = grade(notebook)
    assert done.returncode == 0 and "assignment warmup" in done.stdout


def test_feedback_never_shows_hidden_tests(tmp_path):
    """A notebook failing every hidden test: its feedback holds none of their lines."""
    wrong = "def l2_penalty(params, lam):\n    return 0.0"
    nb = sub.with_function("l2", "l2_penalty", wrong)
    nb = sub.tests_replaced(nb)  # tries to see the tests by editing them: restored anyway
    notebook = sub.write(nb, tmp_path / "l2.ipynb")
    done = grade(notebook)
    assert done.returncode == 0, done.stderr
    page = html.unescape((tmp_path / "l2-feedback.html").read_text())
    leaked = [line for line in hidden_lines("l2") if line in page]
    assert not leaked, f"hidden test lines in the feedback: {leaked[:3]}"
    assert "BEGIN HIDDEN TESTS" not in page
    assert "Grading report" in page and "l2_penalty" in page


@pytest.mark.parametrize("make", ["directory", "not json", "json list", "unknown assignment", "missing"])
def test_ungradable_input_exits_2_with_one_line(make, tmp_path):
    target = tmp_path / "thing.ipynb"
    if make == "directory":
        target.mkdir()
    elif make == "not json":
        target.write_bytes(sub.NOT_JSON)
    elif make == "json list":
        target.write_bytes(sub.NOT_A_NOTEBOOK)
    elif make == "unknown assignment":
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("print('hello')")]
        nbformat.write(nb, str(target))
    done = grade(target if make != "missing" else tmp_path / "nowhere.ipynb")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("regcourse: cannot grade")


@pytest.mark.tier2
def test_unknown_assignment_option_exits_2(tmp_path):
    notebook = sub.write(sub.solution("warmup"), tmp_path / "warmup.ipynb")
    done = grade(notebook, "--assignment", "l7")
    assert done.returncode == 2 and "unknown assignment 'l7'" in done.stderr


@pytest.mark.tier2
def test_make_grade_runs_the_same_command(tmp_path):
    notebook = sub.write(sub.exercise("warmup"), tmp_path / "warmup.ipynb")
    done = subprocess.run(["make", "-s", "grade", f"NB={notebook}"], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout and "0 / 3" in done.stdout
    usage = subprocess.run(["make", "-s", "grade"], cwd=REPO, capture_output=True, text=True)
    assert usage.returncode != 0 and "usage: make grade NB=" in usage.stderr


@pytest.mark.tier2
@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox users are root's: without root grading needs none")
def test_sandbox_setup_checks_python_as_a_user_no_grading_holds(tmp_path):
    """`sandbox setup` ends by starting Python as a sandbox user.
    A grading that ends meanwhile kills every process of its own sandbox user: the check
    must run under a slot of its own, or it dies with that grading's leftovers (CI, once).
    Here slot 0's user is killed over and over while the setup runs."""
    import threading

    from regcourse.sandbox.slots import Slot

    stop = threading.Event()
    with Slot.acquire() as held:   # a grading that holds a slot and cleans up after itself
        def clean_up_again_and_again():
            while not stop.is_set():
                held.kill_processes()
                stop.wait(0.02)

        killer = threading.Thread(target=clean_up_again_and_again)
        killer.start()
        try:
            # not --quiet: a quiet setup with nothing to change skips the check (next test)
            done = subprocess.run([*REGCOURSE, "sandbox", "setup"], capture_output=True,
                                  text=True, timeout=300)
        finally:
            stop.set()
            killer.join()
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox users are root's: without root grading needs none")
def test_make_grade_s_quiet_setup_with_nothing_to_change_skips_python_s_start_as_a_user(monkeypatch, capsys):
    """`make grade` runs `sandbox setup --quiet` before every grading. When nothing has to
    change, the check made with the change stands: it says nothing and starts no Python
    as a sandbox user (1.4 s of a learner's wait). Asked aloud, it checks again."""
    from regcourse import cli
    from regcourse.sandbox import slots

    checked = []
    monkeypatch.setattr(slots, "check_user_can_run_python", lambda user, *a: checked.append(user.pw_name))
    assert cli.main(["sandbox", "setup", "--quiet"]) == 0   # the suite's sandbox is in place
    assert (checked, capsys.readouterr().out) == ([], "")
    assert cli.main(["sandbox", "setup"]) == 0
    assert len(checked) == 1 and checked[0].startswith("regcourse-sandbox-")
    assert "nothing to change" in capsys.readouterr().out


def test_commands_leave_out_jsonschema_s_iri_parsers_which_no_schema_they_validate_uses():
    """jsonschema builds 39 parsers as it is imported when rfc3987_syntax is there (0.7 s
    of every command): the commands leave that module out. Nothing is lost: the schemas of
    notebooks and of nbgrader's cell metadata name no format at all, and validation still
    rejects what it rejected."""
    import glob

    import nbformat
    import nbgrader.nbgraderformat

    schemas = (glob.glob(os.path.join(os.path.dirname(nbformat.__file__), "v4", "*.schema.json"))
               + glob.glob(os.path.join(os.path.dirname(nbgrader.nbgraderformat.__file__), "v*.json")))
    assert len(schemas) >= 8

    def formats(node):   # the keyword's values ("format": "iri"), not a property named format
        if isinstance(node, dict):
            return ([node["format"]] if isinstance(node.get("format"), str) else []) + \
                [f for value in node.values() for f in formats(value)]
        return [f for value in node for f in formats(value)] if isinstance(node, list) else []

    assert formats({"properties": {"format": {"type": "string", "format": "iri"}}}) == ["iri"]
    for path in schemas:
        assert formats(json.loads(Path(path).read_text())) == [], path
    probe = ("import sys, regcourse.cli, nbformat\n"
             "bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
             "bad.cells[0]['execution_count'] = 'one'\n"
             "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    rejected = True\n"
             "else:\n    rejected = False\n"
             "print(sys.modules['rfc3987_syntax'], 'jsonschema' in sys.modules, rejected)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["None", "True", "True"], done.stderr


def test_a_command_leaves_its_objects_to_the_process_s_end_and_a_caller_s_alone():
    """Run from the command line, a command ends by taking its objects out of the garbage
    collector's sight (the interpreter's exit would walk them all: a third of a second after
    a grading). Called from Python with arguments, it leaves its caller's collector alone."""
    probe = ("import gc, sys, regcourse.cli as cli\n"
             "def ends(argv):\n"
             "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
             "    frozen = gc.get_freeze_count()\n    gc.unfreeze()\n    return frozen\n"
             "called = ends(['sandbox', '--help'])\n"
             "sys.argv = ['regcourse', 'sandbox', '--help']\n"
             "print(called, ends(None) > 0)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split()[-2:] == ["0", "True"], done.stdout + done.stderr


@pytest.mark.tier2
def test_the_formgrader_hook_grades_through_hub_grade_without_the_sudo_rule(tmp_path):
    """The formgrader's autograde button runs the hook; in a classroom without its sudo
    rule the hook runs ``regcourse hub-grade`` as the instructor, the same command the
    rule runs as root. The course's scores reach nbgrader as errors in the cells it scored
    0, the course's report comes first, and the footer says whose user ran the code."""
    import shutil

    from regcourse.grading.feedback import REPORT_CELL
    from regcourse.grading.nbgrader_hook import grade, with_course_scores

    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / "warmup", course / "source" / "warmup")
    course.chmod(0o700)
    nb = sub.with_function("warmup", "regularized_cost", NEGATIVE_LAM_ACCEPTED)
    result, graded = grade(nb, "warmup", course, as_root=False)
    assert (result.score, result.max_score) == (2, 3)
    assert graded.cells[0].get("id") == REPORT_CELL and "2 / 3" in graded.cells[0].source
    errors = {nbgrader_meta(c).get("grade_id"): [o for o in c.get("outputs", []) if o.output_type == "error"]
              for c in with_course_scores(graded, result).cells if nbgrader_meta(c).get("grade")}
    assert errors["test_regularized_cost"] == [] and len(errors["test_regularized_cost_rejects_negative_lam"]) == 1
    whose = "unprivileged user" if os.geteuid() == 0 else "the grader's user"
    assert whose in result.isolation, result.isolation


@pytest.mark.tier2
def test_the_formgrader_hook_grades_a_class_with_one_grader(tmp_path, monkeypatch):
    """nbgrader autogrades a class one notebook after another in one process: the hook keeps
    one ``hub-grade`` for all of them, each graded as it would be alone, and the
    grader ends when the process closes it."""
    import shutil

    from regcourse.grading import nbgrader_hook

    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / "warmup", course / "source" / "warmup")
    course.chmod(0o700)
    wrong = sub.with_function("warmup", "regularized_cost", NEGATIVE_LAM_ACCEPTED)
    scores, servers = [], []
    for nb in (wrong, sub.solution("warmup"), sub.exercise("warmup"), wrong):
        scores.append(nbgrader_hook.grade(nb, "warmup", course, as_root=False)[0].score)
        servers.append(nbgrader_hook._SERVERS[("warmup", str(course), False)])
    assert scores == [2, 3, 0, 2]
    assert len(set(map(id, servers))) == 1 and servers[0].process.poll() is None
    # sources changed since: the next notebook gets a grader that read them again
    (course / "source" / "warmup" / "warmup.ipynb").touch()
    assert nbgrader_hook.grade(wrong, "warmup", course, as_root=False)[0].score == 2
    assert servers[0].process.returncode == 0 and nbgrader_hook._SERVERS[("warmup", str(course), False)] is not servers[0]
    newer = nbgrader_hook._SERVERS[("warmup", str(course), False)]
    nbgrader_hook._close_servers()
    assert newer.process.returncode == 0 and not nbgrader_hook._SERVERS
    # inside a formgrader's long-lived server: a grader left idle ends by itself
    monkeypatch.setattr(nbgrader_hook, "IDLE_SECONDS", 0.5)
    assert nbgrader_hook.grade(wrong, "warmup", course, as_root=False)[0].score == 2
    idle = nbgrader_hook._SERVERS[("warmup", str(course), False)]
    deadline = time.monotonic() + 30
    while idle.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert idle.closed and idle.process.returncode == 0
    assert nbgrader_hook.grade(wrong, "warmup", course, as_root=False)[0].score == 2   # a new one starts
    # a grader that ended between two notebooks (here: its input closed behind the hook's
    # back; killed or out of memory alike) is replaced, not reported as a failed grading
    died = nbgrader_hook._SERVERS[("warmup", str(course), False)]
    died.process.stdin.close()
    died.process.wait(timeout=60)
    assert nbgrader_hook.grade(sub.solution("warmup"), "warmup", course, as_root=False)[0].score == 3
    assert nbgrader_hook._SERVERS[("warmup", str(course), False)] is not died
    nbgrader_hook._close_servers()


@pytest.mark.tier2
def test_nbgrader_autograde_of_a_class_grades_ahead_on_a_second_core(tmp_path):
    """``nbgrader autograde <assignment>`` (the formgrader's route) grades a class one
    submission after another; through the hook a second grader takes the class from its far
    end. Each student is graded once, with the grade that notebook gets alone, and nbgrader
    takes an answer graded ahead only for the very notebook it hands the hook; a student
    nbgrader skips (autograded before, not forced) is not graded ahead either."""
    from benchmarks.classroom import signed

    wrong = sub.with_function("warmup", "regularized_cost", NEGATIVE_LAM_ACCEPTED)
    expected = {"ann": 3, "bob": 2, "cat": 0, "dan": 3, "eve": 2, "fay": 0, "gus": 3, "hal": 2}
    notebooks = {3: sub.solution("warmup"), 2: wrong, 0: sub.exercise("warmup")}
    # every notebook differs (answers are matched to notebooks by content)
    course = sub.class_folder(tmp_path / "course", "warmup", {s: signed(notebooks[v], s) for s, v in expected.items()})
    # as `regcourse classroom up` writes it: the sources in source/, autograde through the hook
    (course.root / course.source_directory).rename(course.root / "source")
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write("\nc.CourseDirectory.source_directory = 'source'\n"
                     "from regcourse.grading.nbgrader_hook import autograde_preprocessors\n"
                     "c.Autograde.autograde_preprocessors = autograde_preprocessors()\n")
    course.root.chmod(0o700)
    nbgrader = [str(Path(sys.executable).with_name("nbgrader")), "autograde", "warmup"]

    def autograde(*options):
        done = subprocess.run([*nbgrader, *options], cwd=course.root, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stderr

    assert "ahead" not in autograde("--student", "dan")   # one student (the formgrader's button)
    log = autograde()
    graded = re.findall(r"regcourse graded (\w+)'s warmup: ([\d.]+) / 3", log)
    assert sorted(s for s, _ in graded) == sorted(set(expected) - {"dan"}), log[-3000:]
    assert {s: float(v) for s, v in graded} == {s: v for s, v in expected.items() if s != "dan"}
    assert "regcourse grades 6 submissions of warmup ahead of nbgrader, the last first" in log, log[-3000:]
    ahead = re.findall(r"regcourse graded (\w+)'s warmup ahead of nbgrader", log)
    taken = re.findall(r"regcourse graded (\w+)'s warmup: [\d.]+ / 3 .*\(graded ahead\)", log)
    # what was graded ahead was taken, each once: nothing graded twice, none for dan
    assert len(ahead) == len(set(ahead)) and sorted(ahead) == sorted(taken) and "dan" not in ahead, log[-3000:]
    assert taken and "ann" not in taken, log[-3000:]   # nbgrader's first is its own
    with course.gradebook() as gb:
        assert {s: gb.find_submission("warmup", s).score for s in expected} == expected
    # the class report: written once, after nbgrader's last notebook, and counting everyone
    assert log.count("regcourse wrote the class report of warmup") == 1, log[-3000:]
    assert f"{len(expected)} graded submissions" in (course.root / "reports" / "warmup.html").read_text()


def test_the_footer_says_whose_user_ran_the_code():
    """Without root, a learner's own grading runs as the learner; a classroom's autograde
    without its sudo rule runs as the grader's user, and the footer says so."""
    from regcourse.sandbox.slots import Slot

    slot = Slot(0, None, None)
    assert "your own user" in slot.isolation()
    assert "the grader's user" in slot.isolation(for_class=True) and "without root" in slot.isolation(for_class=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox users are root's: without root grading needs none")
def test_as_root_without_the_sandbox_grade_says_in_one_line_what_to_run(tmp_path):
    """A learner who clones the course as root (a container, say) and grades at once: the
    grader cannot run their code as a sandbox user while its sources are readable by
    everyone. One line names the command that fixes it; no traceback."""
    import shutil

    source = tmp_path / "solutions"
    shutil.copytree(REPO / "solutions", source)
    source.chmod(0o755)
    tmp_path.chmod(0o755)
    notebook = sub.write(sub.solution("warmup"), tmp_path / "warmup.ipynb")
    done = grade(notebook, "--source", source)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "regcourse sandbox setup" in done.stderr and str(source) in done.stderr
    assert "Traceback" not in done.stderr


def test_an_error_of_the_machine_ends_in_one_line(tmp_path, monkeypatch, capsys):
    """Whatever the machine refuses (an unreadable file, a user that cannot run Python),
    every command ends with one line and exit status 2, never a traceback."""
    from regcourse import cli

    def refuse(args):
        raise PermissionError(13, "Permission denied", "/somewhere/.venv/bin/python")

    monkeypatch.setattr(cli, "cmd_autograde", refuse)
    monkeypatch.setattr(cli, "_early_factory", lambda argv: None)
    assert cli.main(["autograde", "l2", "--course", str(tmp_path)]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("regcourse: ") and "Permission denied" in said[0], said
