"""Verdicts that student code cannot forge.

nbgrader runs the hidden tests in the same kernel as the student's code, so that code
can make every test pass without solving anything (replace ``np.allclose``, install an
input transformer, swallow exceptions, ...). The trusted check closes that hole:

1. The grader draws fresh test inputs from a secret seed and writes them as ``.npy``
   files into the sandbox (``probe-in/``).
2. A *probe* cell, appended after every cell of the submission, calls the student's
   functions on those inputs in the kernel and writes what they return as ``.npy``
   (never pickled) or JSON into ``probe-out/``. That is all student code can influence:
   plain numbers.
3. The same probe runs on the reference solutions from ``solutions/`` in a separate
   process that never executes student code.
4. This process, which never executes student code either, loads both sets of outputs
   (``allow_pickle=False``, regular files only, numeric dtypes only, bounded sizes) and
   compares them with the assignment's rules in :mod:`regcourse.grading.probes`.

A test cell earns its points only when the notebook's own test *and* the trusted check
pass. When the notebook's test passed but the trusted check failed, or the probe could
not run at all, or the code does something only an attack would do (a static scan of
its syntax tree), the submission is reported as tampering.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nbgrader.preprocessors import NbGraderPreprocessor

from ..notebooks import code_cells_without_tests, read

PROBE_CELL_ID = "regcourse-trusted-probe"
IN_DIR, OUT_DIR = "probe-in", "probe-out"
MAX_FILE_BYTES = 64 << 20
NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: nothing else is read back


# -- the probe cell ------------------------------------------------------------------------

PRELUDE = '''
def __regcourse_probe():
    import json, os, signal
    import numpy as np

    ns = globals()
    os.makedirs("probe-out", exist_ok=True)
    call_seconds = float(np.load(os.path.join("probe-in", "__call_seconds.npy")))

    def _too_long(signum, frame):
        raise TimeoutError(f"the function ran longer than {call_seconds:g} s")

    signal.signal(signal.SIGALRM, _too_long)

    def load(name):
        return np.load(os.path.join("probe-in", name + ".npy"), allow_pickle=False)

    def _write(name, kind, writer):
        path = os.path.join("probe-out", name + "." + kind)
        with open(path, "wb" if kind == "npy" else "w") as f:
            writer(f)

    def save(name, value):
        try:
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            if isinstance(value, (bool, int, float, str, list, dict, type(None))):
                text = json.dumps(value)
                _write(name, "json", lambda f: f.write(text))
            else:
                array = np.asarray(value)
                _write(name, "npy", lambda f: np.save(f, array, allow_pickle=False))
        except BaseException as exc:
            save_error(name, exc)

    def save_error(name, exc):
        names = [c.__name__ for c in type(exc).__mro__]
        _write(name, "json", lambda f: f.write(json.dumps({"__error__": names})))

    hung = set()  # functions that ran out of time once are not called again

    def run(name, function, *args, **kwargs):
        """Call the student's function within the time limit; on an exception save its
        type under ``name`` and return None."""
        if function in hung:
            save_error(name, TimeoutError("ran out of time before"))
            return None
        signal.setitimer(signal.ITIMER_REAL, call_seconds)
        try:
            return ns[function](*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, TimeoutError):
                hung.add(function)
            save_error(name, exc)
            return None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def call(name, function, *args, **kwargs):
        """Like ``run``, and save what the function returns as ``name``."""
        errors = os.path.join("probe-out", name + ".json")
        value = run(name, function, *args, **kwargs)
        if value is not None or not os.path.exists(errors):
            save(name, value)
        return value

'''

EPILOGUE = '''
    save("probe_complete", True)


__regcourse_probe()
del __regcourse_probe
'''


def probe_source(body: str) -> str:
    """The probe cell: the prelude, the assignment's body (indented), the epilogue."""
    return PRELUDE + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n" + EPILOGUE


def probe_cell(assignment: str):
    """The probe of ``assignment`` as a notebook code cell, with its fixed id."""
    import nbformat

    from .probes import spec

    cell = nbformat.v4.new_code_cell(probe_source(spec(assignment).BODY))
    cell["id"] = PROBE_CELL_ID
    return cell


class AppendProbe(NbGraderPreprocessor):
    """Append the probe cell after the submission's cells (before execution)."""

    def preprocess(self, nb, resources):
        cell = probe_cell(resources["nbgrader"]["assignment"])
        nb.cells = [c for c in nb.cells if c.get("id") != PROBE_CELL_ID] + [cell]
        return nb, resources


