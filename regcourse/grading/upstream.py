"""Each mistake costs its own points once.

A test cell of a function built on the learner's earlier functions (its *upstream*: the
measurement ``ridge_eigen_ratios`` on ``ridge_fit``, ``lasso_ista`` on ``soft_threshold``,
``adam_step`` on ``init_adam_state``) would also fail when only an upstream function is
wrong, and charge that mistake a second time. So when a submission is graded, such a
cell runs with the course's versions of its upstream functions swapped in for the time of
the cell, and the trusted probe calls the function the same way (see ``upstream`` in
:data:`regcourse.grading.trusted.PRELUDE`). At home the learner's own functions stay in
place, and the cell's visible part says "fix it first".

Each probe module lists the upstream of its test cells in ``UPSTREAM`` (grade id of the
test cell -> the functions it may call, closed under their own use of each other).

A course version enters the learner's kernel only after every test cell of that function
has run: a function's own points are settled before its course version can be reached.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..authoring.notebooks import is_test_cell, nbgrader_meta, read

SWAP_IN = '''\
def __regcourse_swap_in(code, names):
    course = {{"__name__": "course_reference"}}
    exec(compile(code, "<the course's versions>", "exec"), course)
    mine = globals()
    saved = {{name: mine[name] for name in names if name in mine}}
    mine.update({{name: course[name] for name in names}})
    return saved


__regcourse_saved = __regcourse_swap_in({code!r}, {names!r})
del __regcourse_swap_in
'''

SWAP_OUT = '''\
__regcourse_saved = globals().pop("__regcourse_saved", None)
if __regcourse_saved is not None:
    for __regcourse_name in {names!r}:
        globals().pop(__regcourse_name, None)
    globals().update(__regcourse_saved)
    del __regcourse_name
del __regcourse_saved
'''


def upstream_of(assignment: str) -> dict[str, tuple[str, ...]]:
    """Test cell -> the learner's functions it builds on, for ``assignment``."""
    from .checks import spec

    return dict(getattr(spec(assignment), "UPSTREAM", {}))


def course_code(source, names) -> str:
    """The course's code that defines ``names``: the setup cells (imports, helpers) and
    the solution cells of those functions, in the order of the source notebook ``source``
    (already read)."""
    names = set(names)
    sources, found = [], set()
    for cell in source.cells:
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        meta = nbgrader_meta(cell)
        if not meta.get("solution"):
            sources.append(cell.source)
        elif meta.get("grade_id") in names:
            sources.append(cell.source)
            found.add(meta["grade_id"])
    if names - found:
        raise ValueError(f"the source notebook has no solution cell for {', '.join(sorted(names - found))}")
    return "\n\n\n".join(sources)


def own_tests(function: str, grade_ids) -> set[str]:
    """The test cells of ``function`` among ``grade_ids``: ``test_<function>`` and
    ``test_<function>_...``."""
    return {g for g in grade_ids if g == f"test_{function}" or g.startswith(f"test_{function}_")}


def probe_table(source_notebook: Path, assignment: str) -> dict[str, tuple[tuple[str, ...], str]]:
    """For the probe: test cell -> (upstream functions, the course's code for them)."""
    source = read(Path(source_notebook))
    return {grade_id: (tuple(names), course_code(source, names))
            for grade_id, names in upstream_of(assignment).items()}


class SwapUpstream(NbGraderPreprocessor):
    """Before execution: around every test cell with an upstream, a cell that swaps the
    course's versions in and one that swaps the learner's back (marked with this
    grading's secret ``token``; :class:`RemoveSwaps` takes them out again)."""

    source_notebook = Unicode("", help="the course's source notebook of the assignment").tag(config=True)
    token = Unicode("", help="this grading's secret, in the ids of the cells added").tag(config=True)

    def preprocess(self, nb, resources):
        upstream = upstream_of(resources["nbgrader"]["assignment"])
        if not (upstream and self.source_notebook and self.token):
            return nb, resources
        source = read(Path(self.source_notebook))
        source_ids = {nbgrader_meta(c).get("grade_id") for c in source.cells if is_test_cell(c)}
        ran: set[str] = set()   # grade ids of the test cells before this one
        cells = []
        for cell in nb.cells:
            grade_id = nbgrader_meta(cell).get("grade_id") if is_test_cell(cell) else None
            names = tuple(n for n in upstream.get(grade_id, ()) if own_tests(n, source_ids) <= ran)
            if names:
                code = course_code(source, names)
                cells += [self._cell(SWAP_IN.format(code=code, names=list(names)), f"in-{len(cells)}"),
                          cell, self._cell(SWAP_OUT.format(names=list(names)), f"out-{len(cells)}")]
            else:
                cells.append(cell)
            if grade_id:
                ran.add(grade_id)
        nb.cells = cells
        return nb, resources

    def _cell(self, source: str, suffix: str):
        cell = nbformat.v4.new_code_cell(source)
        cell["id"] = f"regcourse-{self.token}-{suffix}"
        return cell


class RemoveSwaps(NbGraderPreprocessor):
    """After execution: take out the cells :class:`SwapUpstream` added."""

    token = Unicode("", help="the secret in the ids of the cells to remove").tag(config=True)

    def preprocess(self, nb, resources):
        if self.token:
            prefix = f"regcourse-{self.token}-"
            nb.cells = [c for c in nb.cells if not str(c.get("id", "")).startswith(prefix)]
        return nb, resources
