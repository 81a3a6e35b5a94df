"""Helpers shared by the lesson notebooks of the course *Regularization in neural networks*.

- :mod:`regcourse.data` -- data sets (scikit-learn's digits, synthetic regression and
  classification problems); everything is generated or bundled, nothing is downloaded.
- :mod:`regcourse.training` -- a small torch training loop that returns a history.
- :mod:`regcourse.plotting` -- the few plot helpers the lessons share.
- :mod:`regcourse.notebooks`, :mod:`regcourse.release` -- reading notebooks, regenerating
  ``exercises/`` from ``solutions/``.
- :mod:`regcourse.cli` -- the ``regcourse`` command (self-grading, class grading).

Exercise notebooks never import this package: each one is self-contained.
"""

from pathlib import Path

__version__ = "0.1.0"
# The folder above this package: a clone's root when installed from one (editable).
REPO = Path(__file__).resolve().parent.parent
