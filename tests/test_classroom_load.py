"""A class of 30 on the hub at once, on each gradebook (issue 25; the load itself is
``benchmarks/classroom.py``, which `make bench` also runs for its numbers).

What it changes on the machine, and undoes whatever happens (``hub.down``): 35 Unix users
rc-<tag>-s1..s35 and an instructor (homes in a folder of /tmp), a sudo rule, the sandbox's
users, the processes of a hub, its proxy, 35 servers (and PostgreSQL), free ports on
127.0.0.1. The test checks the users and the sudo rule are gone afterwards.
"""

import json
import os

import pytest

from benchmarks.classroom import CLASS_SIZE, LATE, run_class
from conftest import REPO
from test_classroom import machine_before, machine_users  # noqa: F401 (a fixture)

# minutes: 35 servers and two class gradings per gradebook, timed; beside other tests it
# would slow them past their cell limits (and time them too), so it runs by itself
pytestmark = [pytest.mark.tier2, pytest.mark.alone]


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_class_of_30_submits_at_once_and_is_graded_once_each(db, machine_before, browser):
    if db == "postgresql":
        import glob

        if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
            pytest.fail("PostgreSQL's server is not installed (make test installs it)")
    users_before, rules_before = machine_users(), set(os.listdir("/etc/sudoers.d"))
    result = run_class(db, browser=browser)   # two of the 30 click Submit in Chromium
    (REPO / "_build").mkdir(exist_ok=True)
    (REPO / "_build" / f"classroom-load-{db}.json").write_text(json.dumps(result, indent=1) + "\n")
    assert machine_users() == users_before and set(os.listdir("/etc/sudoers.d")) == rules_before
    # every student, the late ones too, is in the gradebook exactly once, graded as alone
    assert len(result["gradebook"]) == CLASS_SIZE + LATE
    wrong = {user: (found, result["expected"][user]) for user, found in result["gradebook"].items()
             if found != {"submissions": 1, "score": result["expected"][user]}}
    assert not wrong, f"(gradebook entry, the grade alone) that differ: {wrong}"
    assert len(set(result["expected"].values())) == 3   # full, none and partial marks all present
    # the target of the issue: the Assignment List's submit, 30 at once
    assert result["submit_seconds"]["n"] == CLASS_SIZE and result["submit_seconds"]["p95"] <= 5, result
    assert len(result["browser_submit_seconds"]) == 2
