"""nbgrader preprocessors the course's grader adds to ``nbgrader autograde``.

- :class:`SafeExecute` runs the notebook like nbgrader's ``Execute``, but caps what a
  cell may print (in bytes, not only in lines) and survives a kernel that dies: the
  cells that ran keep their results, the others are marked as not run.
- :class:`CapErrors` shortens error messages and traceback lines (a test can fail with a
  message of any length; the feedback page should not).
"""

from __future__ import annotations

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer

KERNEL_DIED = "KernelDied"
KERNEL_STUCK = "KernelStuck"
NOT_RUN = "NotRun"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _size(content: dict) -> int:
    if "text" in content:
        return len(content["text"].encode("utf-8", "replace"))
    return sum(len(str(v)) for v in content.get("data", {}).values())


class SafeExecute(Execute):
    """nbgrader's ``Execute`` with an output cap in bytes and a dead-kernel fallback."""

    max_output_bytes = Integer(1 << 20, help="printed output kept per cell, in bytes").tag(config=True)
    probe_timeout = Integer(120, help="seconds for the grader's probe cell, which calls every "
                                      "function in turn, each with the cell timeout").tag(config=True)

    def _get_timeout(self, cell):
        from .trusted import PROBE_CELL_ID

        if cell is not None and cell.get("id") == PROBE_CELL_ID:
            return self.probe_timeout
        return super()._get_timeout(cell)

    def preprocess(self, nb, resources=None, km=None):
        self._output_bytes: dict[int, int] = {}
        self._broken = ""   # why the kernel cannot run further cells, once it cannot
        return super().preprocess(nb, resources, km)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code":
            return cell
        if self._broken:
            cell.outputs = [error_output(NOT_RUN, f"not run: {self._broken}")]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self._broken = "the kernel had died in an earlier cell"
            cell.outputs.append(error_output(KERNEL_DIED, "the kernel died while running this cell"))
        except CellTimeoutError:
            # nbclient interrupted the cell at its timeout and the kernel still did not
            # answer: it ignores interrupts, so nothing after this cell can run
            self._broken = "an earlier cell never stopped"
            cell.outputs.append(error_output(KERNEL_STUCK, "the cell ran past its time limit and ignored "
                                                           "the interrupt"))
        return cell

    async def _async_cleanup_kernel(self):
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
