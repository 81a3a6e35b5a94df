"""benchmarks/RESULTS.md from the measurements."""

from __future__ import annotations

from pathlib import Path

from regcourse.sandbox.slots import Limits

from .machine import summary


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    dates = results.get("measured", {})
    if len(set(dates.values())) > 1:   # sections measured by separate runs of `--only`
        when = "; ".join(f"{name} on {date}" for name, date in dates.items())
        lines = ["# Benchmark results", "",
                 f"Measured by `make bench` on **{summary(m)}**, section by section: {when}. Every figure "
                 "below was measured on this machine; ratios compare measurements taken side by side, in "
                 "one section's run.", ""]
    else:
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
        one, first, cls = g["one"], g["first"], g["class"]
        lines += ["## Grading", "",
                  "Kernels are either started cold (a new process imports numpy, torch and matplotlib "
                  "for every submission; `--cold`) or forked from the grader's warm kernel factory "
                  "(the default). Every row below was measured in the same run.", "",
                  f"One `{one['assignment']}` solution, a grader that has graded it before (median of the runs):",
                  "", "| how | seconds | ratio to plain execution |", "|---|---|---|",
                  f"| plain execution (nbclient, kernel started cold) | {one['plain_execution_s']} | 1 |",
                  f"| `nbgrader autograde` alone | {one['nbgrader_autograde_s']} | "
                  f"{one['nbgrader_autograde_s'] / one['plain_execution_s']:.2f} |",
                  f"| `regcourse` grader, cold kernels | {one['cold_s']} | "
                  f"{one['cold_s'] / one['plain_execution_s']:.2f} |",
                  f"| `regcourse` grader, warm kernels | **{one['warm_s']}** | {one['overhead_vs_plain']} |", "",
                  f"Warm kernels grade it **{one['warm_vs_cold']}×** as fast. One-time costs per grader: "
                  f"cold: setup {one['cold_setup_s']} s, reference outputs {one['cold_reference_s']} s; warm: "
                  f"setup with the factory's imports {one['warm_setup_s']} s, reference outputs "
                  f"{one['warm_reference_s']} s (both overlap the first submission in real use).", "",
                  f"A learner's first `make grade NB={first['assignment']}.ipynb` from a cold command line "
                  "(median; the grader's start, template course and reference outputs included):", "",
                  "| kernels | score printed after (s) | command done after (s) |", "|---|---|---|",
                  f"| cold | {first['cold_answer_s']} | {first['cold_done_s']} |",
                  f"| warm | {first['warm_answer_s']} | {first['warm_done_s']} |", "",
                  f"A class of {cls['size']} generated `{cls['assignment']}` submissions (half correct, a third "
                  "partly wrong, the rest broken: malformed, untouched, dying kernels, endless loops):", "",
                  "| kernels | workers | seconds | submissions per minute |", "|---|---|---|---|"]
        for mode in ("cold", "warm"):
            for jobs in ("1", "2"):
                lines.append(f"| {mode} | {jobs} | {cls[mode]['seconds'][jobs]} | {cls[mode]['per_minute'][jobs]} |")
        if "warm_vs_cold_baseline" in cls:
            from .grading import COLD_BASELINE_S

            lines += ["", f"Warm kernels on 2 workers grade the class **{cls['warm_vs_cold_baseline']}×** as fast "
                      f"as cold kernels did when the target of 3× was set ({COLD_BASELINE_S:g} s). Cold "
                      "kernels have got faster since, from fixes that both kinds share (the kernel's start "
                      "and end, nbgrader's checks): in the same run the ratio is below."]
        lines += ["", f"Warm over cold in the same run: **{cls['warm_vs_cold']['1']}×** with 1 worker, "
                  f"**{cls['warm_vs_cold']['2']}×** with 2. Speed-up of 2 workers over 1: cold "
                  f"{cls['cold']['speedup']}×, warm {cls['warm']['speedup']}×. Identical grades in all four "
                  f"gradings: {cls['same_grades']}.", "",
                  f"With 1 worker, the submissions that ran into a cell's time limit (endless loops: every "
                  f"test cell that calls the looping function waits out its time limit) took "
                  f"{cls['time_limits_s']['cold']} s cold and {cls['time_limits_s']['warm']} s warm. That "
                  f"difference is the floor of a test cell's limit, not the kernels' start: "
                  f"{Limits().cold_min_seconds:g} s in a kernel started cold, {Limits().min_seconds:g} s in "
                  f"one forked from the warm factory, which has paid the one-time costs "
                  f"the floor allows for. The other submissions went "
                  f"**{cls['warm_vs_cold_without_time_limits']}×** as fast warm as cold.", ""]
    if results.get("classroom"):
        from .classroom import markdown

        lines += markdown(results["classroom"])
    t = results.get("suite")
    if t and "tier2" in t:
        lines += ["## Test suite", "", "| run | seconds | result | slowest tests |", "|---|---|---|---|"]
        for key, label in [("fresh", "`make test`, fresh (no site build, no execution cache)"),
                           ("warm", "`make test`, warm (run again)"),
                           ("tier2", "the second tier alone (`pytest -m tier2`, what `make test-all` adds)")]:
            slowest = "<br>".join(t[key].get("slowest", [])[:3])
            lines.append(f"| {label} | **{t[key]['seconds']}** | {t[key]['summary']} | {slowest} |")
        lines.append("")
    elif t:   # measured before the suite had two tiers
        lines += ["## Test suite", "", "Not measured in this run (an earlier `make bench` measured the suite "
                  "before it had two tiers).", ""]
    checks = results.get("budgets", [])
    if checks:
        lines += ["## Budgets", "", "| budget | measured | limit | holds |", "|---|---|---|---|"]
        for c in checks:
            holds = {True: "yes", False: "**NO**", None: "not measured"}[c["ok"]]
            lines.append(f"| {c['name']} | {c['value']} | {c['budget']} | {holds} |")
        lines.append("")
    path.write_text("\n".join(lines))
