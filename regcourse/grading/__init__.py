"""Grading: nbgrader course folders, the grading of one submission, and class grading.

- :mod:`.course` -- nbgrader course folders the grader creates and reads.
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
