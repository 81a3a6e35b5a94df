"""`regcourse sandbox setup` and `remove`: every change to the machine is said, made once,
recorded with what it replaced, and undone exactly.

These tests change the machine (as root only): they create and delete two users named
``regcourse-hosttest-0`` and ``-1`` and change the mode of folders under pytest's
temporary directory; both are undone before each test ends, even when it fails."""

import pwd

import pytest

from regcourse.sandbox import host

pytestmark = pytest.mark.skipif(not host.is_root(), reason="creating users and changing modes needs root")


@pytest.fixture
def small_pool(monkeypatch, tmp_path):
    """Two users of a prefix of their own and a state file of their own: nothing the
    grading tests on other workers use."""
    monkeypatch.setattr(host, "USER_PREFIX", "regcourse-hosttest-")
    monkeypatch.setattr(host, "POOL_SIZE", 2)
    monkeypatch.setattr(host, "STATE_FILE", tmp_path / "state" / "changes.json")
    yield
    host.remove()   # whatever a failed test left


def users():
    return sorted(u.pw_name for u in pwd.getpwall() if u.pw_name.startswith("regcourse-hosttest-"))


def test_setup_says_each_change_once_and_remove_undoes_it(small_pool, tmp_path):
    private, public = tmp_path / "solutions", tmp_path / "python"
    private.mkdir(mode=0o755)
    public.mkdir(mode=0o700)
    private.chmod(0o755)
    public.chmod(0o700)
    record = tmp_path / "run.json"

    said = host.setup(protect=[private], reachable=[public], record=record)
    assert users() == ["regcourse-hosttest-0", "regcourse-hosttest-1"]
    assert [line.split(" (")[0] for line in said[:2]] == ["created user regcourse-hosttest-0",
                                                          "created user regcourse-hosttest-1"]
    assert any(f"700 -> 701 on {public}" in line for line in said)
    assert any(f"755 -> 750 on {private}" in line for line in said)
    assert len(said) == 4
    assert host.setup(protect=[private], reachable=[public], record=record) == []   # idempotent

    undone = host.remove(record=record)
    assert users() == []
    assert oct(host.stat_mode(private)) == oct(0o755) and oct(host.stat_mode(public)) == oct(0o700)
    assert len(undone) == 4 and not record.exists() and not host.STATE_FILE.exists()


def test_remove_with_a_record_leaves_an_earlier_sandbox_alone(small_pool, tmp_path):
    """make test undoes only its own run: a sandbox an instructor set up stays."""
    folder = tmp_path / "course"
    folder.mkdir()
    folder.chmod(0o755)
    host.setup(protect=[folder], reachable=[], record=None)        # the instructor's setup
    record = tmp_path / "run.json"
    assert host.setup(protect=[folder], reachable=[], record=record) == []   # make test finds it done
    assert host.remove(record=record) == []
    assert users() == ["regcourse-hosttest-0", "regcourse-hosttest-1"]
    assert host.stat_mode(folder) == 0o750
    host.remove()                                                   # the instructor's own undo
    assert users() == [] and host.stat_mode(folder) == 0o755
