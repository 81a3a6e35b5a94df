"""The classroom's one sudo rule: the instructor may run ``regcourse hub-grade`` as root,
and nothing else, so that the formgrader's autograde runs kernels as the sandbox users.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .state import State
from .users import VENV

SUDOERS = Path("/etc/sudoers.d")


def install_rule(state: State, say) -> str:
    """Let the instructor grade as root with exactly one command, ``regcourse hub-grade``,
    so that the formgrader's autograde runs kernels as the sandbox users (see
    :mod:`regcourse.grading.nbgrader_hook`). Without sudo, grading runs as the instructor."""
    sudo, visudo = shutil.which("sudo"), shutil.which("visudo", path="/usr/sbin:/sbin:/usr/bin")
    if not sudo or not visudo:
        say("regcourse classroom: sudo is not installed: autograde will run kernels as the instructor")
        return ""
    rule = SUDOERS / f"regcourse-classroom-{state.tag}"
    # written under a name sudo ignores (it skips names with a dot), checked, then moved
    # into place: sudo never reads a rule visudo has not accepted
    fd, draft = tempfile.mkstemp(prefix=".regcourse-", dir=SUDOERS)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"# written by regcourse classroom up; removed by regcourse classroom down\n"
                    f"{state.instructor} ALL=(root) NOPASSWD: {VENV / 'bin' / 'regcourse'} hub-grade *\n")
        os.chmod(draft, 0o440)
        checked = subprocess.run([visudo, "-cf", draft], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"visudo rejected the classroom's sudo rule: {checked.stdout}{checked.stderr}")
        os.rename(draft, rule)
    finally:
        if os.path.lexists(draft):
            os.unlink(draft)
    say(f"regcourse classroom: {rule}: {state.instructor} may run `regcourse hub-grade` as root")
    return str(rule)
