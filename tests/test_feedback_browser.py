"""The feedback page of `regcourse grade`, as a learner opens it in a browser with no
network: its equations are drawn (MathML, rendered offline), its points table has one
cell per column, the smallest failing example and, with --hint, the likely cause sit in
the row of the lost point, and the page asks for nothing outside itself.

A screenshot lands in _build/screenshots/feedback-l2-desktop.png (and -phone.png).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import submissions as sub
from conftest import SCREENSHOTS
from regcourse.authoring.notebooks import graded_cells

pytestmark = pytest.mark.tier2   # feedback pages in Chromium: `make test-all`

REGCOURSE = [sys.executable, "-m", "regcourse.cli"]
# A plausible mistake: l2_penalty that handles lists but not tuples.
LISTS_ONLY = '''
def l2_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam must be >= 0")
    if not isinstance(params, list):
        params = [params]
    return float(0.5 * lam * sum(np.sum(p ** 2) for p in params))
'''
LOST = "test_l2_penalty"


@pytest.fixture(scope="module")
def feedback_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feedback")
    notebook = sub.write(sub.with_function("l2", "l2_penalty", LISTS_ONLY), folder / "l2.ipynb")
    done = subprocess.run([*REGCOURSE, "grade", str(notebook), "--hint"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    page = folder / "l2-feedback.html"
    assert page.is_file(), done.stdout
    return page


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_feedback_page_reads_well_offline(feedback_page, browser, viewport):
    page = browser.new_page(viewport=viewport)
    outside, errors = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(feedback_page.as_uri(), wait_until="load")
    try:
        assert not outside, f"the feedback page asks for resources outside itself: {outside[:5]}"
        assert not errors, f"console errors: {errors}"

        # equations: drawn as MathML, no TeX left in the text a learner reads
        assert page.locator("math").count() > 5, "the page's equations are not rendered as MathML"
        drawn = page.evaluate("() => Array.from(document.querySelectorAll('math'))"
                              ".filter(m => m.getBoundingClientRect().width > 0).length")
        assert drawn > 5, "MathML elements are present but the browser draws none of them"
        text = page.evaluate("""() => {
            const copy = document.body.cloneNode(true);
            copy.querySelectorAll('pre, code, math, script, style').forEach(e => e.remove());
            return copy.innerText; }""")
        raw = [t for t in ["$$", "\\frac", "\\lambda", "\\lVert", "\\begin{"] if t in text]
        assert not raw, f"raw TeX in the feedback page: {raw}"

        # the points table: four headers in four cells, one row per graded cell
        headers = page.locator("table.regcourse-report thead th").all_inner_texts()
        assert headers == ["graded cell", "points", "verdict", "why points were lost"], headers
        lefts = [round(box["x"]) for box in (page.locator("table.regcourse-report thead th").nth(k)
                                             .bounding_box() for k in range(4))]
        assert lefts == sorted(set(lefts)), f"the header cells overlap: x = {lefts}"
        rows = page.locator("table.regcourse-report tbody tr")
        graded = len(list(graded_cells(sub.solution("l2"))))
        assert rows.count() == graded, f"{rows.count()} rows for l2's {graded} graded cells"

        # the lost point's row holds its message, its smallest failing example and its cause
        lost = page.locator("table.regcourse-report tbody tr", has_text=LOST).first
        cells = lost.locator("td").all_inner_texts()
        assert cells[1].strip() == "0 / 1.5" and cells[2].strip() == "failed", cells
        assert "Smallest failing example: l2_penalty((np.array([1.0]), np.array([2.0])), 1.0)" in cells[3]
        assert "Likely cause: A tuple is a sequence of arrays like a list" in cells[3], cells[3]
        written = page.locator("table.regcourse-report tbody tr", has_text="question_shrinkage").first
        assert "pending" in written.locator("td").nth(1).inner_text()
        # and nbgrader's own list of scores does not score it 0 either
        header = page.locator(".panel-heading").first.inner_text()
        assert "Written response" not in header, f"a pending answer is listed with a score: {header}"
        assert "Pending: 2 points, graded by your instructor." in page.locator("body").inner_text()

        # nothing wider than the screen but the table's own scroller
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow} px wider than the screen"
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "desktop" if viewport["width"] > 500 else "phone"
        page.screenshot(path=str(SCREENSHOTS / f"feedback-l2-{name}.png"), full_page=True)
        page.close()
