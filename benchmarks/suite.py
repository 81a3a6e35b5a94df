"""How long the test suite takes (what a contributor waits for): `make test` (the first
tier) from a fresh clone's state (no site build, no execution cache) and again on the
warm machine it leaves, then the second tier alone (`pytest -m tier2`, what
`make test-all` adds). Each run lists its 25 slowest tests (pytest --durations=25)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from regcourse.authoring.notebooks import REPO


def _summary(stdout: str) -> str:
    return next((line.strip("= ") for line in reversed(stdout.splitlines())
                 if re.search(r"\d+ (passed|failed)", line)), "no summary")


def _slowest(stdout: str, count: int = 5) -> list[str]:
    """The first lines of pytest's durations table."""
    lines = stdout.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if "slowest" in line and "durations" in line)
    except StopIteration:
        return []
    return [line.strip() for line in lines[start + 1:start + 1 + count] if line.strip()]


def _timed(command: list[str], label: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REGCOURSE_COLD", "MAKEFLAGS", "MAKELEVEL")}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    seconds = round(time.perf_counter() - started, 1)
    summary = _summary(done.stdout)
    print(f"  {label}: {seconds} s ({summary})", flush=True)
    return {"seconds": seconds, "passed": done.returncode == 0, "summary": summary,
            "slowest": _slowest(done.stdout)}


def run(repeats: int = 1) -> dict:
    # a fresh clone has no site build and no execution cache: every lesson runs once
    shutil.rmtree(REPO / "_build", ignore_errors=True)
    out = {"fresh": _timed(["make", "test"], "make test, fresh (no site build, no execution cache)"),
           "warm": _timed(["make", "test"], "make test, warm (run again)")}
    python = str(REPO / ".venv" / "bin" / "python")
    out["tier2"] = _timed([python, "-m", "pytest", "-n", "auto", "-m", "tier2", "--durations=25"],
                          "the second tier alone (pytest -m tier2)")
    return out
