"""The ``regcourse`` command.

    regcourse grade NOTEBOOK [--assignment ID] [--json] [--hint] [--feedback DIR]
    regcourse autograde ASSIGNMENT [--jobs N] [--course DIR]
    regcourse report ASSIGNMENT [--course DIR]
    regcourse sandbox setup|remove [--record FILE] [--quiet]
    regcourse classroom up|down [--students N] [--db sqlite|postgresql] [--wait]
    regcourse hub-grade ASSIGNMENT --course DIR   (the classroom's sudo rule runs it)

``grade`` scores one notebook against the hidden tests of the repository's
``solutions/`` and writes a feedback page; it exits 0 whenever the notebook was graded
(whatever the score) and 2, with one line saying why, when it cannot be graded at all;
every other command also ends an error with one line and exit status 2.
``autograde`` grades a whole class inside an nbgrader course folder (and picks up where a
crashed run stopped); ``report`` writes what that class got wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import REPO
from .sandbox import kernel_factory

# Only the standard library above: `regcourse grade` starts its warm kernel factory first,
# so that the factory's imports overlap the grader's own (nbgrader's, nbformat's).

# jsonschema, which nbformat imports, builds 39 parsers for the "iri" string format as it is
# imported when rfc3987_syntax is installed (jupyter_events asks for it): 0.7 s of every
# command. No schema these commands validate (nbformat's, nbgrader's) names a format, and
# without the module jsonschema leaves that format unchecked. Commands only: a learner's
# kernel, and the classroom's servers, keep their environment as installed.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

CANNOT_GRADE = 2


def _limits(args) -> Limits:
    from .sandbox.slots import Limits

    return Limits(cell_seconds=args.cell_timeout, submission_seconds=args.time_limit,
                  memory_bytes=args.memory_mb << 20, output_bytes=args.output_kb << 10,
                  time_factor=args.time_factor, min_seconds=args.min_seconds,
                  cold_min_seconds=args.cold_min_seconds)


def _add_limit_options(p: argparse.ArgumentParser) -> None:
    from .sandbox.slots import Limits

    d = Limits()
    p.add_argument("--cell-timeout", type=int, default=d.cell_seconds, metavar="S",
                   help=f"seconds one cell may run (default {d.cell_seconds})")
    p.add_argument("--time-factor", type=float, default=d.time_factor, metavar="F",
                   help="a test cell may take F times what it takes with the course's solution "
                        f"(default {d.time_factor:g}), at least --min-seconds, at most --cell-timeout")
    p.add_argument("--min-seconds", type=float, default=d.min_seconds, metavar="S",
                   help=f"the shortest time limit of a test cell in a kernel forked warm (default "
                        f"{d.min_seconds:g})")
    p.add_argument("--cold-min-seconds", type=float, default=d.cold_min_seconds, metavar="S",
                   help=f"the same in a kernel started cold, which pays its one-time costs in its "
                        f"cells (default {d.cold_min_seconds:g})")
    p.add_argument("--time-limit", type=int, default=d.submission_seconds, metavar="S",
                   help=f"seconds one submission may take in all (default {d.submission_seconds})")
    p.add_argument("--memory-mb", type=int, default=d.memory_bytes >> 20, metavar="MB",
                   help=f"memory of the kernel (default {d.memory_bytes >> 20})")
    p.add_argument("--output-kb", type=int, default=d.output_bytes >> 10, metavar="KB",
                   help=f"printed output kept per cell (default {d.output_bytes >> 10})")
    _add_cold_option(p)


def _add_cold_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cold", action="store_true",
                   help="start every kernel afresh instead of forking it from a warm kernel factory")


def cmd_grade(args) -> int:
    from .sandbox import host
    from .grading import submission
    from .grading.feedback import prepare_feedback, write_feedback
    from .grading.grader import Grader
    from .sandbox.slots import require_private

    path = Path(args.notebook)
    try:
        nb = submission.read(path)
    except submission.Unreadable as exc:
        return _fail(f"cannot grade {exc}")
    source = Path(args.source)
    unready = host.not_ready([source])
    if unready:
        return _fail(f"as root, grading runs your code as unprivileged sandbox users, but {unready}: run "
                     "`.venv/bin/regcourse sandbox setup` once (it prints each change it makes; "
                     "`regcourse sandbox remove` undoes them), or grade as an ordinary user")
    require_private(source)
    # the assignment first, from the sources' graded cells: the grader prepares that one only
    known = submission.known_assignments(source)
    assignment = args.assignment or submission.assignment_of(path, nb, known)
    if assignment is None:
        return _fail(f"cannot grade {path}: it matches no assignment of {source} "
                     f"(known: {', '.join(sorted(known))}); use --assignment")
    if assignment not in known:
        return _fail(f"cannot grade {path}: unknown assignment {assignment!r} "
                     f"(known: {', '.join(sorted(known))})")
    grader = Grader(source, Path(args.config), assignments=[assignment], limits=_limits(args),
                    cold=args.cold or None, kernel_factory=args.factory)
    try:
        # the page's own imports now, while the kernel factory still imports torch: not
        # after the score, where the learner waits for them
        prepare_feedback()
        run = grader.grade(path, assignment, args.student)
        if not args.json:   # the score first: the feedback page takes a moment to render
            print(f"{path}: assignment {assignment}")
            print(run.result.table(hints=args.hint))
            if not args.hint and any(i.hint for i in run.result.items):
                print("stuck? grade again with --hint to see the likely cause of each lost point")
            sys.stdout.flush()
        feedback_dir = Path(args.feedback) if args.feedback else path.resolve().parent
        page = write_feedback(run, feedback_dir / f"{path.stem}-feedback.html", hints=args.hint)
        if args.json:
            report = run.result.to_json()
            if not args.hint:   # the likely causes are the second tier: only when asked for
                for item in report["items"]:
                    item["hint"] = ""
            print(json.dumps({**report, "feedback": str(page)}, indent=2))
        else:
            print(f"feedback: {page}")
        return 0
    finally:
        grader.close()


def cmd_hub_grade(args) -> int:
    """Grade a classroom's submissions for nbgrader's autograde (the formgrader's button runs
    :mod:`regcourse.grading.nbgrader_hook`, which runs this): a notebook per line of stdin
    (``{"notebook": ...}``), and for each a line on stdout with the result and the graded
    notebook, the course's report as its first cell, until stdin ends: one grader, reference
    run and kernel factory for all that one ``nbgrader autograde`` grades. The sources are
    the course folder's ``source/``.

    As root, through the one sudo rule that ``regcourse classroom up`` writes, nothing the
    caller names is read or written but their own course's sources, which must be theirs
    and private. Without root (a classroom without that rule) the kernels run as the
    caller, and the report says so."""
    import os
    import tempfile

    import nbformat

    from .grading.feedback import add_report
    from .grading.grader import Grader

    course = Path(args.course).resolve()
    source = (course / "source").resolve()
    if not args.assignment.replace("_", "").replace("-", "").isalnum():
        return _fail(f"unknown assignment {args.assignment!r}")
    if os.geteuid() == 0:
        caller = int(os.environ.get("SUDO_UID", 0))
        if course.stat().st_uid != caller or course.stat().st_mode & 0o077:
            return _fail(f"{course} must be the caller's own private folder (owner {caller}, mode 0700)")
        if source.stat().st_uid != caller or not source.is_relative_to(course):
            return _fail(f"{source} must be the caller's own, inside {course}")
        # root copies these files: a link could make it read (and report) any file of the machine
        for top, dirs, files in os.walk(source / args.assignment):
            for name in ["", *dirs, *files]:
                path = Path(top) / name
                if path.is_symlink() or path.lstat().st_uid != caller:
                    return _fail(f"{path} must be the caller's own file, not a link")
    with tempfile.TemporaryDirectory(prefix="regcourse-hub-grade-") as work:
        submitted = Path(work) / f"{args.assignment}.ipynb"

        def graded(nb) -> dict:
            nbformat.write(nb, str(submitted))
            run = grader.grade(submitted, args.assignment, "learner")
            if run.autograded.exists():
                add_report(run.autograded, run.result)
                nb = nbformat.read(str(run.autograded), as_version=4)
            # (else nbgrader could not run it: the course's scores go into the notebook as sent)
            return {"result": run.result.to_json(), "notebook": nbformat.writes(nb)}

        # the sources were checked above: the grader copies them once, here
        grader = Grader(source, REPO / "nbgrader_config.py", assignments=[args.assignment], cold=args.cold or None,
                        kernel_factory=args.factory, for_class=True)
        try:
            if args.assignment not in grader.known:
                return _fail(f"unknown assignment {args.assignment!r}")
            # one grader (reference run, kernel factory) for a whole class: a request per line,
            # {"notebook": ...}; an answer per line, or {"error": ...} for that notebook alone
            for line in sys.stdin:
                try:
                    answer = graded(nbformat.reads(json.loads(line)["notebook"], as_version=4))
                except Exception as exc:  # noqa: BLE001 -- one bad notebook must not stop the class
                    answer = {"error": f"{type(exc).__name__}: {exc}"}
                print(json.dumps(answer), flush=True)
        finally:
            grader.close()
    return 0


def cmd_autograde(args) -> int:
    from .grading.batch import grade_class

    course = Path(args.course)
    if not (course / "nbgrader_config.py").is_file():
        return _fail(f"{course.resolve()} is not an nbgrader course folder (no nbgrader_config.py)")
    try:
        results = grade_class(course, args.assignment, jobs=args.jobs, limits=_limits(args),
                              students=args.student or None, cold=args.cold or None,
                              progress=None if args.quiet else sys.stderr)
    except ValueError as exc:
        return _fail(str(exc))
    width = max(len(r.student) for r in results)
    for r in sorted(results, key=lambda r: r.student):
        flags = ("  TAMPERING" if r.tampering else "  NEEDS REVIEW" if r.reviews
                 else "  (see notes)" if r.problems else "")
        print(f"{r.student:<{width}}  {r.score:g} / {r.max_score:g}{flags}")
    print(f"{len(results)} submissions graded; gradebook updated; grades in {course / 'grades.csv'}")
    return 0


def cmd_report(args) -> int:
    from .grading.class_report import write_report

    course = Path(args.course)
    if not (course / "nbgrader_config.py").is_file():
        return _fail(f"{course.resolve()} is not an nbgrader course folder (no nbgrader_config.py)")
    try:
        page, table = write_report(course, args.assignment)
    except ValueError as exc:
        return _fail(str(exc))
    print(f"report: {page}\ntable:  {table}")
    return 0


def cmd_sandbox(args) -> int:
    from .sandbox import host

    try:
        if args.action == "setup":
            changes = host.setup(protect=[REPO / "solutions", REPO / ".git"],
                                 reachable=host.python_folders(), record=args.record)
            from .sandbox.slots import Slot, check_user_can_run_python

            # `make grade` asks quietly before every grading: when nothing had to change,
            # the check made when the change was made still holds (and a grading whose
            # kernel cannot start makes it again), so it does not pay Python's start again
            if changes or not args.quiet:
                # under a slot's lock: a grading that holds a slot kills every process of its
                # user when it ends, and would kill this probe with it (empty stderr, exit -9)
                with Slot.acquire() as slot:
                    check_user_can_run_python(slot.user)
        else:
            changes = host.remove(record=args.record)
    except (PermissionError, RuntimeError) as exc:
        return _fail(str(exc))
    for line in changes:
        print(f"regcourse sandbox {args.action}: {line}")
    if not changes and args.quiet:
        return 0
    if not changes:
        print(f"regcourse sandbox {args.action}: nothing to change"
              + (" (the sandbox users exist and every permission is in place)" if args.action == "setup" else ""))
    elif args.action == "setup":
        print("regcourse sandbox setup: undo with `regcourse sandbox remove`")
    return 0


def _fail(message: str) -> int:
    print(f"regcourse: {message}", file=sys.stderr)
    return CANNOT_GRADE


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="regcourse", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="score one exercise notebook and write a feedback page")
    g.add_argument("notebook")
    g.add_argument("--assignment", help="assignment id (default: from the file name or its cells)")
    g.add_argument("--json", action="store_true", help="print the result as JSON")
    g.add_argument("--hint", action="store_true",
                   help="also show the likely cause of each lost point (after a first try without)")
    g.add_argument("--feedback", metavar="DIR", help="folder for the feedback page (default: the notebook's)")
    g.add_argument("--student", default="learner", help=argparse.SUPPRESS)
    g.add_argument("--source", default=str(REPO / "solutions"), help="source notebooks (default: solutions/)")
    g.add_argument("--config", default=str(REPO / "nbgrader_config.py"), help=argparse.SUPPRESS)
    _add_limit_options(g)
    g.set_defaults(run=cmd_grade)

    a = sub.add_parser("autograde", help="grade every submission of an assignment in an nbgrader course folder")
    a.add_argument("assignment")
    a.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: one per core)")
    a.add_argument("--course", default=".", help="the nbgrader course folder (default: here)")
    a.add_argument("--student", action="append", help="grade only this student (repeatable)")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_limit_options(a)
    a.set_defaults(run=cmd_autograde)

    r = sub.add_parser("report", help="what a graded class got wrong: reports/ASSIGNMENT.html and .csv")
    r.add_argument("assignment")
    r.add_argument("--course", default=".", help="the nbgrader course folder (default: here)")
    r.set_defaults(run=cmd_report)

    s = sub.add_parser("sandbox", help="prepare (setup) or undo (remove) the grading sandbox, as root")
    s.add_argument("action", choices=["setup", "remove"])
    s.add_argument("--record", type=Path, metavar="FILE",
                   help="setup: also write this run's changes to FILE; remove: undo only the changes in FILE")
    s.add_argument("--quiet", action="store_true",
                   help="say nothing when there is nothing to change (and then skip the check that a "
                        "sandbox user can start Python, made when the change was made)")
    s.set_defaults(run=cmd_sandbox)

    h = sub.add_parser("hub-grade", help=argparse.SUPPRESS)   # the classroom's autograde hook runs this
    h.add_argument("assignment")
    h.add_argument("--course", required=True)
    _add_cold_option(h)
    h.set_defaults(run=cmd_hub_grade)

    c = sub.add_parser("classroom", help="a local JupyterHub with nbgrader for one course (as root)")
    c.add_argument("action", choices=["up", "down"])
    c.add_argument("--state", type=Path, default=REPO / ".classroom", help="the classroom's folder")
    c.add_argument("--students", type=int, default=2)
    c.add_argument("--port", type=int, default=None, help="the hub's port (default: a free one)")
    c.add_argument("--authenticator", default="passwords",
                   help="passwords (one of its own for each user, printed once), pam (the machine's accounts), "
                        "or a class path")
    c.add_argument("--formgrader-tab", action="store_true",
                   help="do not let the formgrader be framed inside JupyterLab (open /user/<instructor>/formgrader "
                        "in a tab of its own)")
    c.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite",
                   help="the gradebook: SQLite in the course folder, or a PostgreSQL server the classroom runs")
    c.add_argument("--source", type=Path, default=REPO / "solutions",
                   help="the source notebooks (default: solutions/; a private folder for a graded class)")
    c.add_argument("--wait", action="store_true", help="stay up until Ctrl-C, then take everything down")
    c.set_defaults(run=cmd_classroom)
    return p


def cmd_classroom(args) -> int:
    from .classroom import hub

    if args.action == "down":
        hub.down(args.state)
        return 0
    options = dict(students=args.students, port=args.port, authenticator=args.authenticator,
                   formgrader_tab=args.formgrader_tab, db=args.db, source=args.source)
    if args.wait:
        return hub.serve(args.state, **options)
    state = hub.up(args.state, **options)
    print(f"The classroom is at {state.url}\n{hub.sign_in_lines(state)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    early = _early_factory(argv)
    try:
        try:
            if argv[:1] != ["sandbox"]:   # (which `make grade` runs first, and needs neither)
                import nbformat  # noqa: F401
                import nbgrader  # noqa: F401

            from .sandbox import slots  # noqa: F401
        except ImportError as missing:  # a learner's install has the lesson helpers only
            raise SystemExit(f"regcourse's grading commands need {missing.name}, which the lessons do not: "
                             "pip install 'regcourse[grading]'") from None
        args = parser().parse_args(argv)
        args.factory = early
        try:
            return args.run(args)
        except (RuntimeError, OSError, TimeoutError) as exc:
            # the machine or the files are not as grading needs them: one line, never a traceback
            return _fail(" ".join(str(exc).split()) or type(exc).__name__)
    finally:
        if early is not None:
            early.stop()
        if command_line:
            # The command is done and has closed what it opened. The interpreter's exit
            # would still walk every object it holds for garbage cycles, a third of a
            # second after a grading (most of a learner's wait after the feedback page is
            # written), only to free memory the process's end frees anyway.
            import gc

            gc.freeze()


def _early_factory(argv: list[str]):
    """A warm kernel factory for `regcourse grade` and `hub-grade` (one submission each),
    started before anything else."""
    wanted = (argv[:1] in (["grade"], ["hub-grade"]) and not {"-h", "--help"} & set(argv)
              and not kernel_factory.cold_reason("--cold" in argv or None))
    if wanted and argv[:1] == ["grade"] and len(argv) > 1 and not _looks_like_a_notebook(argv[1]):
        wanted = False   # it cannot be graded: say so at once, without a factory's imports
    return kernel_factory.KernelFactory() if wanted else None


def _looks_like_a_notebook(path: str) -> bool:
    """A file of JSON with cells (what the grader reads properly comes later)."""
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "cells" in data


if __name__ == "__main__":
    sys.exit(main())
