"""Every measured number a sentence quotes comes from the cell that printed it.

The convention (see regcourse.quote): a lesson cell prints a measurement with
``quote(name, value)``, and the prose cites it as ``{glue:text}`name``` (in the lesson) or
``{glue:text}`lesson.ipynb::name:s``` (in the chapter's theory page), so the site shows
the printed value itself; ``make book`` fails on a name no cell quoted. What is not
measured, a setting or a constant, is written in math (``$p = 0.5$``) or code.

This test reads the prose and fails on any number with a decimal point or a percent
sign written as plain text: a measurement typed by hand, which no cell guarantees.
"""

import json
import re
from pathlib import Path

import pytest

from conftest import REPO

PAGES = sorted(p for p in (REPO / "book").rglob("*")
               if p.suffix in (".md", ".ipynb") and "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)

# what is not prose: code, math, roles (glue, citations, cross-references), link targets
NOT_PROSE = [
    r"```.*?```", r"\$\$.*?\$\$", r"\$[^$\n]+\$", r"`[^`\n]*`",
    r"\{[a-z:]+\}`[^`]*`", r"\]\([^)]*\)", r"^\(.*\)=$", r"<[^>\n]+>",
    # references by number and version numbers are not measurements
    r"\b(?:sec|secs|ch|chap|eq)\.\s*[\d.]+", r"\b(?:Section|Figure|Table|Python|Keras|MathJax|torch)\s+[\d.]+",
]
MEASUREMENT_LIKE = re.compile(r"(?<![\w.])[-+±]?\d*\.\d+%?|(?<![\w.])\d+%")


def prose(path: Path) -> str:
    if path.suffix == ".md":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def plain_text(text: str) -> str:
    for pattern in NOT_PROSE:
        text = re.sub(pattern, " ", text, flags=re.S | re.M)
    return text


def test_the_check_finds_a_typed_measurement_and_accepts_the_conventions():
    typed = "The gain is 0.028 on average, and 93% of the digits are right."
    allowed = ("With $p = 0.5$ the gain is {glue:text}`gain` (sec. 7.4 of the paper, "
               "Python 3.11, `lr=0.1`).")
    assert MEASUREMENT_LIKE.findall(plain_text(typed)) == ["0.028", "93%"]
    assert MEASUREMENT_LIKE.findall(plain_text(allowed)) == []


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_measurement_is_typed_into_the_prose(path):
    found = []
    for number, line in ((m.group(), line) for line in plain_text(prose(path)).splitlines()
                         for m in MEASUREMENT_LIKE.finditer(line)):
        found.append(f"{number!r} in: {line.strip()[:100]}")
    assert not found, ("numbers typed into the prose; quote a measurement from the cell that prints it "
                       "({glue:text}`name`) and write a setting in math ($0.5$):\n" + "\n".join(found))
