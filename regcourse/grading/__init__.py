"""Grading: nbgrader course folders, the grading of one submission, and class grading.

- :mod:`.course` -- nbgrader course folders the grader creates and reads.
"""

import warnings

# nbgrader 0.9 adds gradebook rows in a way SQLAlchemy 2 warns about; harmless noise.
warnings.filterwarnings("ignore", message="Object of type <", module="nbgrader")
