"""How long the whole `make test` takes (what a contributor waits for), with grading kernels
forked from the warm factory (the default) and started cold (REGCOURSE_COLD=1)."""

from __future__ import annotations

import os
import re
import subprocess
import time

from regcourse.notebooks import REPO


def run(repeats: int = 1) -> dict:
    # With a built site and a valid execution cache the suite skips the notebook runs that
    # the cache already holds; say which case was measured.
    cache = "warm" if (REPO / "_build" / ".jupyter_cache").exists() else "cold"
    out = {"cache": cache}
    for mode in ("warm", "cold"):
        env = {k: v for k, v in os.environ.items() if k not in ("REGCOURSE_COLD", "MAKEFLAGS", "MAKELEVEL")}
        if mode == "cold":
            env["REGCOURSE_COLD"] = "1"
        started = time.perf_counter()
        done = subprocess.run(["make", "test"], cwd=REPO, capture_output=True, text=True, env=env)
        seconds = round(time.perf_counter() - started, 1)
        summary = next((line.strip("= ") for line in reversed(done.stdout.splitlines())
                        if re.search(r"\d+ (passed|failed)", line)), "no summary")
        print(f"  make test, {mode} kernels ({cache} cache): {seconds} s ({summary})", flush=True)
        out[mode] = {"make_test_s": seconds, "passed": done.returncode == 0, "summary": summary}
    return out
