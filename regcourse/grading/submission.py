"""Reading a submitted notebook: what it is, which assignment it belongs to, and the
repairs that let nbgrader grade it instead of aborting."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat

from ..authoring.notebooks import assignment_ids, graded_cells, nbgrader_meta, notebook_in

MAX_BYTES = 50 << 20  # a notebook larger than this is not a submission but an accident


class Unreadable(Exception):
    """The file cannot be graded at all; the message says why, in one line."""


def read(path: Path) -> nbformat.NotebookNode:
    """The notebook in ``path``, or :class:`Unreadable` saying why it is not one."""
    path = Path(path)
    if not path.exists():
        raise Unreadable(f"{path}: no such file")
    if not path.is_file():
        raise Unreadable(f"{path}: not a file")
    if path.stat().st_size > MAX_BYTES:
        raise Unreadable(f"{path}: {path.stat().st_size} bytes, larger than any notebook of this course")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unreadable(f"{path}: not a notebook (not valid JSON: {exc})") from None
    if not isinstance(data, dict) or "cells" not in data or not isinstance(data.get("cells"), list):
        raise Unreadable(f"{path}: JSON, but not a Jupyter notebook (no list of cells)")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 -- nbformat raises many kinds
        raise Unreadable(f"{path}: not a valid Jupyter notebook ({exc})") from None
    return nb


def known_assignments(source: Path) -> dict[str, set[str]]:
    """Assignment id -> the grade ids of its graded cells, from the notebooks in ``source``."""
    return {aid: {nbgrader_meta(c)["grade_id"] for c in graded_cells(nbformat.read(str(notebook_in(source, aid)), 4))}
            for aid in assignment_ids(source)}


def assignment_of(path: Path, nb, known: dict[str, set[str]]) -> str | None:
    """The assignment a notebook belongs to: its file name if that names one, else the
    assignment whose graded cells it shares most (``known`` maps id -> grade ids)."""
    stem = Path(path).stem
    if stem in known:
        return stem
    ids = {nbgrader_meta(c).get("grade_id") for c in nb.cells} - {None}
    best = max(known, key=lambda aid: len(ids & known[aid]), default=None)
    if best is not None and ids & known[best]:
        return best
    return None


def repair(nb) -> tuple[nbformat.NotebookNode, list[str]]:
    """Fix what makes nbgrader abort, and say what was fixed.

    - a grade_id that appears on several cells stays on the last of them, the one that
      runs after the code it tests; the other copies become ordinary cells (nbgrader
      would abort the whole batch on them);
    - nbgrader metadata without a grade_id is dropped;
    - missing or repeated cell ids are renewed (nbformat requires unique ids).
    """
    notes = []
    seen_ids: set[str] = set()
    seen_cells: set[str] = set()
    for cell in reversed(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is not None:
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if not gid:
                del cell["metadata"]["nbgrader"]
                notes.append("a cell had broken grading metadata; it was graded as an ordinary cell")
            elif gid in seen_ids:
                del cell["metadata"]["nbgrader"]
                notes.append(f"cell {gid} appeared more than once; only its last copy was graded")
            else:
                seen_ids.add(gid)
    for cell in nb.cells:
        cid = cell.get("id")
        if not cid or cid in seen_cells:
            cell["id"] = uuid.uuid4().hex[:12]
        seen_cells.add(cell["id"])
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    return nb, notes
