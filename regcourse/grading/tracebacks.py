"""Where an error came from, told in the learner's own cells, never in the tests'.

A failing test cell's traceback runs through the test (hidden lines included) into the
learner's functions. Feedback names only the frames in the learner's cells: the cell,
the line number and that line's code, which the learner wrote and may see.
"""

from __future__ import annotations

import re

from ..authoring.notebooks import is_test_cell, nbgrader_meta

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)(?:, in (\w+))?")
UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def cell_name(cell, index: int | None = None) -> str:
    """How feedback names a cell: its grade_id, else its position."""
    gid = nbgrader_meta(cell).get("grade_id")
    return f"`{gid}`" if gid else (f"number {index + 1}" if index is not None else "without a name")


def _source_line(cell, line: int) -> str:
    lines = cell.get("source", "").splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _learner_cells(nb) -> dict[int, tuple[int, object]]:
    """execution count -> (position, cell) for every code cell that is not a test."""
    return {c.execution_count: (i, c) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not is_test_cell(c) and c.get("execution_count")}


def where(out: dict, nb, limit: int = 3) -> str:
    """' (in your function f, cell `f`, line 4: `return ...`)' for the learner's frames of
    the error output ``out`` (deepest first), or '' when the error arose in no cell of theirs."""
    cells = _learner_cells(nb)
    frames, seen = [], set()
    for entry in out.get("traceback", []):
        match = FRAME.search(ANSI.sub("", entry))
        if not match or int(match.group(1)) not in cells:
            continue
        index, cell = cells[int(match.group(1))]
        line, function = int(match.group(2)), match.group(3)
        if (index, line) in seen:   # a generator expression repeats the line of its function
            continue
        seen.add((index, line))
        code = _source_line(cell, line)
        text = (f"your function {function}, " if function and function != "<module>" else "")
        text += f"cell {cell_name(cell, index)}, line {line}" + (f": `{code}`" if code else "")
        frames.append(text)
    if not frames:
        return ""
    frames = frames[::-1][:limit]
    return " (in " + "; called from ".join(frames) + ")"


def broken_cells(nb) -> list[tuple[int, object, dict]]:
    """(position, cell, error output) of every learner cell that stopped with an error."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append((index, cell, out))
                break
    return found


def _error_text(out: dict) -> str:
    ename, evalue = out.get("ename", "Error"), str(out.get("evalue", ""))
    if ename in ("SyntaxError", "IndentationError", "TabError"):
        evalue = re.sub(r"\s*\(\d+\.py, line \d+\)$", "", evalue)   # IPython's temporary file name
    return f"{ename}: {evalue}" if evalue else ename


def broken_cell_problems(nb) -> list[str]:
    """One note per learner cell that failed to run, with where, for the report."""
    notes = []
    for index, cell, out in broken_cells(nb):
        if out.get("ename") in ("KernelDied", "KernelStuck", "NotRun"):
            continue   # the grader reports these itself
        match = FRAME.search(ANSI.sub("", "".join(out.get("traceback", []))))
        line = f", line {match.group(2)}" if match and int(match.group(1)) == cell.get("execution_count") else ""
        defines = re.findall(r"^def (\w+)", cell.get("source", ""), re.M)
        consequence = (f"; what it defines ({', '.join(defines)}) does not exist, so every test that "
                       "uses it fails" if defines else "")
        notes.append(f"cell {cell_name(cell, index)} stopped with {_error_text(out)}{line}{consequence}")
    return notes


def why_undefined(message: str, nb) -> str:
    """For 'name 'f' is not defined': ' (the cell that defines f stopped with ...)', else ''."""
    match = UNDEFINED.search(message)
    if not match:
        return ""
    name = match.group(1)
    for index, cell, out in broken_cells(nb):
        if re.search(rf"^def {re.escape(name)}\b", cell.get("source", ""), re.M):
            return f" (the cell {cell_name(cell, index)} that defines {name} stopped with {_error_text(out)})"
    return ""
