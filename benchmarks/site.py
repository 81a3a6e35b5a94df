"""How long the site takes to build: from scratch, again with nothing changed, and after
editing one prose page (which must not re-execute any notebook)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from regcourse.authoring.notebooks import REPO

SKIP = shutil.ignore_patterns("_build", ".venv", ".git", ".pytest_cache", "__pycache__", "*.egg-info")
# myst-nb logs "<path>: Executing notebook using local CWD" for every notebook it runs
EXECUTED = re.compile(r"^(\S+\.ipynb): Executing notebook", re.M)


def build(folder: Path) -> tuple[float, int]:
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    seconds = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        raise RuntimeError(f"site build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, len(set(EXECUTED.findall(done.stdout + done.stderr)))


def run(repeats: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="regcourse-bench-site-") as tmp:
        copy = Path(tmp) / "course"
        shutil.copytree(REPO, copy, ignore=SKIP)
        cold, cold_executed = build(copy)
        print(f"  cold build: {cold} s ({cold_executed} notebooks executed)", flush=True)
        warm, warm_executed = build(copy)
        print(f"  warm rebuild: {warm} s ({warm_executed} executed)", flush=True)
        page = copy / "book" / "l2" / "theory.md"
        page.write_text(page.read_text() + "\nAn edit made by the benchmark.\n")
        edit, edit_executed = build(copy)
        print(f"  rebuild after editing a prose page: {edit} s ({edit_executed} executed)", flush=True)
    return {"cold_s": cold, "cold_executed": cold_executed, "warm_s": warm, "warm_executed": warm_executed,
            "edit_s": edit, "edit_executed": edit_executed}
