"""Numbers the prose quotes: printed by the cell that measures them, and handed to the site.

A lesson cell calls ``quote("dropout_gain_1024", gain, "+.3f")``: the number is printed
with its name, and stored in the notebook (myst-nb's *glue*) for the text to cite. A
sentence then writes ``{glue:text}`dropout_gain_1024``` in the same notebook, or
``{glue:text}`lesson.ipynb::dropout_gain_1024``` in the chapter's theory page, and the
site shows exactly the printed value: a sentence and its measurement cannot drift apart.
``make book`` fails when a cited name was never quoted.

An effect measured over several seeds is quoted with its spread:
``quote_spread("dropout_gain_1024", gains, "+.3f")`` prints and stores
"+0.028 ± 0.006", the mean and the sample standard deviation over the seeds.

Outside the site build (Colab, Binder, a plain Jupyter) only the printing happens.
"""

from __future__ import annotations

import numpy as np


def _glue(name: str, text: str) -> None:
    try:
        from IPython import get_ipython
        from myst_nb import glue
    except ImportError:   # not installed where the lesson runs: printing is enough
        return
    if get_ipython() is not None:
        glue(name, text, display=False)


def quote(name: str, value, fmt: str = ".3g", unit: str = "") -> str:
    """Print ``value`` as ``name: value`` and store it for the text; returns the text."""
    text = format(value, fmt) + unit
    print(f"{name}: {text}")
    _glue(name, text)
    return text


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1) of ``values``."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def quote_spread(name: str, values, fmt: str = ".3f", unit: str = "", resolution: float | None = None) -> str:
    """Quote the mean of ``values`` (one per seed) with its standard deviation: "m ± s".

    ``resolution``: the smallest difference the measurement can show (one test example, for
    an accuracy). A spread below it is quoted as "< resolution", never as a zero that the
    data cannot show."""
    mean, sd = mean_sd(values)
    spread = format(sd, fmt.lstrip("+"))
    if resolution is not None and sd < resolution:
        spread = "< " + format(resolution, fmt.lstrip("+"))
    text = f"{format(mean, fmt)} ± {spread}{unit}"
    print(f"{name}: {text} (mean ± sd over {len(np.atleast_1d(values))} seeds)")
    _glue(name, text)
    return text
