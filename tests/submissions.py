"""Builders of test submissions: solutions with one cell changed, broken files, class folders."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

from regcourse.grading.course import Course
from regcourse.authoring.notebooks import REPO, nbgrader_meta, read, released_notebook, source_notebook, with_cell_source


def solution(aid: str):
    return read(source_notebook(aid))


def exercise(aid: str):
    return read(released_notebook(aid))


def with_function(aid: str, function: str, source: str):
    """The solution of ``aid`` whose solution cell ``function`` holds ``source``."""
    return with_cell_source(solution(aid), function, source)


def with_extra_cell(nb, source: str, after: str | None = None):
    """``nb`` with a new ordinary code cell (at the end, or after the cell ``after``)."""
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(source)
    index = len(nb.cells)
    if after is not None:
        index = 1 + next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == after)
    nb.cells.insert(index, cell)
    return nb


def without_cell(nb, grade_id: str):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != grade_id]
    return nb


def duplicated(nb, grade_id: str, relabel: str | None = None):
    """``nb`` with the cell ``grade_id`` repeated right after itself (or, with ``relabel``,
    with the cell ``relabel`` carrying the grade_id ``grade_id`` as well)."""
    nb = copy.deepcopy(nb)
    if relabel is None:
        i = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)
        twin = copy.deepcopy(nb.cells[i])
        twin["id"] = "twin-" + twin["id"]
        nb.cells.insert(i + 1, twin)
    else:
        cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == relabel)
        cell.metadata["nbgrader"]["grade_id"] = grade_id
    return nb


def tests_replaced(nb, source: str = "pass"):
    """``nb`` with the source of every graded test cell replaced (an edited test cell)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            cell.source = source
    return nb


def write(nb_or_bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb_or_bytes, (bytes, str)):
        path.write_bytes(nb_or_bytes if isinstance(nb_or_bytes, bytes) else nb_or_bytes.encode())
    else:
        nbformat.write(nb_or_bytes, str(path))
    return path


def class_folder(root: Path, aid: str, submissions: dict[str, object]) -> Course:
    """An nbgrader course folder with ``aid`` released and one submission per student.

    ``submissions`` maps a student id to a notebook, to raw bytes (written as
    ``<aid>.ipynb``), to ``(file name, notebook or bytes)``, or to ``None`` (an empty
    submission folder).
    """
    course = Course.create(root, REPO / "solutions", REPO / "nbgrader_config.py", [aid])
    for student, content in submissions.items():
        folder = course.root / "submitted" / student / aid
        folder.mkdir(parents=True, exist_ok=True)
        if content is None:
            (folder / "notes.txt").write_text("I forgot the notebook")
            continue
        name, content = content if isinstance(content, tuple) else (f"{aid}.ipynb", content)
        write(content, folder / name)
    return course


NOT_JSON = b'{"cells": [ {"cell_type": "code", '
NOT_A_NOTEBOOK = json.dumps([1, 2, 3]).encode()
BINARY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
