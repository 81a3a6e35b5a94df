"""What an instructor's page shows of a submission, with nothing in it that runs.

A learner writes the Markdown of a written answer and, through their code, the outputs
of its cells (``display(HTML(...))``, SVG, JavaScript, widgets). The formgrader and the
feedback pages show both on the hub's origin, where a script would act as the instructor
(change grades, read hidden tests, mint tokens). The course's ``nbgrader_config.py``
therefore turns on nbconvert's ``sanitize_html`` (JavaScript and widget outputs are left
out, SVG is drawn as an image, which runs no script) and replaces two of its filters:

- :func:`clean_html` keeps what a grader reads (text, maths as MathML, tables, lists,
  code, images as data) and drops every element and attribute that could run or load
  anything. nbconvert's own version escapes even paragraphs and headings, which would
  show a written answer as raw tags;
- :func:`markdown_html` renders Markdown as nbconvert does, then cleans it: nbgrader's
  formgrade and feedback templates render Markdown cells without asking whether to
  sanitize.

The sanitizer is bleach, the maintained library nbconvert itself uses.
"""

from __future__ import annotations

import bleach
import jinja2

HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "s", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
# MathML's presentation elements: how the feedback page draws equations without a script
MATHML_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub",
    "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle",
    "mpadded", "mphantom", "menclose", "mfenced", "merror",
}
MATHML_ATTRIBUTES = [
    "xmlns", "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "accent",
    "accentunder", "columnalign", "rowspacing", "columnspacing", "displaystyle", "scriptlevel", "width",
    "height", "depth", "linethickness", "notation", "form", "largeop", "movablelimits", "symmetric",
    "minsize", "maxsize", "open", "close", "separators", "encoding",
]
IMAGE_DATA = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")
LINK_SCHEMES = ("http:", "https:", "mailto:", "#")


def _attribute(tag: str, name: str, value: str) -> bool:
    """Whether ``name="value"`` may stay on ``tag``."""
    if name in ("class", "id", "title"):
        return True
    if tag == "a":
        return name == "href" and value.strip().lower().startswith(LINK_SCHEMES)
    if tag == "img":
        # pictures travel inside the notebook; an address would make the page fetch it
        return name in ("alt", "width", "height") or (name == "src" and value.startswith(IMAGE_DATA))
    if tag in ("td", "th"):
        return name in ("colspan", "rowspan", "align")
    return tag in MATHML_TAGS and name in MATHML_ATTRIBUTES


_CLEANER = bleach.Cleaner(tags=HTML_TAGS | MATHML_TAGS, attributes=_attribute,
                          protocols={"http", "https", "mailto", "data"}, strip=True, strip_comments=True)


def clean_html(element) -> str:
    """``element`` (HTML) without anything that runs or loads: the filter nbconvert's
    templates apply to outputs and Markdown when ``sanitize_html`` is on. The course's
    own report stylesheet (a fixed text, see :mod:`.feedback`) is the one ``<style>``
    kept."""
    from .feedback import REPORT_STYLE

    text = element.decode() if isinstance(element, bytes) else str(element)
    style = REPORT_STYLE.strip()
    return style.join(_CLEANER.clean(part) for part in text.split(style))


@jinja2.pass_context
def markdown_html(context, source: str) -> str:
    """Markdown to HTML as nbconvert renders it (maths kept for the page, pictures
    attached to the cell inlined), then cleaned."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    cell = context.get("cell", {})
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments", {}))
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))
