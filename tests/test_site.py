"""The site: builds with warnings as errors, one page per table-of-contents entry."""

import shutil

from conftest import REPO, build_site, toc_files


def test_site_has_one_page_per_toc_entry(built_site):
    files = toc_files()
    assert len(files) == len(set(files))
    for f in files:
        assert (built_site / f"{f}.html").is_file(), f"no page for {f}"
    pages = {p.relative_to(built_site).with_suffix("").as_posix()
             for p in built_site.rglob("*.html") if not p.relative_to(built_site).parts[0].startswith("_")}
    extras = pages - set(files) - {"index", "genindex", "search"}
    assert not extras, f"pages outside the table of contents: {sorted(extras)}"


def test_notebook_pages_are_executed(built_site):
    lesson = (built_site / "book/intro/lesson.html").read_text()
    assert "best_degree: " in lesson  # printed by a cell, so the cell ran
    assert "<img" in lesson


def test_every_figure_says_what_it_shows(built_site):
    """A lesson's figures are notebook outputs; their alt text comes from the cell's
    metadata (``mystnb.image.alt``), never the image's own file path."""
    import re

    figures = 0
    for page in sorted(built_site.glob("book/*/*.html")):
        for img in re.findall(r"<img [^>]*>", page.read_text()):
            src = re.search(r'src="([^"]*)"', img).group(1)
            if "_images/" not in src:
                continue   # logos and badges of the theme
            figures += 1
            alt = re.search(r'alt="([^"]*)"', img)
            assert alt and alt.group(1) != src and len(alt.group(1).split()) >= 8, \
                f"{page.relative_to(built_site)}: a figure without a description ({img[:120]})"
    assert figures >= 19


def test_mathjax_is_served_by_the_site(built_site):
    page = (built_site / "book/intro/theory.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in page and "cdn.jsdelivr" not in page
    assert (built_site / "_static/mathjax/tex-chtml.js").stat().st_size > 100_000
    assert any((built_site / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))


def test_a_warning_fails_the_build(tmp_path):
    """`make book` builds with -W: a broken cross-reference must fail it, not pass silently."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/index\n")
    (tmp_path / "book" / "_static").mkdir(parents=True)
    for name in ("logo.svg", "favicon.svg"):
        shutil.copy(REPO / "book/_static" / name, tmp_path / "book/_static" / name)
    shutil.copy(REPO / "book/references.bib", tmp_path / "book/references.bib")
    (tmp_path / "book/index.md").write_text("# Broken\n\nSee {doc}`a page that does not exist <nowhere>`.\n")
    result = build_site(cwd=tmp_path)
    assert result.returncode != 0
    assert "nowhere" in result.stdout + result.stderr


def test_exercise_tables_add_up_to_the_notebooks_points():
    from regcourse.authoring.notebooks import graded_cells, nbgrader_meta, read, source_notebook
    from regcourse.site.exercises import summary

    from conftest import ASSIGNMENTS

    for aid in ASSIGNMENTS:
        rows = summary(source_notebook(aid))
        listed = [gid for _, _, cells, _ in rows for gid in cells]
        cells = [nbgrader_meta(c) for c in graded_cells(read(source_notebook(aid)))]
        assert sorted(listed) == sorted(meta["grade_id"] for meta in cells), aid
        assert sum(points for *_, points in rows) == sum(meta["points"] for meta in cells), aid


def test_a_changed_stylesheet_marks_the_root_page_outdated(tmp_path):
    """Sphinx copies static files only when it writes a page (regcourse.site.static)."""
    import os
    from types import SimpleNamespace

    from regcourse.site import static

    (tmp_path / "_static").mkdir()
    css = tmp_path / "_static" / "custom.css"
    css.write_text("a {}")
    app = SimpleNamespace(confdir=str(tmp_path), config=SimpleNamespace(html_static_path=["_static"],
                                                                        root_doc="index"))
    env = SimpleNamespace(found_docs={"index", "other"})
    assert static._outdated(app, env, set(), set(), set()) == ["index"]   # first build
    assert static._outdated(app, env, set(), set(), set()) == []          # nothing changed
    os.utime(css, (css.stat().st_atime, css.stat().st_mtime + 10))
    assert static._outdated(app, env, set(), set(), set()) == ["index"]   # the stylesheet changed
