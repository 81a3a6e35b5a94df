"""How long the whole `make test` takes (what a contributor waits for)."""

from __future__ import annotations

import re
import subprocess
import time

from regcourse.notebooks import REPO


def run(repeats: int = 1) -> dict:
    # With a built site and a valid execution cache the suite skips the notebook runs that
    # the cache already holds; say which case was measured.
    cache = "warm" if (REPO / "_build" / ".jupyter_cache").exists() else "cold"
    started = time.perf_counter()
    done = subprocess.run(["make", "test"], cwd=REPO, capture_output=True, text=True)
    seconds = round(time.perf_counter() - started, 1)
    summary = next((line.strip("= ") for line in reversed(done.stdout.splitlines())
                    if re.search(r"\d+ (passed|failed)", line)), "no summary")
    print(f"  make test ({cache} cache): {seconds} s ({summary})", flush=True)
    return {"make_test_s": seconds, "cache": cache, "passed": done.returncode == 0, "summary": summary}
