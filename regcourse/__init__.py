"""The course *Regularization in neural networks*: its helper package and its tools.

What learners install (numpy, torch, matplotlib and scikit-learn only):

- :mod:`regcourse.data` -- data sets (scikit-learn's digits, synthetic regression and
  classification problems); everything is generated or bundled, nothing is downloaded.
- :mod:`regcourse.training` -- a small torch training loop that returns a history.
- :mod:`regcourse.plotting` -- the few plot helpers the lessons share.
- :mod:`regcourse.quote` -- a measured number as the prose quotes it.

What the course's authors, instructors and the site use:

- :mod:`regcourse.cli` -- the ``regcourse`` command.
- :mod:`regcourse.authoring` -- notebooks, ``exercises/`` released from ``solutions/``.
- :mod:`regcourse.site` -- the site's Sphinx extensions.
- :mod:`regcourse.grading` -- grading a submission or a class, with trusted checks.
- :mod:`regcourse.sandbox` -- where a submission's code runs.
- :mod:`regcourse.classroom` -- a local JupyterHub with nbgrader.

Exercise notebooks never import this package: each one is self-contained.
"""

from pathlib import Path

__version__ = "0.1.0"
# The folder above this package: a clone's root when installed from one (editable).
REPO = Path(__file__).resolve().parent.parent
