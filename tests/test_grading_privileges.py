"""Root gives privileges up, and follows no one else's links (issue 24, findings 2 and 4).

As root the grader runs the course's own solutions (the reference run) as well as the
submissions. Both run as sandbox users: an instructor who edits a solution cell, or
who reaches the grader through the classroom's sudo rule, gets no more than a sandbox.
Root's own runtime files (the slots' locks, the classroom's sudo rule) never go where
another user could have prepared a link or a folder for root to follow.

What these tests change on the machine, and undo: ``/tmp/regcourse-sandbox-locks``
(where earlier versions kept the locks) is planted by ``nobody`` and removed again, an
earlier folder of that name put back; one file in ``/etc/sudoers.d`` is written and
removed.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from regcourse.authoring.notebooks import REPO

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="what root gives up can only be tested as root")

OLD_LOCKS = Path("/tmp/regcourse-sandbox-locks")   # where locks lived before: another user can make it
SUDOERS = Path("/etc/sudoers.d")
NOBODY = "nobody"


def _as_nobody(*command: str) -> None:
    subprocess.run(["runuser", "-u", NOBODY, "--", *command], check=True, capture_output=True)


@pytest.fixture(scope="module")
def planted_locks(tmp_path_factory):
    """``nobody`` makes the old lock folder first, each lock a link to a file of root's
    that does not exist yet: a grader that opens its locks there as root creates them."""
    targets = tmp_path_factory.mktemp("link-targets")
    aside = None
    if os.path.lexists(OLD_LOCKS):
        aside = OLD_LOCKS.with_name(f"{OLD_LOCKS.name}.before-test-{os.getpid()}")
        os.rename(OLD_LOCKS, aside)
    try:
        _as_nobody("mkdir", "-m", "755", str(OLD_LOCKS))
        for index in range(16):
            _as_nobody("ln", "-s", str(targets / f"created-through-link-{index}"), str(OLD_LOCKS / f"slot-{index}.lock"))
        yield targets
    finally:
        shutil.rmtree(OLD_LOCKS, ignore_errors=True)
        if aside is not None:
            os.rename(aside, OLD_LOCKS)


@pytest.fixture(scope="module")
def graded_with_a_hostile_solution(tmp_path_factory):
    """The solutions of ``warmup`` graded as root against a source whose first cell, as an
    instructor could write it, tries to write a file that only root may write and stops
    the reference run when it runs as root."""
    from regcourse.grading.grader import Grader

    top = tmp_path_factory.mktemp("hostile-source")
    root_only = top / "root-only"
    root_only.mkdir(mode=0o700)
    source = top / "source"
    shutil.copytree(REPO / "solutions" / "warmup", source / "warmup")
    notebook = source / "warmup" / "warmup.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import os\n"
        "try:\n"
        f"    open({str(root_only / 'written-by-a-solution')!r}, 'w').write(str(os.geteuid()))\n"
        "except PermissionError:\n"
        "    pass\n"
        "assert os.geteuid() != 0, 'the reference run has root'\n"))
    nbformat.write(nb, notebook)
    with Grader(source, REPO / "nbgrader_config.py", assignments=["warmup"], workdir=top / "grader") as grader:
        run = grader.grade(REPO / "solutions" / "warmup" / "warmup.ipynb", "warmup")
        yield run.result, root_only


def test_a_solution_cell_runs_without_root(graded_with_a_hostile_solution):
    result, root_only = graded_with_a_hostile_solution
    assert not (root_only / "written-by-a-solution").exists(), "a solution cell wrote a file only root may write"
    # the reference run finished (its first cell's assertion held) and the solutions kept every point
    assert result.score == result.max_score > 0, result.to_json()


def test_the_locks_follow_no_planted_link(planted_locks):
    from regcourse.sandbox.slots import Slot

    with Slot.acquire() as slot:   # what every grading as root does first
        assert slot.user is not None
    assert not list(planted_locks.iterdir()), "root created files through links another user planted"


def test_a_lock_folder_someone_else_made_is_refused(tmp_path):
    from regcourse.sandbox.slots import open_private, private_folder

    nobody = pwd.getpwnam(NOBODY)
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(RuntimeError, match="only you can use"):
        private_folder(theirs)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    with pytest.raises(RuntimeError, match="not a"):
        private_folder(link)
    mine = private_folder(tmp_path / "mine")
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700
    (mine / "slot-0.lock").symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        open_private(mine / "slot-0.lock")
    assert not (tmp_path / "target").exists()


@pytest.fixture
def fake_visudo(tmp_path, monkeypatch):
    """A visudo that records what /etc/sudoers.d holds while it checks, and accepts or
    rejects as the test says."""
    from regcourse.classroom import sudo

    if not SUDOERS.is_dir() or not shutil.which("sudo"):
        pytest.skip("no sudo on this machine")
    script = tmp_path / "visudo"
    seen = tmp_path / "seen.json"

    def make(code: int):
        script.write_text("#!/usr/bin/python3\nimport json, os, sys\n"
                          f"json.dump(sorted(os.listdir({str(SUDOERS)!r})), open({str(seen)!r}, 'w'))\n"
                          f"sys.exit({code})\n")
        script.chmod(0o755)
        real = shutil.which
        monkeypatch.setattr(sudo.shutil, "which", lambda name, **kw: str(script) if name == "visudo" else real(name, **kw))
        return seen

    return make


def test_the_sudo_rule_is_checked_before_it_is_in_place(fake_visudo, tmp_path):
    from regcourse.classroom import sudo
    from regcourse.classroom.state import State

    seen = fake_visudo(0)
    state = State(str(tmp_path), "t3st", instructor="rc-t3st-teach")
    rule = Path(sudo.install_rule(state, say=lambda line: None))
    try:
        during = json.loads(seen.read_text())
        assert rule.name not in during, "sudo could read the rule before visudo had checked it"
        assert any(name.startswith(".") for name in during), during   # the draft, a name sudo skips
        assert stat.S_IMODE(rule.stat().st_mode) == 0o440 and rule.stat().st_uid == 0
        assert "hub-grade *" in rule.read_text()
        assert not [n for n in os.listdir(SUDOERS) if n.startswith(".regcourse-")], "a draft was left"
    finally:
        rule.unlink(missing_ok=True)


def test_a_rejected_sudo_rule_never_reaches_sudo(fake_visudo, tmp_path):
    from regcourse.classroom import sudo
    from regcourse.classroom.state import State

    fake_visudo(1)
    state = State(str(tmp_path), "t4st", instructor="rc-t4st-teach")
    before = set(os.listdir(SUDOERS))
    with pytest.raises(RuntimeError, match="visudo rejected"):
        sudo.install_rule(state, say=lambda line: None)
    assert set(os.listdir(SUDOERS)) == before


def test_hub_grade_reads_no_link_an_instructor_planted(tmp_path):
    """The sudo rule's command, called by an instructor whose course links a notebook to a
    file only root may read: refused in one line, nothing of the file shown."""
    nobody = pwd.getpwnam(NOBODY)
    course = tmp_path / "course"
    (course / "source" / "l2").mkdir(parents=True)
    (course / "source" / "l2" / "l2.ipynb").symlink_to("/etc/shadow")
    for path in [course, course / "source", course / "source" / "l2", course / "source" / "l2" / "l2.ipynb"]:
        os.lchown(path, nobody.pw_uid, nobody.pw_gid)
    course.chmod(0o700)
    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "hub-grade", "l2", "--course", str(course)],
                          input="{}", capture_output=True, text=True, env={**os.environ, "SUDO_UID": str(nobody.pw_uid)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a link" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "root:" not in done.stdout + done.stderr
