"""Fixtures shared by the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from regcourse.authoring.notebooks import REPO  # noqa: E402
from regcourse.authoring.release import assignment_ids  # noqa: E402

ASSIGNMENTS = assignment_ids(REPO / "solutions")
# The longest line a lesson's code may have: what the site shows without scrolling in
# the content column of a 1280-pixel-wide page (test_site_browser measures it).
LESSON_CODE_WIDTH = 88


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def course_template(tmp_path_factory):
    """A course folder whose gradebook knows every assignment (built once per worker)."""
    from regcourse.grading.course import Course

    root = tmp_path_factory.mktemp("template") / "course"
    return Course.create(root, REPO / "solutions", REPO / "nbgrader_config.py", ASSIGNMENTS)


@pytest.fixture(scope="session")
def grader(tmp_path_factory):
    """The course's full grader (nbgrader, sandbox, trusted checks) for every assignment."""
    from catalogues import shared_factory
    from regcourse.grading.grader import Grader

    with Grader(REPO / "solutions", REPO / "nbgrader_config.py", workdir=tmp_path_factory.mktemp("grader"),
                kernel_factory=shared_factory()) as g:
        yield g


@pytest.fixture
def course(course_template, tmp_path):
    """A private copy of the template course for one test."""
    return course_template.clone(tmp_path / "course")


def build_site(*extra: str, cwd: Path = REPO):
    """Run the site build exactly as `make book` does; returns the CompletedProcess."""
    import subprocess
    import sys

    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run([str(jupyter_book), "build", ".", "-W", "-n", "--keep-going", *extra],
                          cwd=cwd, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """``_build/html``, built once per test run even when several workers ask for it."""
    from filelock import FileLock

    from lesson_cache import BUILD, RUN_ID, wait_for_lessons

    BUILD.mkdir(exist_ok=True)
    stamp = BUILD / ".built-by-test-run"
    wait_for_lessons()
    with FileLock(str(BUILD / ".test-build.lock")):
        if not (stamp.exists() and stamp.read_text() == RUN_ID):
            with FileLock(str(BUILD / ".jupyter_cache.lock")):
                result = build_site()
            assert result.returncode == 0, \
                f"site build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            stamp.write_text(RUN_ID)
    return BUILD / "html"


def toc_files() -> list[str]:
    """Every page of the table of contents, root first, as paths without suffix."""
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


# -- the browser (Debian's Chromium, driven by Playwright) -----------------------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "_build" / "screenshots"


def missing_tool(what: str):
    """Skip with the reason; under CI=true a missing tool is a failure, never a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: the browser tests must run)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        missing_tool(f"Chromium is not installed at {CHROMIUM}: browser tests skipped "
                     "(install it with `apt-get install chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
