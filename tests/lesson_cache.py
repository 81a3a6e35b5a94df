"""pytest plugin: one execution of each lesson notebook, shared by nbval and the site build,
and an order of the run that keeps both workers busy.

When the site's execution cache already holds a lesson whose code has not changed (a
`make book` or an earlier test run executed it), nbval does not run it again: each of its
cells passes when its cached outputs hold no error, exactly what ``--nbval-lax`` asks of a
fresh run.

Loaded for the whole run (``-p lesson_cache`` in pyproject.toml) rather than from
tests/conftest.py, because pytest applies a conftest only to the tests below it and the
lessons (book/) are not below tests/.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# -- one execution of each lesson notebook, shared by nbval and the site build ------------
#
# nbval runs every lesson notebook (a failing cell fails its test). When all the cells of
# a lesson pass, the executed notebook goes into the site's jupyter-cache, so that the
# site build shows those outputs instead of running the notebook a second time; a lesson
# that fails is not cached, and the build runs it again and fails too. Nothing is
# checked less, and on a clean clone each lesson runs once instead of twice.

BOOK = REPO / "book"
BUILD = REPO / "_build"
CACHE = BUILD / ".jupyter_cache"
DONE = BUILD / ".nbval-done"
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
_lessons_in_run: set[str] = set()
_failed: set[str] = set()
_from_cache: set[str] = set()


def _book_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and Path(str(item.parent.fspath)).is_relative_to(BOOK)


# -- order of the run ----------------------------------------------------------------
#
# The site tests wait until nbval has run every lesson, so the lessons go first and the
# browser tests (the longest module, which builds the site) right after them; everything
# else follows in collection order. With `--no-loadscope-reorder` pytest-xdist hands out
# files in this order, so neither worker idles while the other still runs a lesson
# (sorting by size instead put the browser tests first: one worker waited ten minutes).
# the longest modules, started as soon as the lessons are done, one per worker
LONG_MODULES = {"test_site_browser.py", "test_learner_routes.py", "test_classroom.py",
                "test_grading_hostile.py", "test_grading_honest.py"}


def _rank(item) -> int:
    path = Path(str(item.fspath))
    if path.is_relative_to(BOOK):
        return 0
    return 1 if path.name in LONG_MODULES else 2


def pytest_collection_modifyitems(session, config, items):
    # every xdist worker collects the whole run, so each knows which lessons nbval runs
    _lessons_in_run.update(str(i.parent.fspath) for i in items if _book_cell(i))
    items.sort(key=_rank)  # stable: the order within each rank is kept
    for path in sorted(_lessons_in_run):
        executed = _cached(path)
        if executed is None:
            continue
        _from_cache.add(path)
        cells = [c for c in executed.cells if c.cell_type == "code"]
        for item in items:
            if _book_cell(item) and str(item.parent.fspath) == path:
                item.parent.setup = lambda: None     # no kernel: nothing runs
                item.runtest = _cached_cell_check(cells[item.cell_num], item.cell_num)


def _cached(path: str):
    """The site cache's execution of the lesson in ``path`` when its code is unchanged."""
    import nbformat
    from jupyter_cache import get_cache

    if not CACHE.is_dir():
        return None
    cache = get_cache(str(CACHE))
    try:
        record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return None
    return cache.get_cache_bundle(record.pk).nb


def _cached_cell_check(cell, number: int):
    def check():
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            pytest.fail(f"Cell {number} raised {errors[0].get('ename')}: {errors[0].get('evalue')} "
                        "(its execution in the site's cache)")
    return check


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _book_cell(item):
        return
    report = outcome.get_result()
    path = str(item.parent.fspath)
    if path in _from_cache:
        pass   # already in the cache: nothing ran
    elif call.when == "call" and report.passed:
        item.cell.outputs = list(item.test_outputs or [])
    elif report.failed or report.skipped:
        _failed.add(path)
    last = [c for c in item.parent.nb.cells if c.cell_type == "code"][-1]
    if call.when == "teardown" and item.cell is last:
        if path not in _failed and path not in _from_cache:
            _cache_executed(item.parent.nb, path)
        _marker(path).parent.mkdir(parents=True, exist_ok=True)
        _marker(path).write_text(RUN_ID)


def _marker(path: str) -> Path:
    return DONE / (Path(path).relative_to(BOOK).as_posix().replace("/", "__") + ".done")


def _cache_executed(nb, path: str) -> None:
    from filelock import FileLock
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    BUILD.mkdir(exist_ok=True)
    with FileLock(str(BUILD / ".jupyter_cache.lock")):
        get_cache(str(CACHE)).cache_notebook_bundle(CacheBundleIn(nb, path), check_validity=False, overwrite=True)


def wait_for_lessons(timeout: float = 600.0) -> None:
    """Wait until nbval has finished every lesson of this run (pass or fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_marker(p).exists() and _marker(p).read_text() == RUN_ID for p in _lessons_in_run):
            return
        time.sleep(1)
    # a lesson never finished (its worker crashed?): the build will execute it itself