class RemoveProbe(NbGraderPreprocessor):
    """Take the probe cell out again (after execution): feedback shows only the notebook."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if c.get("id") != PROBE_CELL_ID]
        return nb, resources


# -- reading outputs written where student code ran -----------------------------------------

@dataclass(frozen=True)
class Missing:
    why: str

    def __str__(self):
        return self.why


@dataclass(frozen=True)
class Raised:
    names: tuple[str, ...]   # the exception's class and its bases

    def is_a(self, name: str) -> bool:
        return name in self.names

    def __str__(self):
        return f"raised {self.names[0]}"


class Outputs:
    """The values a probe wrote into ``folder``, read without trusting anything in it."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._cache: dict[str, object] = {}

    def __getitem__(self, name: str):
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def _read(self, name: str):
        if not _regular_dir(self.folder):
            return Missing("the grader's probe wrote no output")
        for kind in ("npy", "json"):
            path = self.folder / f"{name}.{kind}"
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode):
                return Missing(f"{name}: not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                return Missing(f"{name}: larger than {MAX_FILE_BYTES} bytes")
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                if kind == "npy":
                    try:
                        array = np.load(f, allow_pickle=False)
                    except Exception as exc:  # noqa: BLE001 -- anything unreadable is simply wrong
                        return Missing(f"{name}: unreadable array ({type(exc).__name__})")
                    if not isinstance(array, np.ndarray) or array.dtype.kind not in NUMERIC_KINDS:
                        return Missing(f"{name}: not a numeric array (dtype {getattr(array, 'dtype', '?')})")
                    return array
                try:
                    value = json.loads(f.read().decode("utf-8"))
                except Exception as exc:  # noqa: BLE001
                    return Missing(f"{name}: unreadable value ({type(exc).__name__})")
                if isinstance(value, dict) and set(value) == {"__error__"} and isinstance(value["__error__"], list):
                    return Raised(tuple(str(n) for n in value["__error__"]))
                return value
        return Missing(f"{name}: no output")


def probe_ran(folder: Path) -> bool:
    """Whether the probe wrote anything at all into ``folder``."""
    return _regular_dir(folder) and any(os.scandir(folder))


def probe_finished(folder: Path) -> bool:
    return Outputs(folder)["probe_complete"] is True


def _regular_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


# -- helpers for the assignments' rules -----------------------------------------------------

class Wrong(Exception):
    """A trusted check failed; the message says how."""


def array(outputs: Outputs, name: str, shape=None) -> np.ndarray:
    value = outputs[name]
    if isinstance(value, (Missing, Raised)):
        raise Wrong(f"{name}: {value}")
    if isinstance(value, bool) or not isinstance(value, (int, float, list, np.ndarray)):
        raise Wrong(f"{name}: not a number or an array")
    try:
        result = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"{name}: not numeric") from None
    if shape is not None and result.shape != tuple(shape):
        raise Wrong(f"{name}: shape {result.shape}, expected {tuple(shape)}")
    return result


def close(student: Outputs, reference: Outputs, name: str, rtol=1e-7, atol=1e-9) -> np.ndarray:
    expected = array(reference, name)
    got = array(student, name, expected.shape)
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        raise Wrong(f"{name}: not finite")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        raise Wrong(f"{name}: differs from the reference by {np.max(np.abs(got - expected)):.2e}")
    return got


def raised(outputs: Outputs, name: str, error: str) -> None:
    value = outputs[name]
    if not (isinstance(value, Raised) and value.is_a(error)):
        raise Wrong(f"{name}: expected {error}, got {'a value' if not isinstance(value, (Missing, Raised)) else value}")


def equal(student: Outputs, reference: Outputs, name: str) -> None:
    s, r = student[name], reference[name]
    if isinstance(s, (Missing, Raised)):
        raise Wrong(f"{name}: {s}")
    if s != r:
        raise Wrong(f"{name}: {str(s)[:80]} instead of {str(r)[:80]}")


# -- the reference run ----------------------------------------------------------------------

