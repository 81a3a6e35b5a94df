"""Sphinx extension: the ``exercise-summary`` directive.

``{exercise-summary} l2`` renders, from ``solutions/l2/l2.ipynb`` itself, the table of
the exercise's functions (with their test cells) and written answers, and their points,
so that the exercise pages can never disagree with the graded notebooks. Listed under ``sphinx.extra_extensions`` in
``_config.yml``.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

from ..authoring.notebooks import is_test_cell, nbgrader_meta, point_rows, read, source_notebook, written_answers


def summary(notebook: Path) -> list[tuple[str, str, list[str], float]]:
    """``[(task, graded by, [graded cells], points), ...]`` in the notebook's order: each
    function with its test cells, each written answer with its own cell."""
    nb = read(notebook)
    functions = [nbgrader_meta(c)["grade_id"] for c in nb.cells
                 if c.cell_type == "code" and nbgrader_meta(c).get("solution")]
    cells: dict[str, list[str]] = {f: [] for f in functions}
    for cell in nb.cells:
        if is_test_cell(cell):
            gid = nbgrader_meta(cell)["grade_id"]
            cells[max((f for f in functions if gid.startswith(f"test_{f}")), key=len)].append(gid)
    answers = iter(nbgrader_meta(c)["grade_id"] for c in written_answers(nb))
    return [(task, by, cells[task.strip("`")] if by == "tests" else [next(answers)], points)
            for task, by, points in point_rows(nb)]


class ExerciseSummary(Directive):
    required_arguments = 1

    def run(self):
        env = self.state.document.settings.env
        assignment = self.arguments[0]
        notebook = source_notebook(assignment, Path(env.app.confdir))
        env.note_dependency(str(notebook))
        rows = summary(notebook)
        total = sum(points for *_, points in rows)

        table = nodes.table(classes=["exercise-summary"])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (34, 16, 38, 12):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row(["task", "graded by", "graded cells", "points"], header=True)
        body = nodes.tbody()
        group += body
        for task, by, cells, points in rows:
            name = nodes.literal(text=task.strip("`")) if task.startswith("`") else task
            body += self._row([name, by, ", ".join(cells), f"{points:g}"])
        body += self._row([nodes.strong(text="total"), "", "", nodes.strong(text=f"{total:g}")])
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
