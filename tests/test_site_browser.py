"""The website in a real browser: every page of the table of contents loads cleanly,
shows its equations and images, links only to what exists, reads on a phone, and has
no accessibility violation above minor impact (axe-core). Screenshots land in _build/screenshots/.

Chromium comes from Debian (`apt-get install chromium`); Playwright only drives it.
Without it the tests are skipped with the reason, except under CI=true, where a missing
browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from conftest import LESSON_CODE_WIDTH, REPO, SCREENSHOTS, missing_tool, toc_files

pytestmark = pytest.mark.tier2   # every page in Chromium: `make test-all`

AXE = REPO / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SITE_TITLE = "Regularization in Neural Networks"
PAGES = toc_files()
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built_site):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(built_site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def _prose(name: str) -> str:
    """The Markdown a page is made from: its .md file, or its notebook's Markdown cells."""
    path = REPO / f"{name}.md"
    if path.exists():
        return path.read_text()
    cells = json.loads((REPO / f"{name}.ipynb").read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _heading(name: str) -> str:
    """The first level-1 heading of a page's source, as plain text."""
    heading = next(line[2:] for line in _prose(name).splitlines() if line.startswith("# "))
    return heading.replace("`", "").strip()


def _has_math(name: str) -> bool:
    return bool(re.search(r"\$[^$\s]", _prose(name)))


def _open(browser, url: str, viewport: dict):
    page = browser.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed request {r.url}") if "127.0.0.1" in r.url else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if "127.0.0.1" in r.url and r.status >= 400 else None)
    page.goto(url, wait_until="networkidle")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : true")
    return page, problems


_ids_cache: dict[Path, set[str]] = {}


def _ids(path: Path) -> set[str]:
    if path not in _ids_cache:
        _ids_cache[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))
    return _ids_cache[path]


@pytest.mark.parametrize("name", PAGES)
def test_page_in_the_browser(name, site, browser, built_site):
    url = site + f"{name}.html"
    page, problems = _open(browser, url, DESKTOP)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = name.replace("/", "__")
    try:
        assert not problems, f"{name}: {problems}"

        title = page.title()
        unnumbered = re.sub(r"^[\d.]+\s+", "", title)  # chapters are numbered: "2.8. Lesson: ..."
        assert unnumbered.startswith(_heading(name)) and title.endswith(SITE_TITLE), f"{name}: title {title!r}"

        # equations: rendered by MathJax, no raw TeX left in the prose
        text = page.evaluate("""() => {
            const article = document.querySelector('article') || document.body;
            const copy = article.cloneNode(true);
            copy.querySelectorAll('pre, code, .highlight, mjx-container, script').forEach(e => e.remove());
            return copy.innerText;
        }""")
        raw = [m for m in ["$$", "\\(", "\\[", "\\begin{", "\\frac"] if m in text]
        raw += re.findall(r"\$[^$\s][^$\n]{0,40}\$", text)
        assert not raw, f"{name}: raw TeX in the page: {raw[:5]}"
        equations = page.locator("mjx-container").count()
        if _has_math(name):
            assert equations > 0, f"{name}: the source has math but no equation rendered"
        # images: every one loaded with a real size
        broken = page.evaluate("() => Array.from(document.images)"
                               ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert not broken, f"{name}: images that did not load: {broken}"

        # internal links and their anchors
        for href in page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
            if not href.startswith(site):
                continue
            parts = urlparse(href)
            target = built_site / unquote(parts.path[len(urlparse(site).path):])
            if target.is_dir() or not target.suffix:
                target = target / "index.html"
            assert target.exists(), f"{name}: link to a missing page {href}"
            if parts.fragment and target.suffix == ".html":
                assert unquote(parts.fragment) in _ids(target), f"{name}: link to a missing anchor {href}"

        # notebook pages offer their .ipynb for download
        if (REPO / f"{name}.ipynb").exists():
            downloads = page.evaluate("() => Array.from(document.querySelectorAll('a[href$=\".ipynb\"]'))"
                                      ".map(a => a.href)")
            assert any(d.startswith(site) and d.endswith(f"{Path(name).name}.ipynb") for d in downloads), \
                f"{name}: no download link to the notebook"
            for launch in ("mybinder.org", "colab.research.google.com"):
                assert page.locator(f"a[href*='{launch}']").count() > 0, f"{name}: no {launch} launch button"

        # code cells show their longest allowed line whole, and no line of theirs scrolls
        if (REPO / f"{name}.ipynb").exists():
            code = page.evaluate("""() => {
                const blocks = [...document.querySelectorAll('div.cell_input div.highlight pre')];
                const probe = document.createElement('span');
                probe.textContent = 'x'.repeat(100);
                blocks[0].appendChild(probe);
                const charWidth = probe.getBoundingClientRect().width / 100;
                probe.remove();
                const style = getComputedStyle(blocks[0]);
                const room = blocks[0].clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                return {fits: Math.floor(room / charWidth),
                        scrolling: blocks.filter(b => b.scrollWidth > b.clientWidth + 1).length};
            }""")
            assert code["fits"] >= LESSON_CODE_WIDTH, \
                f"{name}: a code cell shows {code['fits']} characters per line, not {LESSON_CODE_WIDTH}"
            assert code["scrolling"] == 0, f"{name}: {code['scrolling']} code cell(s) scroll sideways"

        page.screenshot(path=str(SCREENSHOTS / f"{shot}-desktop.png"), full_page=True)

        # accessibility: no serious or critical violation (the bar), and none of
        # moderate impact either, since the theme's one (the logo outside landmarks) is repaired
        if not AXE.exists():
            missing_tool(f"axe-core is not installed at {AXE} (make installs it with npm when npm is present)")
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                                   ".violations.map(v => ({id: v.id, impact: v.impact, "
                                   "targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
        bad = [v for v in violations if v["impact"] in ("moderate", "serious", "critical")]
        # what was checked, for people to read next to the screenshots
        images = page.evaluate("() => document.images.length")
        (SCREENSHOTS / f"{shot}.json").write_text(json.dumps({
            "page": name, "equations": equations, "images": images,
            "axe_violations": {impact: sum(v["impact"] == impact for v in violations)
                               for impact in ("minor", "moderate", "serious", "critical")},
            "axe_rules_violated": sorted({v["id"] for v in violations})}))
        assert not bad, f"{name}: accessibility violations: {bad}"
    finally:
        page.close()

    # the same page at phone width: no sideways scrolling
    phone, problems = _open(browser, url, PHONE)
    try:
        widths = phone.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1] + 1, f"{name}: {widths[0]} px wide at a phone width of {widths[1]} px"
        phone.screenshot(path=str(SCREENSHOTS / f"{shot}-phone.png"), full_page=True)
        assert not problems, f"{name} (phone): {problems}"
    finally:
        phone.close()


@pytest.mark.parametrize("query", ["dropout", "weight decay"])
def test_search_finds(query, site, browser):
    page, problems = _open(browser, site + f"search.html?q={query.replace(' ', '+')}", DESKTOP)
    try:
        page.wait_for_selector("ul.search li", timeout=15000)
        assert page.locator("ul.search li").count() >= 2
        assert not problems, problems
    finally:
        page.close()
