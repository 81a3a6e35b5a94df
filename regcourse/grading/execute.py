"""nbgrader preprocessors the course's grader adds to ``nbgrader autograde``.

- :class:`SafeExecute` runs the notebook like nbgrader's ``Execute``, but caps what a
  cell may print (in bytes, not only in lines) and survives a kernel that dies: the
  cells that ran keep their results, the others are marked as not run.
- :class:`CapErrors` shortens error messages and traceback lines (a test can fail with a
  message of any length; the feedback page should not).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from ..sandbox.kernel_factory import TIMES_FILE, read_private
from ..authoring.notebooks import is_test_cell, nbgrader_meta
from ..sandbox.launch import is_running
from .upstream import own_tests

KERNEL_DIED = "KernelDied"
KERNEL_STUCK = "KernelStuck"
NOT_RUN = "NotRun"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _size(content: dict) -> int:
    if "text" in content:
        return len(content["text"].encode("utf-8", "replace"))
    return sum(len(str(v)) for v in content.get("data", {}).values())


def derived_limit(reference_seconds: float, factor: float, floor: float, cap: float) -> float:
    """The time limit of a cell (or call) that takes ``reference_seconds`` in the reference
    run: ``factor`` times that, at least ``floor``, at most ``cap`` seconds."""
    return min(float(cap), max(float(floor), factor * reference_seconds))


class SafeExecute(Execute):
    """nbgrader's ``Execute`` with an output cap in bytes, a dead-kernel fallback, and time
    limits derived from the reference run.

    A test cell (its source is the course's, not the learner's) may take ``time_factor``
    times what it took in the reference run, at least ``min_seconds`` (``cold_min_seconds``
    when the kernel was not forked from the warm factory) and at most the cell timeout,
    and each call of the probe to a learner's function as long as that function's test
    cells. Other cells keep the cell timeout: they hold the learner's own code, which
    nothing else measures."""

    max_output_bytes = Integer(1 << 20, help="printed output kept per cell, in bytes").tag(config=True)
    probe_timeout = Integer(120, help="seconds for the grader's probe cell, which calls every "
                                      "function in turn, each with the cell timeout").tag(config=True)
    reference_folder = Unicode("", help="the reference run's folder, where it writes its times").tag(config=True)
    probe_inputs = Unicode("", help="the sandbox's probe-in/, where the probe's call limits go").tag(config=True)
    time_factor = Float(100.0, help="a test cell's limit in multiples of its reference time").tag(config=True)
    min_seconds = Float(2.0, help="the shortest limit a derived limit can be, in a forked kernel").tag(config=True)
    cold_min_seconds = Float(10.0, help="the shortest derived limit in a kernel started cold").tag(config=True)
    reference_pid = Integer(0, help="the reference run's process: its times stop coming once it ends").tag(config=True)
    progress_file = Unicode("", help="where the step under way is written, for a grading killed at its "
                                     "time limit to say where it was").tag(config=True)

    def _get_timeout(self, cell):
        from .trusted import PROBE_CELL_ID

        if cell is not None and cell.get("id") == PROBE_CELL_ID:
            return self.probe_timeout
        cap = super()._get_timeout(cell)
        self._limit = f"{cap} s"
        spent = self._spent
        if spent is None:
            return cap
        floor = self._floor()
        limit = derived_limit(spent, self.time_factor, floor, cap)
        self._limit = (f"{limit:g} s ({self.time_factor:g} times what the course's solution takes, "
                       f"at least {floor:g} s)" if limit < cap else f"{cap} s")
        return limit

    def _floor(self) -> float:
        """The shortest derived limit: a kernel forked from the warm factory has paid its
        one-time costs there; one started cold pays them in whichever cell first needs them."""
        forked = getattr(getattr(self.km, "provisioner", None), "pidfd", None) is not None
        return self.min_seconds if forked else max(self.min_seconds, self.cold_min_seconds)

    def _progress(self, step: str) -> None:
        """Write down the step under way (root's private file: the grader reads it when it
        had to stop this grading at the submission's time limit)."""
        if self.progress_file:
            Path(self.progress_file).write_text(json.dumps({"step": step, "since": time.time()}))

    def _reference_running(self) -> bool:
        """Whether the reference run can still write times (its process has not ended)."""
        if not self.reference_pid:
            return True
        return is_running(self.reference_pid)

    def _reference_times(self) -> dict:
        try:
            return json.loads(read_private(Path(self.reference_folder) / TIMES_FILE))
        except (OSError, ValueError):
            return {}

    def _reference_time(self, name: str, wait: float) -> float | None:
        """Seconds the reference run spent on ``name``, waiting (at most ``wait`` s) for it
        to get there; None when it never ran it."""
        deadline = time.monotonic() + wait
        running = True
        while True:
            times = self._reference_times()
            if name in times.get("cells", {}):
                return float(times["cells"][name])
            if times.get("done") or not running or time.monotonic() > deadline:
                return None
            running = self._reference_running()   # one more read after it ended, then stop
            time.sleep(0.02)

    def _write_call_limits(self) -> None:
        """Before the probe: each call of a learner's function may take as long as that
        function's test cells may (``test_<function>`` and ``test_<function>_...``). A
        function whose test cells all ran out of time is not called at all: its checks
        read "ran out of time", as they would after its first call ran out, and the loop
        is charged once, in its own cells, instead of waiting out the limit again."""
        from .trusted import PROBE_NAME

        if not (self.reference_folder and self.probe_inputs):
            return
        self._reference_time(PROBE_NAME, wait=self.timeout)   # every test cell is timed by then
        cells = self._reference_times().get("cells", {})
        tests = {name: derived_limit(seconds, self.time_factor, self._floor(), self.timeout)
                 for name, seconds in cells.items() if name.startswith("test_")}
        functions = [name for name in cells if not name.startswith(("test_", "cell-")) and name != PROBE_NAME]
        limits, ran_out = {}, []
        for function in functions:
            own = own_tests(function, tests)
            if own:
                limits[function] = max(tests[name] for name in own)
                if own <= self._ran_out:
                    ran_out.append(function)
        # written beside, then moved into place: never through a link someone else made
        target = Path(self.probe_inputs) / "__call_limits.json"
        partial = target.with_name(f".call-limits-{os.getpid()}")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "w") as f:
                json.dump({"limits": limits, "ran_out": ran_out}, f)
            os.replace(partial, target)
        except OSError:
            partial.unlink(missing_ok=True)   # the probe then keeps the cell timeout per call

    def preprocess(self, nb, resources=None, km=None):
        self._progress("starting the kernel")
        self._output_bytes: dict[int, int] = {}
        self._broken = ""   # why the kernel cannot run further cells, once it cannot
        self._limit = ""    # the time limit of the cell being run, in words
        self._spent: float | None = None   # its reference time, for a test cell
        self._ran_out: set[str] = set()    # the test cells that ran out of time
        return super().preprocess(nb, resources, km)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        from .trusted import PROBE_CELL_ID

        if cell.cell_type != "code":
            return cell
        if self._broken:
            cell.outputs = [error_output(NOT_RUN, f"not run: {self._broken}")]
            return cell
        # what the reference run spent on this test cell (it runs beside this kernel)
        self._spent = None
        loop = asyncio.get_running_loop()
        label = ("the grader's check" if cell.get("id") == PROBE_CELL_ID
                 else f"cell {nbgrader_meta(cell).get('grade_id') or f'number {cell_index + 1}'}")
        if self.reference_folder and is_test_cell(cell):
            self._progress(f"waiting for the course's solution to time {label}")
            self._spent = await loop.run_in_executor(None, self._reference_time,
                                                     nbgrader_meta(cell).get("grade_id", ""), self.timeout)
        if cell.get("id") == PROBE_CELL_ID:
            self._progress("waiting for the course's solution to time every test")
            await loop.run_in_executor(None, self._write_call_limits)
        self._progress(f"running {label}")
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            for out in cell.get("outputs", []):
                if out.get("ename") == "CellTimeoutError":
                    out["evalue"] = self._limit   # the limit that was reached
                    if is_test_cell(cell):
                        self._ran_out.add(nbgrader_meta(cell).get("grade_id", ""))
            return cell
        except DeadKernelError:
            self._broken = "the kernel had died in an earlier cell"
            cell.outputs.append(error_output(KERNEL_DIED, "the kernel died while running this cell"))
        except CellTimeoutError:
            # nbclient interrupted the cell at its timeout and the kernel still did not
            # answer: it ignores interrupts, so nothing after this cell can run
            self._broken = "an earlier cell never stopped"
            cell.outputs.append(error_output(KERNEL_STUCK, self._limit))
        return cell

    async def _async_cleanup_kernel(self):
        self._progress("shutting the kernel down")
        try:
            await super()._async_cleanup_kernel()
        except Exception:  # noqa: BLE001 -- a dead kernel cannot be shut down politely
            pass

    # nbclient binds its synchronous wrappers to its own coroutines: rebind them here
    execute_cell = run_sync(async_execute_cell)
    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] in ("stream", "display_data", "execute_result"):
            used = self._output_bytes.get(cell_index, 0)
            size = _size(msg["content"])
            if used >= self.max_output_bytes:
                return None
            if used + size > self.max_output_bytes:
                self._output_bytes[cell_index] = self.max_output_bytes
                room = self.max_output_bytes - used
                note = f"\n... output truncated: this cell printed more than {self.max_output_bytes} bytes\n"
                if msg["msg_type"] == "stream":
                    text = msg["content"]["text"].encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
                    outs.append(NotebookNode(output_type="stream", name=msg["content"]["name"], text=text + note))
                else:
                    outs.append(NotebookNode(output_type="stream", name="stdout", text=note))
                return outs[-1]
            self._output_bytes[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)


def autograde_steps(execution: list[str]) -> list[str]:
    """nbgrader's autograde steps, with ``execution`` in place of its Execute and error
    outputs capped (the course's grader and the classroom's hook both use these)."""
    return [*execution,
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "regcourse.grading.execute.CapErrors",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata"]


class CapErrors(NbGraderPreprocessor):
    """Shorten error values and traceback lines to ``max_chars`` characters."""

    max_chars = Integer(2000).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["evalue"] = _clip(str(out.get("evalue", "")), self.max_chars)
                out["traceback"] = [_clip(line, self.max_chars) for line in out.get("traceback", [])]
        return cell, resources


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} characters cut]"
