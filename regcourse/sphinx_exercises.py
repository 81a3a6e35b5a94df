"""Sphinx extension: the ``exercise-summary`` directive.

``{exercise-summary} l2`` renders, from ``solutions/l2/l2.ipynb`` itself, the table of
the exercise's functions, their test cells and points, so that the exercise pages can
never disagree with the graded notebooks. Listed under ``sphinx.extra_extensions`` in
``_config.yml``.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

from .notebooks import is_test_cell, nbgrader_meta, read


def summary(notebook: Path) -> list[tuple[str, list[tuple[str, float]]]]:
    """``[(function, [(test cell, points), ...]), ...]`` in the notebook's order."""
    nb = read(notebook)
    functions = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")]
    tests: dict[str, list[tuple[str, float]]] = {f: [] for f in functions}
    for cell in nb.cells:
        if is_test_cell(cell):
            gid = nbgrader_meta(cell)["grade_id"]
            # test_<function>[_suffix]: the longest function name that fits is the one tested
            owner = max((f for f in functions if gid.startswith(f"test_{f}")), key=len)
            tests[owner].append((gid, float(nbgrader_meta(cell)["points"])))
    return [(f, tests[f]) for f in functions]


class ExerciseSummary(Directive):
    required_arguments = 1

    def run(self):
        env = self.state.document.settings.env
        assignment = self.arguments[0]
        notebook = Path(env.app.confdir) / "solutions" / assignment / f"{assignment}.ipynb"
        env.note_dependency(str(notebook))
        rows = summary(notebook)
        total = sum(p for _, tests in rows for _, p in tests)

        table = nodes.table(classes=["exercise-summary"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (30, 50, 20):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row(["function", "graded test cells", "points"], header=True)
        body = nodes.tbody()
        group += body
        for function, tests in rows:
            body += self._row([nodes.literal(text=function),
                               ", ".join(gid for gid, _ in tests),
                               f"{sum(p for _, p in tests):g}"])
        body += self._row([nodes.strong(text="total"), "", nodes.strong(text=f"{total:g}")])
        return [table]

    @staticmethod
    def _row(cells, header=False):
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            paragraph = nodes.paragraph()
            paragraph += cell if isinstance(cell, nodes.Node) else nodes.Text(str(cell))
            entry += paragraph
            row += entry
        return row


def setup(app):
    app.add_directive("exercise-summary", ExerciseSummary)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
