"""Grading: one submission, or a class, against the hidden tests and trusted checks.

In the order a grading goes through them:

- :mod:`.submission` -- what a submitted notebook is and which assignment it belongs to.
- :mod:`.course` -- the private nbgrader course folders the grader works in.
- :mod:`.grader` -- grading one submission: nbgrader's autograde with the kernel in a
  sandbox (:mod:`regcourse.sandbox`), and the result.
- :mod:`.execute` -- the preprocessors it adds to nbgrader's autograde.
- :mod:`.upstream` -- each mistake costs its own cells once.
- :mod:`.trusted` -- checks student code cannot forge: the probe, its outputs, the
  comparison by the rules of :mod:`.checks` (one module per assignment);
  :mod:`.reference` -- the course's solutions run beside it, for the expected values.
- :mod:`.tampering` -- static evidence of an attack, read from the code.
- :mod:`.verdicts` -- the scoring policy: from what was found to each cell's verdict.
- :mod:`.hints`, :mod:`.tracebacks` -- the likely cause of a failure, in the learner's cells.
- :mod:`.report`, :mod:`.feedback`, :mod:`.safe_html` -- the result as text, as a learner's
  feedback page, and as an instructor sees it.
- :mod:`.batch` -- a whole class (``regcourse autograde``), crash-safe;
  :mod:`.class_report` -- what the class got wrong (``regcourse report``).
- :mod:`.nbgrader_hook` -- what the formgrader's "autograde" button runs in a classroom.

Importing this package speeds up nbgrader's gradebook creation (below) and puts this
environment's tools first on PATH.
"""

import warnings

# nbgrader 0.9 adds gradebook rows in a way SQLAlchemy 2 warns about; harmless noise.
warnings.filterwarnings("ignore", message="Object of type <", module="nbgrader")

import os
import sys

# nbgrader runs `alembic` (and kernels run `python`) through PATH: make the tools of
# this interpreter's environment win even when it was started without activating it.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


def _alembic_head() -> str:
    """The newest gradebook schema revision, read from nbgrader's migration scripts.

    nbgrader asks the ``alembic`` command for it whenever it creates a gradebook, which
    costs seconds per course folder; the scripts say it just as well.
    """
    import re
    from pathlib import Path

    from nbgrader.dbutil import ALEMBIC_DIR

    revisions, parents = set(), set()
    for script in Path(ALEMBIC_DIR, "versions").glob("*.py"):
        text = script.read_text()
        revision = re.search(r"^revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        parent = re.search(r"^down_revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        if revision:
            revisions.add(revision.group(1))
        if parent:
            parents.add(parent.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"cannot tell nbgrader's gradebook schema version (heads: {sorted(heads)})")
    return heads.pop()


def _use_fast_alembic_head() -> None:
    import functools

    import nbgrader.api

    nbgrader.api.get_alembic_version = functools.lru_cache(maxsize=1)(_alembic_head)


_use_fast_alembic_head()
