"""``make bench``: measure what learners, builders and graders wait for.

    python -m benchmarks [--check] [--only notebooks,site,grading,suite] [--repeats 3]

Writes ``benchmarks/results.json`` (every measurement) and ``benchmarks/RESULTS.md`` (a
table), each stamped with the machine it ran on. With ``--check`` it exits 1 when a
budget is broken (``make bench CHECK=1``; ``make bench --check`` works too):

- a lesson notebook runs in at most 60 s, a solution notebook in at most 30 s;
- a warm rebuild of the site takes at most 30 s, and editing a prose page re-executes
  no notebook;
- grading one submission takes at most 1.5 times plain execution of the notebook;
- two grading workers have at least 1.6 times the throughput of one;
- with warm kernels (issue 18): one `l2` submission in a warm grader takes at most 1.5 s,
  a class of 60 on 2 workers goes at least 3 times as fast as with cold kernels, a
  learner's first `make grade` answers within 5 s, and `make test` takes at most 6
  minutes on a warm execution cache;
- a class of 30 on the hub (issue 25): submit p95 at most 5 s for 30 at once, and the
  formgrader's autograde within 1.5 times `regcourse autograde --jobs 2` per submission.

Ratios are measured side by side in one run, on one machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import classroom, grading, machine, notebooks, site, suite
from .report import write_markdown

HERE = Path(__file__).resolve().parent
SECTIONS = {"notebooks": notebooks.run, "site": site.run, "grading": grading.run, "suite": suite.run,
            "classroom": classroom.run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is broken")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per notebook timing (median)")
    args = parser.parse_args(argv)

    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {sorted(SECTIONS)}")
    results_file = HERE / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() and set(wanted) != set(SECTIONS) else {}
    # a partial run keeps the other sections' numbers: say when each section was measured
    dates = results.setdefault("measured", {k: results["machine"]["date"] for k in SECTIONS if k in results})
    results["machine"] = machine.describe()
    dates.update({name: results["machine"]["date"] for name in wanted})
    started = time.monotonic()
    for name in wanted:
        print(f"== {name}", flush=True)
        results[name] = SECTIONS[name](repeats=args.repeats)
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    results["budgets"] = checks = budget_checks(results)

    results_file.write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, HERE / "RESULTS.md")
    print((HERE / "RESULTS.md").read_text())
    broken = [c for c in checks if c["ok"] is False]
    if args.check and broken:
        for c in broken:
            print(f"BUDGET BROKEN: {c['name']}: {c['value']} (budget {c['budget']})", file=sys.stderr)
        return 1
    return 0


def budget_checks(results: dict) -> list[dict]:
    """Every budget with the measured value, ``ok`` True/False, or None when not measured."""
    checks = []

    def add(name, value, budget, ok):
        checks.append({"name": name, "value": value, "budget": budget, "ok": ok})

    nbs = results.get("notebooks", {}).get("notebooks", [])
    for nb in nbs:
        limit = 60.0 if nb["kind"] == "lesson" else 30.0 if nb["kind"] == "solution" else None
        if limit is not None:
            add(f"{nb['path']} runs in at most {limit:g} s", nb["median_s"], f"<= {limit:g} s",
                nb["median_s"] <= limit)
    s = results.get("site", {})
    if s:
        add("warm rebuild of the site", s["warm_s"], "<= 30 s", s["warm_s"] <= 30)
        add("notebooks re-executed after editing a prose page", s["edit_executed"], "0", s["edit_executed"] == 0)
    g = results.get("grading", {})
    if g:
        one, first, cls = g["one"], g["first"], g["class"]
        add("grading one submission (warm) / plain execution", one["overhead_vs_plain"], "<= 1.5",
            one["overhead_vs_plain"] <= 1.5)
        add("one l2 submission in a warm grader, seconds", one["warm_s"], "<= 1.5", one["warm_s"] <= 1.5)
        add("throughput with 2 workers / with 1 (warm)", cls["warm"]["speedup"], ">= 1.6",
            cls["warm"]["speedup"] >= 1.6)
        if "warm_vs_cold_baseline" in cls:   # (older results have the same run's ratio only)
            add(f"class of 60 on 2 workers: warm throughput / the cold baseline ({grading.COLD_BASELINE_S:g} s)",
                cls["warm_vs_cold_baseline"], ">= 3", cls["warm_vs_cold_baseline"] >= 3)
        add("a learner's first make grade, seconds until it ends", first["warm_done_s"], "<= 5",
            first["warm_done_s"] <= 5)
    classroom.budgets(results.get("classroom", {}), add)
    t = results.get("suite", {})
    if "tier2" in t:   # (results of an older bench measured one tier)
        add("make test on a warm machine, seconds", t["warm"]["seconds"], "<= 360", t["warm"]["seconds"] <= 360)
        add("make test from a fresh clone's state, seconds", t["fresh"]["seconds"], "<= 600",
            t["fresh"]["seconds"] <= 600)
    return checks


if __name__ == "__main__":
    sys.exit(main())
