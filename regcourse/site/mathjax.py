"""Sphinx extension: serve MathJax 3 from the site itself, so equations render offline.

Sphinx loads MathJax from a CDN by default; without network (a learner offline, CI,
this course's machines) every equation would stay raw TeX. The PyPI package
``django-static-mathjax`` ships MathJax 3's browser files as the package ``mathjax``;
this extension copies the part the pages use into ``_static/mathjax`` and points
``mathjax_path`` at it. Listed under ``sphinx.extra_extensions`` in ``_config.yml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

MATHJAX_PATH = "mathjax/tex-chtml.js"  # relative to the site's _static folder
# The combined TeX -> CommonHTML component, its fonts, the TeX extensions it may
# autoload, and the menu (right-click on an equation) with its accessibility helpers.
PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y"]


def mathjax_source() -> Path:
    import mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _use_local_mathjax(app, config) -> None:
    config.mathjax_path = MATHJAX_PATH


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def setup(app):
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
