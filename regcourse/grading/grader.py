"""Grading one submission: nbgrader's autograde in a private course folder, with the
kernel in a sandbox, limits on time, memory, processes and output, and a result that
says what happened instead of a stack trace.

``Grader`` builds its template course once (configuration, source notebooks and a
gradebook that knows every test cell) and then grades any number of submissions, each
in a copy of it: nothing a submission does can reach the repository, an instructor's
gradebook, or another submission.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import re
import secrets
import select
import shutil
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from ..authoring.notebooks import code_cells_without_tests, grade_cells, is_test_cell, nbgrader_meta
from ..sandbox import provisioner
from ..sandbox.host import is_root
from ..sandbox.kernel_factory import COLD_ASKED, KernelFactory, cold_reason
from ..sandbox.slots import Limits, Slot, check_user_can_run_python, require_private
from . import hints, submission, tampering, tracebacks, trusted, verdicts
from .course import Course, check_metadata_schema_once
from .execute import KERNEL_DIED, KERNEL_STUCK, NOT_RUN, autograde_steps
from .feedback import add_rubrics
from .reference import reference_outputs
from .report import PENDING, PENDING_MESSAGE, TAMPERING, Item, Result, one_line

# nbgrader's autograde steps, its execution replaced by the course's: each test cell that
# builds on earlier functions swapped to the course's versions, the trusted probe appended,
# the notebook run in the sandbox, and both taken out again.
AUTOGRADE_STEPS = autograde_steps([
    "regcourse.grading.upstream.SwapUpstream",
    "regcourse.grading.trusted.AppendProbe",
    "regcourse.grading.execute.SafeExecute",
    "regcourse.grading.trusted.RemoveProbe",
    "regcourse.grading.upstream.RemoveSwaps",
])


@dataclass
class Run:
    """One graded submission: its private course folder and its result."""

    course: Course
    assignment: str
    student: str
    result: Result

    @property
    def autograded(self) -> Path:
        return self.course.autograded_path(self.student, self.assignment)


@dataclass
class Reference:
    """One assignment's reference run: its folder, the probe's inputs, the running process
    (None once finished) and, as root, the sandbox slot whose user it runs as."""

    folder: Path
    inputs: dict
    process: object
    slot: Slot | None = None

    def finish(self) -> None:
        """Once the run has ended: as root, stop whatever it left running, take its folder
        back from its user (who could otherwise read it when a submission is graded in the
        same slot) and free the slot."""
        if self.slot is None:
            return
        self.slot.kill_processes()
        self.slot.remove_leftovers()
        try:
            reclaim(self.folder)
        finally:
            self.slot.release()
            self.slot = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.finish()


def reclaim(folder: Path) -> None:
    """Make every file under ``folder`` root's and private, refusing links: the grader
    reads these files as root, and a link could lead it anywhere."""
    links = []
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(top, name)
            if os.path.islink(path):
                links.append(os.path.relpath(path, folder))
            else:
                os.lchown(path, 0, 0)
    os.lchown(folder, 0, 0)
    os.chmod(folder, 0o700)
    if links:
        raise RuntimeError(f"the reference run left links in its folder ({', '.join(links[:3])}); "
                           "its outputs are not read")


class Grader:
    """Grades submissions against the source notebooks in ``source``."""

    def __init__(self, source: Path, config_file: Path, assignments: list[str] | None = None,
                 limits: Limits = Limits(), workdir: Path | None = None, cold: bool | None = None,
                 kernel_factory: KernelFactory | None = None, seed: int | None = None, for_class: bool = False):
        """``cold``: start every kernel afresh instead of forking it from a warm factory
        (default: when the environment sets ``REGCOURSE_COLD=1``). ``kernel_factory``: one
        already started (the command line starts it first), which its caller stops.
        ``for_class``: an instructor grades (a classroom's autograde), not the learner; the
        report says whose user ran the code."""
        from ..authoring.notebooks import assignment_ids

        require_private(Path(source))
        self.limits = limits
        self.for_class = for_class
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="regcourse-grader-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Kernels may pass through the work folder to their sandbox, but see nothing else:
        # folders on the way are search-only (0711), course folders private (0700).
        self.workdir.chmod(0o711)
        ids = assignments or assignment_ids(Path(source))
        self.template = Course.create(self.workdir / "template", Path(source), Path(config_file), ids)
        self.template.root.chmod(0o700)
        self.known = {aid: set(self.template.grade_ids(aid)) for aid in ids}
        self.written = {aid: set(self.template.written_answers(aid)) for aid in ids}
        # Sandboxes live apart from the work folder, which may sit inside a private
        # folder: the kernels must be able to walk to their own sandbox, and no further.
        self.sandboxes = Path(tempfile.mkdtemp(prefix="regcourse-sandboxes-"))
        self.sandboxes.chmod(0o711)
        # Fresh inputs for the trusted checks, from a seed no submission can know (tests
        # fix it to grade the same submissions twice on the same inputs).
        self._seed = secrets.randbits(63) if seed is None else seed
        self._references: dict[str, Reference] = {}
        self._runs = 0
        # Warm kernels (regcourse.sandbox.kernel_factory): one factory, started on first use,
        # or at once by start_factory(); its imports overlap the rest.
        self.cold_reason = cold_reason(cold)
        self._given = kernel_factory
        self._factory = None if self.cold_reason else kernel_factory
        # Each grading is a forked child that looks up the python3 kernel, which imports
        # IPython (a quarter of a second): imported here once, every child inherits it.
        import IPython.paths  # noqa: F401
        import ipykernel.kernelspec  # noqa: F401
        check_metadata_schema_once()

    # -- public ---------------------------------------------------------------------------

    def start_factory(self) -> str:
        """The socket of the warm kernel factory (started if need be), or '' when kernels
        start cold. Processes forked from this grader (class grading's pool workers) share
        the factory it had then, while it lives."""
        if self.cold_reason:
            return ""
        current = self._factory
        if current is None or not current.alive():
            if current is not None and current.owner == os.getpid() and current is not self._given:
                current.stop()   # it died: start another; kernels started cold meanwhile say so
            self._factory = KernelFactory()
        return self._factory.socket

    def grade(self, path: Path, assignment: str, student: str = "learner") -> Run:
        """Grade the notebook in ``path`` as ``student``'s submission of ``assignment``."""
        if assignment not in self.known:
            raise ValueError(f"unknown assignment {assignment!r}; known: {', '.join(sorted(self.known))}")
        started = time.monotonic()
        self._runs += 1
        folder = self.workdir / "runs" / f"{self._runs:04d}-{_safe(student)}"
        folder.mkdir(parents=True)
        for f in (folder, folder.parent):
            f.chmod(0o711)
        course = self.template.clone(folder / "course")
        course.root.chmod(0o700)
        result = Result(assignment, student)
        try:
            nb = submission.read(path)
        except submission.Unreadable as exc:
            result.problems.append(str(exc).split(": ", 1)[-1])
            result.items = self._zeros(assignment, "not graded: the file is not a notebook")
            result.seconds = time.monotonic() - started
            return Run(course, assignment, student, result)

        nb, notes = submission.repair(nb)
        result.problems += notes
        kernel = nb.metadata.get("kernelspec", {}).get("name")
        if kernel and kernel != "python3":
            result.problems.append(f"the notebook asked for the kernel {kernel!r}; it was graded with python3")
        target = course.submission_path(student, assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))

        inputs = self._start_reference(assignment)
        mark = secrets.token_hex(16)   # the probe's last output; no submission can know it
        guarded = self._snapshot()
        with Slot.acquire() as slot:
            result.isolation = slot.isolation(self.for_class)
            # a busy machine can make an honest notebook miss the wall clock: one that does is
            # graded once more, afresh, before it is called out of time
            for last_try in (False, True):
                # a short name: the kernel's IPC sockets live in this folder, and a socket's
                # path must fit in 108 bytes
                sandbox = slot.prepare_folder(self.sandboxes / f"{self._runs:04d}-{secrets.token_hex(3)}")
                trusted.write_inputs(inputs, sandbox / trusted.IN_DIR, call_seconds=self.limits.cell_seconds)
                outcome = self._autograde(course, assignment, student, slot, sandbox, mark)
                if last_try or not outcome.get("timed_out"):
                    break
                slot.kill_processes()
                slot.remove_leftovers()
                result.notes.append(f"graded a second time: the first try ran out of its "
                                    f"{self.limits.submission_seconds} s{outcome.get('where', '')}")
            killed = slot.kill_processes()
            autograded = course.autograded_path(student, assignment)
            executed = nbformat.read(str(autograded), as_version=4) if autograded.exists() else None
            breakdowns = self._kernel_breakdowns(executed)
            if breakdowns and not trusted.probe_finished(sandbox / trusted.OUT_DIR, mark):
                # the kernel died or hung before the probe could run: probe the student's
                # code again in a fresh kernel, without the cells that broke it
                self._probe_again(nb, assignment, {cell_id for cell_id, _ in breakdowns}, slot, sandbox, mark)
                killed += slot.kill_processes()
            if not outcome.get("success") and slot.user is not None:
                # a kernel that cannot start as the sandbox user is the grader's fault:
                # say exactly why instead of blaming the submission
                check_user_can_run_python(slot.user)
            left = slot.remove_leftovers()
            # every process of the sandbox is gone: its outputs can no longer change
            student_outputs = trusted.Outputs(sandbox / trusted.OUT_DIR)
            reference = trusted.Outputs(self._reference(assignment))
            checks = trusted.verdicts(assignment, student_outputs, reference, inputs, mark)
        if killed:
            result.problems.append(f"{killed} process(es) the submission left running were stopped")
        if left:
            result.problems.append(f"{len(left)} file(s) the submission left in shared folders were removed: "
                                   + ", ".join(left[:3]))
        if self.cold_reason and self.cold_reason != COLD_ASKED:
            result.notes.append(f"{provisioner.COLD_NOTE}: {self.cold_reason}")
        for why in outcome.get("cold", [])[:1]:
            result.notes.append(f"{provisioner.COLD_NOTE}: {why}")
        result.problems += outcome.get("problems", [])
        result.items = self._items(course, assignment, student, outcome, executed)
        if course.autograded_path(student, assignment).exists():
            # the rubrics of the written answers, for the instructor grading by hand
            add_rubrics(course.autograded_path(student, assignment), course.source_path(assignment))
        result.problems += [problem for _, problem in breakdowns]
        if executed is not None:
            result.problems += tracebacks.broken_cell_problems(executed)
        broken = bool(breakdowns or outcome.get("timed_out") or not outcome.get("success"))
        found = verdicts.evidence(tampering.evidence(code_cells_without_tests(nb)), checks.forged,
                                  self._changed_since(guarded), checks.ran, broken)
        verdicts.judge(result, checks.failed, found, broken)
        for item in result.items:
            if not (item.passed or item.pending or item.verdict == TAMPERING):
                item.example = trusted.failing_example(assignment, item.grade_id, student_outputs, reference)
                item.hint = hints.hint_for(assignment, item.grade_id, item.message)
        result.seconds = time.monotonic() - started
        return Run(course, assignment, student, result)

    def close(self) -> None:
        """Remove everything the grader created (its work folder and the sandboxes)."""
        if self._factory is not None and self._factory.owner == os.getpid() and self._factory is not self._given:
            self._factory.stop()   # one this grader started (the caller stops one it gave)
        for reference in self._references.values():
            reference.stop()
        shutil.rmtree(self.sandboxes, ignore_errors=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- trusted checks -------------------------------------------------------------------

    def _start_reference(self, assignment: str) -> dict:
        """Draw ``assignment``'s trusted inputs and start its reference run (once)."""
        if assignment not in self._references:
            from .checks import spec

            rng = np.random.default_rng([self._seed, sorted(self.known).index(assignment)])
            inputs = spec(assignment).make_inputs(rng)
            # one reference run per grading process (class grading forks workers after
            # this grader was made, and each starts its own): each in a folder of its own
            # beside the kernels' folders (which their users can reach); as root, the solution
            # code runs as a sandbox user of its own, never as root
            folder = self.sandboxes / f"reference-{assignment}-{os.getpid()}"
            slot = Slot.acquire() if is_root() else None
            if slot is not None:
                slot.prepare_folder(folder)
            trusted.write_inputs(inputs, folder / trusted.IN_DIR)
            source = self.template.source_path(assignment)
            process = reference_outputs(source, assignment, folder, self.start_factory(),
                                                slot.user if slot else None)
            self._references[assignment] = Reference(folder, inputs, process, slot)
        return self._references[assignment].inputs

    def _reference(self, assignment: str) -> Path:
        """The folder of ``assignment``'s reference outputs, once its run has finished."""
        reference = self._references[assignment]
        if reference.process is not None:
            _, err = reference.process.communicate()
            reference.finish()
            if reference.process.returncode != 0:
                raise RuntimeError(f"the reference solutions of {assignment} failed the trusted probe:\n"
                                   f"{err.decode(errors='replace')[-2000:]}")
            reference.process = None
        return reference.folder / trusted.OUT_DIR

    # -- files outside the sandbox --------------------------------------------------------

    def _snapshot(self) -> dict[str, tuple]:
        """Mode, size, time and inode of every file of the template course and of the finished
        reference outputs: a kernel that can write outside its sandbox (grading without
        root) must not change them."""
        state = {}
        tops = [self.template.root] + [r.folder for r in self._references.values() if r.process is None]
        for top in tops:
            for path in sorted(Path(top).rglob("*")):
                try:
                    info = path.lstat()
                except FileNotFoundError:
                    continue
                state[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino)
        return state

    def _changed_since(self, before: dict[str, tuple]) -> list[str]:
        after = self._snapshot()
        changed = sorted({p for p in before if after.get(p) != before[p]}
                         | {p for p in after if p not in before and p.startswith(str(self.template.root))})
        return [os.path.relpath(p, self.workdir) for p in changed][:5]

    # -- steps ----------------------------------------------------------------------------

    def _config_overrides(self, slot: Slot, sandbox: Path, mark: str, assignment: str) -> dict:
        user = slot.user.pw_name if slot.user is not None else ""
        socket = self.start_factory()
        source = str(self.template.source_path(assignment))
        swaps = secrets.token_hex(8)   # in the ids of the cells that swap upstream functions
        return {
            "Autograde": {"autograde_preprocessors": AUTOGRADE_STEPS},
            "AppendProbe": {"mark": mark, "source_notebook": source},
            "SwapUpstream": {"source_notebook": source, "token": swaps},
            "RemoveSwaps": {"token": swaps},
            "SafeExecute": {"timeout": self.limits.cell_seconds, "max_output_bytes": self.limits.output_bytes,
                            "probe_timeout": 8 * self.limits.cell_seconds,
                            # test cells and probe calls: limits from the reference run's times
                            "reference_folder": str(self._references[assignment].folder),
                            "reference_pid": getattr(self._references[assignment].process, "pid", 0) or 0,
                            "probe_inputs": str(sandbox / trusted.IN_DIR),
                            "time_factor": self.limits.time_factor, "min_seconds": self.limits.min_seconds,
                            "cold_min_seconds": self.limits.cold_min_seconds,
                            # every output is in by then, and the slot's processes are killed next
                            "shutdown_kernel": "immediate",
                            "kernel_manager_class": "regcourse.sandbox.slots.SandboxKernelManager"},
            "SandboxKernelManager": {"sandbox_dir": str(sandbox), "sandbox_user": user, "no_network": bool(user),
                                     "sandbox_token": slot.token, "memory_bytes": self.limits.memory_bytes,
                                     "processes": self.limits.processes, "file_bytes": self.limits.file_bytes,
                                     "factory": socket},
        }

    def _autograde(self, course: Course, assignment: str, student: str, slot: Slot, sandbox: Path,
                   mark: str) -> dict:
        """nbgrader autograde in a forked child that is killed at the wall-clock limit.

        ``os.fork`` rather than ``multiprocessing``: class grading runs this inside pool
        workers, which multiprocessing does not allow to have children of their own.
        """
        out = course.root / "autograde-outcome.json"
        progress = course.root / "autograde-progress.json"
        out.unlink(missing_ok=True)
        progress.unlink(missing_ok=True)
        overrides = self._config_overrides(slot, sandbox, mark, assignment)
        overrides["SafeExecute"]["progress_file"] = str(progress)
        pid = os.fork()
        if pid == 0:  # the child
            try:
                gc.freeze()   # what it inherits is never garbage: the collector need not walk it
                _autograde_child(str(course.root), overrides, assignment, student, str(out))
            finally:
                os._exit(0)
        if not _wait(pid, self.limits.submission_seconds, slot):
            where = _where(progress)
            return {"success": False, "timed_out": True, "where": where,
                    "problems": [f"grading stopped after the time limit of {self.limits.submission_seconds} s{where} "
                                 "(an endless loop that ignores interrupts?)"]}
        if not out.exists():
            return {"success": False, "problems": ["the grader's process failed"]}
        return json.loads(out.read_text())

    def _probe_again(self, nb, assignment: str, skip: set[str], slot: Slot, sandbox: Path, mark: str) -> None:
        """Run the student's own cells (not the tests, not ``skip``) and the probe afresh."""
        rerun = nbformat.v4.new_notebook(metadata=nb.metadata)
        rerun.cells = [copy.deepcopy(c) for c in nb.cells
                       if c.cell_type == "code" and not is_test_cell(c) and c.get("id") not in skip]
        rerun.cells.append(trusted.probe_cell(assignment, mark, self.template.source_path(assignment)))
        for cell in rerun.cells:
            cell.outputs = []
        shutil.rmtree(sandbox / trusted.OUT_DIR, ignore_errors=True)
        overrides = self._config_overrides(slot, sandbox, mark, assignment)
        pid = os.fork()
        if pid == 0:  # the child
            try:
                _execute_child(rerun, overrides, str(sandbox))
            finally:
                os._exit(0)
        _wait(pid, self.limits.submission_seconds, slot)

    def _kernel_breakdowns(self, nb) -> list[tuple[str | None, str]]:
        """(cell id, problem) for every cell of the executed notebook ``nb`` in which the
        kernel died or got stuck."""
        if nb is None:
            return []
        breakdowns = []
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.get("ename") in (KERNEL_DIED, KERNEL_STUCK):
                    where = nbgrader_meta(cell).get("grade_id") or f"number {index + 1}"
                    breakdowns.append((cell.get("id"), f"cell {where}: {_explain(out, self.limits)}; "
                                                       "the cells after it could not run"))
        return breakdowns

    def _zeros(self, assignment: str, message: str) -> list[Item]:
        maxima = self.template.max_scores(assignment)
        return [self._pending(gid, maxima[gid]) if gid in self.written[assignment]
                else Item(gid, 0.0, maxima[gid], message) for gid in self.template.grade_ids(assignment)]

    @staticmethod
    def _pending(grade_id: str, max_score: float) -> Item:
        """A written answer: the instructor grades it, so its points are pending, not lost."""
        return Item(grade_id, 0.0, max_score, PENDING_MESSAGE, PENDING)

    def _items(self, course: Course, assignment: str, student: str, outcome: dict, nb) -> list[Item]:
        if outcome.get("timed_out"):
            return self._zeros(assignment, "not graded: time limit")
        if not outcome.get("success") or nb is None:
            reason = one_line(outcome.get("error", "")) or "nbgrader could not grade the notebook"
            return self._zeros(assignment, f"not graded: {reason}")
        messages = {}
        for cell in grade_cells(nb):
            gid = nbgrader_meta(cell)["grade_id"]
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            # the grader's own diagnosis (timeout, dead kernel) outranks what the kernel printed
            errors.sort(key=lambda o: o.get("ename") not in _GRADER_ERRORS)
            if errors:
                text = _explain(errors[0], self.limits)
                messages[gid] = (text + tracebacks.where(errors[0], nb)
                                 + tracebacks.why_undefined(text, nb))
                continue
            stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
            if stderr:
                messages[gid] = ("the cell wrote to stderr (a warning?), which nbgrader counts as a failure: "
                                 + one_line(stderr[0].get("text", "")))
        items = []
        for s in course.scores(assignment, student):
            if s.grade_id in self.written[assignment]:
                items.append(self._pending(s.grade_id, s.max_score))
                continue
            msg = "" if s.score == s.max_score else messages.get(s.grade_id, "failed")
            items.append(Item(s.grade_id, s.score, s.max_score, msg))
        return items


_GRADER_ERRORS = {KERNEL_DIED, KERNEL_STUCK, NOT_RUN, "CellTimeoutError"}


def _explain(out: dict, limits: Limits) -> str:
    ename, evalue = out.get("ename", "Error"), str(out.get("evalue", ""))
    if ename == KERNEL_DIED:
        return "the kernel died while running this cell (os._exit, a crash, or too much memory)"
    limit = evalue or f"{limits.cell_seconds} s"   # SafeExecute names the limit the cell reached
    if ename == KERNEL_STUCK:
        return f"the cell ran longer than its time limit of {limit} and did not stop when interrupted"
    if ename == NOT_RUN:
        return evalue
    if ename == "CellTimeoutError":
        return (f"the cell ran longer than its time limit of {limit} and was interrupted: an endless "
                "loop, or an algorithm much slower than it needs to be?")
    if ename == "MemoryError":
        return f"MemoryError: the kernel may use at most {limits.memory_bytes >> 20} MiB"
    return one_line(f"{ename}: {evalue}" if evalue else ename)


def _where(progress: Path) -> str:
    """Where a grading stopped at its time limit was, as ``", while <step> (for N s)"``."""
    try:
        step = json.loads(progress.read_text())
        return f", while {step['step']} (for {max(0.0, time.time() - float(step['since'])):.0f} s)"
    except (OSError, ValueError, KeyError, TypeError):
        return ", before the notebook started running"


def _wait(pid: int, seconds: float, slot: Slot) -> bool:
    """Wait for the child ``pid``; kill it and the sandbox after ``seconds``. True if it ended."""
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    deadline = time.monotonic() + seconds
    try:
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return True
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                slot.kill_processes()
                return False
            if pidfd is None:
                time.sleep(0.05)
            else:   # wakes the moment the child ends
                select.select([pidfd], [], [], max(0.0, min(1.0, deadline - time.monotonic())))
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _execute_child(nb, overrides: dict, sandbox: str) -> None:
    """Runs in a forked child: execute ``nb`` with the grader's execution step, in the sandbox."""
    from traitlets.config import Config

    from .execute import SafeExecute

    config = Config()
    for section, values in overrides.items():
        for key, value in values.items():
            config[section][key] = value
    try:
        SafeExecute(config=config).preprocess(nb, {"metadata": {"path": sandbox}})
    except Exception:  # noqa: BLE001 -- whatever the probe wrote before is all there is
        pass


def _autograde_child(root: str, overrides: dict, assignment: str, student: str, out: str) -> None:
    """Runs in the forked child: nbgrader autograde, result written as JSON."""
    outcome: dict = {"success": False, "problems": []}
    provisioner.FALLBACKS.clear()
    try:
        course = Course(Path(root))
        for section, values in overrides.items():
            for key, value in values.items():
                course.config[section][key] = value
        result = course.api().autograde(assignment, student, force=True, create=True)
        outcome["success"] = bool(result.get("success"))
        if not outcome["success"]:
            outcome["error"] = _nbgrader_error(result.get("log", "") + "\n" + result.get("error", ""))
            outcome["problems"].append(f"nbgrader could not grade the notebook: {outcome['error']}")
    except BaseException as exc:  # noqa: BLE001 -- report, never crash the worker
        outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["problems"].append(f"the grader failed: {outcome['error']}")
        outcome["traceback"] = traceback.format_exc()
    outcome["cold"] = list(provisioner.FALLBACKS)
    Path(out).write_text(json.dumps(outcome))


def _nbgrader_error(log: str) -> str:
    """The most telling error line of an nbgrader log (its last ``SomeError: message``)."""
    pattern = re.compile(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit|Interrupt))(?::\s*(.*))?$")
    found = None
    for line in log.splitlines():
        match = pattern.match(line.strip())
        if match and match.group(1) != "NbGraderException":
            found = f"{match.group(1)}: {match.group(2)}" if match.group(2) else match.group(1)
    return (found or "unknown error")[:300]


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)[:60] or "student"
