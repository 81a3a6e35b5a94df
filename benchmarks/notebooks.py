"""How long each notebook takes to run, kernel start included (what a learner waits for)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from regcourse.authoring.notebooks import REPO

FLOOR = "import numpy, torch, matplotlib.pyplot"


def execute(nb, folder: Path) -> None:
    """Run ``nb`` in ``folder`` in a fresh kernel, as a learner's Jupyter would."""
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()


def time_notebook(nb, folder: Path, repeats: int) -> list[float]:
    runs = []
    for _ in range(repeats):
        copy = nbformat.from_dict(nb)
        started = time.perf_counter()
        execute(copy, folder)
        runs.append(round(time.perf_counter() - started, 2))
    return runs


def run(repeats: int = 3) -> dict:
    items = [("floor", None)] + [("lesson", p) for p in sorted(REPO.glob("book/*/lesson.ipynb"))] \
        + [("solution", p) for p in sorted(REPO.glob("solutions/*/*.ipynb"))]
    results = []
    for kind, path in items:
        if path is None:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR)])
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            folder, name = REPO, "kernel start + imports of numpy, torch, matplotlib"
        else:
            nb, folder, name = nbformat.read(str(path), as_version=4), path.parent, str(path.relative_to(REPO))
        runs = time_notebook(nb, folder, repeats)
        results.append({"path": name, "kind": kind, "runs_s": runs, "median_s": statistics.median(runs)})
        print(f"  {name}: {results[-1]['median_s']:.1f} s", flush=True)
    return {"notebooks": results, "floor_s": results[0]["median_s"]}
