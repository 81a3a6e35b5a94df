"""benchmarks/RESULTS.md from the measurements."""

from __future__ import annotations

from pathlib import Path

from .machine import summary


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    lines = ["# Benchmark results", "",
             f"Measured by `make bench` on {m['date']}: **{summary(m)}**. Every figure below was "
             "measured on this machine, in one run; ratios compare measurements taken side by side.", ""]
    nbs = results.get("notebooks")
    if nbs:
        lines += ["## Notebooks (median of the runs, kernel start included)", "",
                  "| notebook | kind | median (s) | runs (s) | budget |", "|---|---|---|---|---|"]
        for nb in nbs["notebooks"]:
            budget = {"lesson": "≤ 60 s", "solution": "≤ 30 s"}.get(nb["kind"], "floor")
            runs = ", ".join(f"{r:g}" for r in nb["runs_s"])
            lines.append(f"| `{nb['path']}` | {nb['kind']} | {nb['median_s']:.1f} | {runs} | {budget} |")
        lines.append("")
    s = results.get("site")
    if s:
        lines += ["## Site build", "", "| build | seconds | notebooks executed |", "|---|---|---|",
                  f"| cold (no cache) | {s['cold_s']} | {s['cold_executed']} |",
                  f"| warm rebuild (nothing changed) | {s['warm_s']} | {s['warm_executed']} |",
                  f"| after editing one prose page | {s['edit_s']} | {s['edit_executed']} |", ""]
    g = results.get("grading")
    if g:
        one, cls = g["one"], g["class"]
        lines += ["## Grading", "",
                  f"One `{one['assignment']}` solution, warm grader (median of the runs):", "",
                  "| how | seconds | ratio to plain execution |", "|---|---|---|",
                  f"| plain execution (nbclient) | {one['plain_execution_s']} | 1 |",
                  f"| `nbgrader autograde` alone | {one['nbgrader_autograde_s']} | "
                  f"{one['nbgrader_autograde_s'] / one['plain_execution_s']:.2f} |",
                  f"| `regcourse` grader (sandbox + trusted checks) | {one['regcourse_grade_s']} | "
                  f"{one['overhead_vs_plain']} |", "",
                  f"One-time costs per grading run: template course {one['grader_setup_s']} s, reference "
                  f"outputs {one['reference_run_s']} s (computed while the first submission runs).", "",
                  f"A class of {cls['size']} generated `{cls['assignment']}` submissions (half correct, a third "
                  "partly wrong, the rest broken: malformed, untouched, dying kernels, endless loops):", "",
                  "| workers | seconds | submissions per minute |", "|---|---|---|"]
        for jobs in ("1", "2"):
            lines.append(f"| {jobs} | {cls['seconds'][jobs]} | {cls['per_minute'][jobs]} |")
        lines += ["", f"Speed-up with 2 workers: **{cls['speedup']}×**; identical grades: {cls['same_grades']}.", ""]
    t = results.get("suite")
    if t:
        lines += ["## Test suite", "", f"`make test`: **{t['make_test_s']} s** ({t['summary']}), with a "
                  f"{t.get('cache', 'unknown')} execution cache.", ""]
    checks = results.get("budgets", [])
    if checks:
        lines += ["## Budgets", "", "| budget | measured | limit | holds |", "|---|---|---|---|"]
        for c in checks:
            holds = {True: "yes", False: "**NO**", None: "not measured"}[c["ok"]]
            lines.append(f"| {c['name']} | {c['value']} | {c['budget']} | {holds} |")
        lines.append("")
    path.write_text("\n".join(lines))