def write_inputs(inputs: dict[str, np.ndarray], folder: Path, call_seconds: float = 30.0) -> None:
    """The probe's inputs, and the time each call of a student function may take."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in {**inputs, "__call_seconds": np.array(float(call_seconds))}.items():
        np.save(folder / f"{name}.npy", np.asarray(value), allow_pickle=False)
    folder.chmod(0o755)
    for f in folder.iterdir():
        f.chmod(0o644)


def reference_outputs(source_notebook: Path, assignment: str, folder: Path) -> subprocess.Popen:
    """Start the reference run (solution code + probe) in ``folder``; returns the process.

    ``folder`` holds ``probe-in/``; the reference outputs land in ``folder/probe-out``.
    """
    return subprocess.Popen([sys.executable, "-m", "regcourse.grading.trusted", str(source_notebook),
                             assignment, str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=folder, env={**os.environ, "MPLBACKEND": "Agg"})


def run_reference(source_notebook: str, assignment: str, folder: str) -> None:
    """Entry point of the reference process: solution cells, then the probe, in ``folder``."""
    from .probes import spec

    os.chdir(folder)
    namespace: dict = {"__name__": "__main__"}
    for source in code_cells_without_tests(read(source_notebook)):
        exec(compile(source, "solution", "exec"), namespace)
    exec(compile(probe_source(spec(assignment).BODY), "probe", "exec"), namespace)


# -- comparing ---------------------------------------------------------------------------------

def verdicts(assignment: str, student: Outputs, reference: Outputs, inputs: dict) -> dict[str, str | None]:
    """``{grade_id: None if the trusted check passed, else why not}``."""
    from .probes import spec

    checks = spec(assignment).CHECKS
    if not probe_ran(student.folder):
        why = ("the grader's independent check could not run in this notebook: "
               "its code stopped or replaced the checking cell")
        return {gid: why for gid in checks}
    if reference["probe_complete"] is not True:
        raise RuntimeError(f"the reference solutions of {assignment} failed their own probe")
    result = {}
    for gid, check in checks.items():
        try:
            check(student, reference, inputs)
            result[gid] = None
        except Wrong as exc:
            result[gid] = str(exc)
        except Exception as exc:  # noqa: BLE001 -- odd values are wrong values
            result[gid] = f"unexpected output ({type(exc).__name__}: {exc})"
    return result


# -- static evidence -----------------------------------------------------------------------------

GUARDED_MODULES = {"np", "numpy", "torch", "builtins", "sys", "math", "IPython", "nbgrader", "__builtins__"}
# names the tests use for modules: rebinding them (``np = something_else``) fools them
REBOUND_NAMES = {"np", "numpy", "torch", "nn", "math", "builtins"}
SUSPICIOUS_NAMES = {
    "input_transformers_cleanup": "installs an IPython input transformer",
    "input_transformers_post": "installs an IPython input transformer",
    "input_transformer_manager": "installs an IPython input transformer",
    "ast_transformers": "installs an IPython AST transformer",
    "set_custom_exc": "installs a handler that swallows exceptions",
    "_implementation": "patches numpy internals",
}
SUSPICIOUS_STRINGS = {
    "NBGRADER": "reads the grader's environment to behave differently when graded",
    "REGCOURSE_SANDBOX": "reads the grader's environment to behave differently when graded",
    "BEGIN SOLUTION": "looks for the solutions",
    "gradebook": "touches the gradebook",
    "probe-out": "touches the grader's check files",
    "probe-in": "touches the grader's check files",
    "autograde-outcome": "touches the grader's files",
    "BEGIN HIDDEN TESTS": "looks for the hidden tests",
    "submitted/": "looks for other submissions",
}


def tampering_evidence(sources: list[str]) -> list[str]:
    """What the student's code does that only an attack on the grader would do."""
    found: list[str] = []

    def note(text: str) -> None:
        if text not in found:
            found.append(text)

    for source in sources:
        try:
            tree = ast.parse(_without_magics(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in REBOUND_NAMES:
                        note(f"rebinds {target.id}, the module the tests use")
                    if isinstance(target, (ast.Attribute, ast.Subscript)) and _guarded(target):
                        note(f"replaces part of {_root_name(target)} ({ast.unparse(target)[:60]})")
                    if _mentions(target, "modules") and _root_name(target) == "sys":
                        note("replaces entries of sys.modules")
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in ("setattr", "delattr") and node.args and _root_name(node.args[0]) in GUARDED_MODULES:
                    note(f"replaces part of {_root_name(node.args[0])} with {name}()")
                if name.endswith("sys.modules.update") or name.endswith("modules.__setitem__"):
                    note("replaces entries of sys.modules")
            if isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_NAMES:
                note(SUSPICIOUS_NAMES[node.attr])
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for text, meaning in SUSPICIOUS_STRINGS.items():
                    if text in node.value:
                        note(meaning)
    return found


def _guarded(target) -> bool:
    """Whether assigning to ``target`` replaces something the tests rely on.

    Everything in numpy, builtins, sys, math and IPython counts; in torch only its
    top-level functions and ``torch.testing`` (``torch.backends.cudnn.deterministic =
    True`` is a legitimate setting, not an attack)."""
    chain = []
    node = target
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            chain.append(node.attr)
        node = node.value
    root = _root_name(target)
    if root == "torch":
        return len(chain) == 1 or "testing" in chain
    return root in GUARDED_MODULES


def _without_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if isinstance(node, ast.Call):
        return _root_name(node.func)
    return node.id if isinstance(node, ast.Name) else None


def _mentions(node, attr: str) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == attr for n in ast.walk(node))


if __name__ == "__main__":
    run_reference(*sys.argv[1:4])
