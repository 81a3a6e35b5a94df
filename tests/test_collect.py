"""A collect while a student submits (issue 25): the course's collect takes a submission
whole or leaves it waiting for the next collect, where nbgrader's own copies it half-written.

The submit is nbgrader's own; the test runs a collect at the moment it has copied the
notebook into the exchange but not yet finished (timestamp, secret, permissions)."""

import json

import pytest
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeCollect, ExchangeSubmit
from traitlets.config import Config

from regcourse.grading.collect import FinishedSubmissionsCollect


@pytest.fixture
def exchange(tmp_path, monkeypatch):
    """An exchange with l2 released, a student's folder and an instructor's course."""
    root = tmp_path / "exchange"
    (root / "regcourse" / "outbound" / "l2").mkdir(parents=True)
    (root / "regcourse" / "outbound" / "l2" / "l2.ipynb").write_text("{}")
    (root / "regcourse" / "inbound").mkdir()
    (tmp_path / "student" / "l2").mkdir(parents=True)
    (tmp_path / "course").mkdir()
    monkeypatch.chdir(tmp_path / "student")   # nbgrader submits the folder it runs in
    return tmp_path


def _config(folder, user_root):
    c = Config()
    c.CourseDirectory.root = str(user_root)
    c.CourseDirectory.course_id = "regcourse"
    c.CourseDirectory.assignment_id = "l2"
    c.Exchange.root = str(folder / "exchange")
    c.Exchange.cache = str(folder / "cache")
    c.ExchangeCollect.update = True   # `nbgrader collect --update`: a newer submission replaces the one collected
    return c


def _run(kind, folder, user_root):
    c = _config(folder, user_root)
    kind(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c).start()


def _collected(folder) -> list[dict]:
    """What the course holds for each student: the notebook's words and the timestamp."""
    found = []
    for submitted in sorted((folder / "course" / "submitted").glob("*/l2")):
        stamp = submitted / "timestamp.txt"
        found.append({"notebook": (submitted / "l2.ipynb").read_text(),
                      "timestamp": stamp.read_text() if stamp.exists() else None})
    return found


def _submit_with_a_collect_midway(folder, notebook: str, collect) -> list[dict]:
    """Submit ``notebook``; when nbgrader has copied it in but not finished, collect."""
    (folder / "student" / "l2" / "l2.ipynb").write_text(notebook)
    seen = []
    submit = ExchangeSubmit.do_copy

    def copy_then_collect(self, src, dest, *args, **kwargs):
        submit(self, src, dest, *args, **kwargs)
        if "inbound" in dest and not seen:
            _run(collect, folder, folder / "course")
            seen.append(_collected(folder))

    ExchangeSubmit.do_copy = copy_then_collect
    try:
        _run(ExchangeSubmit, folder, folder / "student")
    finally:
        ExchangeSubmit.do_copy = submit
    return seen[0]


def test_a_submission_being_copied_in_waits_for_the_next_collect(exchange):
    first = json.dumps({"answer": 1})
    assert _submit_with_a_collect_midway(exchange, first, FinishedSubmissionsCollect) == []
    _run(FinishedSubmissionsCollect, exchange, exchange / "course")
    (done,) = _collected(exchange)
    assert done["notebook"] == first and done["timestamp"]
    # a second submission, collected midway: the first, finished one stays the one collected
    second = json.dumps({"answer": 2})
    assert _submit_with_a_collect_midway(exchange, second, FinishedSubmissionsCollect) == [done]
    _run(FinishedSubmissionsCollect, exchange, exchange / "course")
    (latest,) = _collected(exchange)
    assert latest["notebook"] == second and latest["timestamp"] > done["timestamp"]


def test_nbgrader_alone_collects_a_submission_half_copied(exchange):
    """The race the course's collect closes: nbgrader's own collect takes the folder before
    the submit has finished it (no timestamp yet)."""
    midway = _submit_with_a_collect_midway(exchange, "{}", ExchangeCollect)
    assert midway == [{"notebook": "{}", "timestamp": None}]


def test_the_course_collects_with_it():
    from regcourse import REPO

    assert 'c.ExchangeFactory.collect = "regcourse.grading.collect.FinishedSubmissionsCollect"' in \
        (REPO / "nbgrader_config.py").read_text()
