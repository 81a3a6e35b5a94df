"""Sphinx extension: a change to the site's static files (CSS, JS) reaches the site.

Sphinx copies ``html_static_path`` only when it writes at least one page; when nothing
but a stylesheet changed it reports "no targets are out of date" and stops, and the
site keeps the old stylesheet. This extension remembers when the static files last
changed and, when one is newer, marks the root page as outdated so that the build
writes it and copies the static files. Listed under ``sphinx.extra_extensions`` in
``_config.yml``.
"""

from __future__ import annotations

from pathlib import Path


def _newest_static_file(app) -> float:
    newest = 0.0
    for folder in app.config.html_static_path:
        root = Path(app.confdir, folder)
        for path in root.rglob("*") if root.is_dir() else []:
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def _outdated(app, env, added, changed, removed):
    newest = _newest_static_file(app)
    seen = getattr(env, "regcourse_static_mtime", 0.0)
    env.regcourse_static_mtime = newest
    return [app.config.root_doc] if newest > seen and app.config.root_doc in env.found_docs else []


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
