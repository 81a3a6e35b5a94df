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
   compares them with the assignment's rules in :mod:`regcourse.grading.checks`.

A test cell earns its points only when the notebook's own test *and* the trusted check
pass. What happens when they disagree depends on the evidence:

- the trusted check found a wrong *value* where the notebook's test passed: an honest
  disagreement (the notebook's test was too weak to see the mistake). The cell scores 0,
  the learner reads what was wrong, and the submission is marked "needs review";
- the probe could not run although the kernel was alive, its outputs are not what the
  probe writes (not regular files, not plain data, or without this grading's secret
  mark), or the code does something only an attack would do (the static scan of
  :mod:`regcourse.grading.tampering`): tampering.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

PROBE_CELL_ID = "regcourse-trusted-probe"
PROBE_NAME = "probe"   # the probe's entry in a reference run's times
IN_DIR, OUT_DIR = "probe-in", "probe-out"
MAX_FILE_BYTES = 64 << 20
NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: nothing else is read back


# -- the probe cell ------------------------------------------------------------------------

PRELUDE = '''
def __regcourse_probe():
    import contextlib, json, os, signal
    import numpy as np

    ns = globals()
    os.makedirs("probe-out", exist_ok=True)
    call_seconds = float(np.load(os.path.join("probe-in", "__call_seconds.npy")))
    # per function: the time limit of its test cells, and the functions whose test cells all
    # ran out of time (the grader writes both before this cell)
    try:
        with open(os.path.join("probe-in", "__call_limits.json")) as f:
            given = json.load(f)
        limits = {str(k): float(v) for k, v in given["limits"].items()}
        ran_out = {str(name) for name in given["ran_out"]}
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        limits, ran_out = {}, set()
    example_seconds = max(limits.values(), default=call_seconds)

    def _too_long(signum, frame):
        raise TimeoutError("the function ran past its time limit")

    signal.signal(signal.SIGALRM, _too_long)

    def load(name):
        return np.load(os.path.join("probe-in", name + ".npy"), allow_pickle=False)

    def _write(name, kind, writer):
        # written beside, then moved into place whole: a probe stopped in the middle of a
        # write (at a time limit) leaves a .part the grader passes over, never a torn value
        path = os.path.join("probe-out", name + "." + kind)
        with open(path + ".part", "wb" if kind == "npy" else "w") as f:
            writer(f)
        os.replace(path + ".part", path)

    def normal(value):
        """A value as the notebook's tests read it (they call np.asarray on results): a
        tensor as an array, a list or tuple of arrays or tensors as one array when it
        forms one, the values of a dict likewise (lists of plain numbers stay lists)."""
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        if isinstance(value, dict):
            return {k: normal(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            items = [normal(v) for v in value]
            if any(isinstance(v, np.ndarray) for v in items):
                try:
                    return np.asarray(items)
                except ValueError:   # ragged: arrays of different shapes
                    pass
            return items
        return value

    def save(name, value):
        try:
            value = normal(value)
            if isinstance(value, (bool, int, float, str, list, dict, type(None))):
                text = json.dumps(plain(value))
                _write(name, "json", lambda f: f.write(text))
            else:
                array = np.asarray(value)
                _write(name, "npy", lambda f: np.save(f, array, allow_pickle=False))
        except BaseException as exc:
            # the value cannot be stored: the grader's limit, not the learner's exception
            _write(name, "json", lambda f: f.write(json.dumps({"__unstorable__": type(exc).__name__})))

    def save_error(name, exc):
        names = [c.__name__ for c in type(exc).__mro__]
        _write(name, "json", lambda f: f.write(json.dumps({"__error__": names})))

    hung = set(ran_out)  # functions that ran out of time once are not called again

    def run(name, function, *args, **kwargs):
        """Call the student's function within the time limit; on an exception save its
        type under ``name`` and return None."""
        if function in hung:
            save_error(name, TimeoutError("ran out of time before"))
            return None
        signal.setitimer(signal.ITIMER_REAL, limits.get(function, call_seconds))
        try:
            return ns[function](*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, TimeoutError):
                hung.add(function)
            save_error(name, exc)
            return None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def raised(name):
        """Whether ``run`` saved, as ``name``, what the function raised or that it ran out."""
        return os.path.exists(os.path.join("probe-out", name + ".json"))

    def call(name, function, *args, **kwargs):
        """Like ``run``, and save what the function returns as ``name``."""
        value = run(name, function, *args, **kwargs)
        if value is not None or not raised(name):
            save(name, value)
        return value

    def plain(value):
        """Containers of arrays and tensors as JSON-able lists (for the examples)."""
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, (np.ndarray, np.generic)):
            return value.tolist()
        return value

    @contextlib.contextmanager
    def upstream(grade_id):
        """The course's versions of the functions that the function of test cell
        ``grade_id`` builds on, in place of the learner's for the time of the block: each
        mistake is charged to its own cell only (see regcourse.grading.upstream)."""
        names, code = course_versions.get(grade_id, ((), ""))
        saved = {name: ns[name] for name in names if name in ns}
        if names:
            course = {"__name__": "course_reference"}
            exec(compile(code, "<the course's versions>", "exec"), course)
            ns.update({name: course[name] for name in names})
        try:
            yield
        finally:
            for name in names:
                ns.pop(name, None)
            ns.update(saved)

    def example(name, grade_id, expression):
        """Evaluate one public example call of test cell ``grade_id`` and save its value
        (or what it raised)."""
        if any(function in expression for function in hung):
            save_error(name, TimeoutError("ran out of time before"))
            return
        signal.setitimer(signal.ITIMER_REAL, example_seconds)
        try:
            with upstream(grade_id):
                value = eval(expression, ns)
        except BaseException as exc:
            save_error(name, exc)
            return
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        save(name, plain(value))

'''

# The probe's last act: write this grading's secret mark. Outputs without it were not
# written by a probe that ran to its end (student code runs before the probe cell and
# never sees its source).
EPILOGUE = '''
    save("probe_complete", {mark!r})


__regcourse_probe()
del __regcourse_probe
'''
REFERENCE_MARK = "reference"


def probe_source(body: str, mark: str = REFERENCE_MARK, course_versions: dict | None = None) -> str:
    """The probe cell: the prelude, the course's versions of upstream functions (see
    :func:`regcourse.grading.upstream.probe_table`), the assignment's body (indented), the
    epilogue."""
    body = f"course_versions = {course_versions or {}!r}\n" + textwrap.dedent(body).strip("\n")
    return (PRELUDE + textwrap.indent(body, "    ") + "\n"
            + EPILOGUE.format(mark=mark))


def probe_body(assignment: str) -> str:
    """The assignment's probe: its checks' calls, then its small public examples."""
    from .checks import spec

    module = spec(assignment)
    calls = [f"example({example_name(gid, k)!r}, {gid!r}, {expression!r})"
             for gid, expressions in getattr(module, "EXAMPLES", {}).items()
             for k, expression in enumerate(expressions)]
    return textwrap.dedent(module.BODY).strip("\n") + "\n" + "\n".join(calls) + "\n"


def example_name(grade_id: str, k: int) -> str:
    return f"example__{grade_id}__{k}"


def probe_cell(assignment: str, mark: str = REFERENCE_MARK, course_notebook: Path | None = None):
    """The probe of ``assignment`` as a notebook code cell, with its fixed id
    (``course_notebook``: the source notebook whose versions of upstream functions the
    probe's measurements use)."""
    import nbformat

    from .upstream import probe_table

    table = probe_table(course_notebook, assignment) if course_notebook else {}
    cell = nbformat.v4.new_code_cell(probe_source(probe_body(assignment), mark, table))
    cell["id"] = PROBE_CELL_ID
    return cell


class AppendProbe(NbGraderPreprocessor):
    """Append the probe cell after the submission's cells (before execution)."""

    mark = Unicode(REFERENCE_MARK, help="this grading's secret, written by the probe as its last act").tag(config=True)
    source_notebook = Unicode("", help="the course's source notebook of the assignment").tag(config=True)

    def preprocess(self, nb, resources):
        cell = probe_cell(resources["nbgrader"]["assignment"], self.mark,
                          Path(self.source_notebook) if self.source_notebook else None)
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
class Unstorable(Missing):
    """A value the probe could not write down (the grader's limit, not the learner's error)."""


@dataclass(frozen=True)
class Forged(Missing):
    """A file in the probe's output folder that the probe cannot have written."""


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
            return Missing("the grader's check wrote no output")
        for kind in ("npy", "json"):
            path = self.folder / f"{name}.{kind}"
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode):
                return Forged(f"{name}.{kind} is not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                return Missing(f"{name}: the value returned is larger than {MAX_FILE_BYTES >> 20} MiB")
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                if kind == "npy":
                    try:
                        array = np.load(f, allow_pickle=False)
                    except Exception as exc:  # noqa: BLE001 -- the probe only writes loadable arrays
                        return Forged(f"{name}.npy is not an array the probe wrote ({type(exc).__name__})")
                    if not isinstance(array, np.ndarray):
                        return Forged(f"{name}.npy holds several arrays")
                    return array
                try:
                    value = json.loads(f.read().decode("utf-8"))
                except Exception as exc:  # noqa: BLE001
                    return Forged(f"{name}.json is not plain JSON ({type(exc).__name__})")
                if isinstance(value, dict) and set(value) == {"__error__"} and isinstance(value["__error__"], list):
                    return Raised(tuple(str(n) for n in value["__error__"]))
                if isinstance(value, dict) and set(value) == {"__unstorable__"}:
                    return Unstorable(f"the grader could not store the value returned ({str(value['__unstorable__'])[:40]}): "
                                      "a limit of the grader, not a mistake of yours; your instructor will look at it")
                return value
        return Missing(f"{name}: no output")

    def forgeries(self) -> list[str]:
        """Files in the folder that the probe cannot have written (read none of them twice)."""
        if not _regular_dir(self.folder):
            return []
        found = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            # a write the probe had not finished when it was stopped is never read
            name = entry.name.removesuffix(".part")
            stem, dot, kind = name.rpartition(".")
            if not dot or kind not in ("npy", "json") or not stem.replace("_", "").isalnum():
                found.append(f"{entry.name} is not a file the probe writes")
            elif name == entry.name and isinstance(self[stem], Forged):
                found.append(str(self[stem]))
        return found


def probe_ran(folder: Path) -> bool:
    """Whether the probe wrote anything at all into ``folder``."""
    return _regular_dir(folder) and any(os.scandir(folder))


def probe_finished(folder: Path, mark: str) -> bool:
    """Whether the probe in ``folder`` ran to its end (its last output is ``mark``)."""
    return Outputs(folder)["probe_complete"] == mark


def _regular_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


# -- helpers for the assignments' rules -----------------------------------------------------

class Wrong(Exception):
    """A trusted check failed; the message says how."""


def array(outputs: Outputs, name: str, shape=None, what: str | None = None) -> np.ndarray:
    """The output ``name`` as a float array, or :class:`Wrong` saying, in the learner's
    words, why it is not one (``what`` describes the call, for example
    ``"ridge_fit(X, y, 1.0)"``)."""
    label = what or name
    value = outputs[name]
    if isinstance(value, Raised):
        raise Wrong(f"{label} raised {value.names[0]}")
    if isinstance(value, Missing):
        raise Wrong(f"{label}: {value}")
    if isinstance(value, bool) or not isinstance(value, (int, float, list, np.ndarray)):
        raise Wrong(f"{label} returned {type(value).__name__}, not a number or an array")
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        raise Wrong(f"{label} returned complex numbers (dtype {value.dtype}); the answer is real")
    if isinstance(value, np.ndarray) and value.dtype.kind not in NUMERIC_KINDS:
        raise Wrong(f"{label} returned an array of {value.dtype}, not numbers")
    try:
        result = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"{label} returned something that is not numeric") from None
    if shape is not None and result.shape != tuple(shape):
        raise Wrong(f"{label} returned shape {result.shape}, expected {tuple(shape)}")
    return result


def close(student: Outputs, reference: Outputs, name: str, rtol=1e-7, atol=1e-9,
          what: str | None = None) -> np.ndarray:
    """The student's output ``name``, if it agrees with the reference's; else :class:`Wrong`."""
    label = what or name
    expected = array(reference, name)
    got = array(student, name, expected.shape, what)
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        raise Wrong(f"{label} returned values that are not finite (nan or inf)")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        raise Wrong(f"on the grader's own inputs, {label} differs from the expected value by "
                    f"{np.max(np.abs(got - expected)):.2e}")
    return got


def raised(outputs: Outputs, name: str, error: str, what: str | None = None) -> None:
    label = what or name
    value = outputs[name]
    if isinstance(value, Raised):
        if not value.is_a(error):
            raise Wrong(f"{label} raised {value.names[0]}, expected {error}")
    elif isinstance(value, Missing):
        raise Wrong(f"{label}: {value}")
    else:
        raise Wrong(f"{label} returned a value instead of raising {error}")


# -- the reference run ----------------------------------------------------------------------

def write_inputs(inputs: dict[str, np.ndarray], folder: Path, call_seconds: float = 30.0) -> None:
    """The probe's inputs, and the time each call of a student function may take."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in {**inputs, "__call_seconds": np.array(float(call_seconds))}.items():
        np.save(folder / f"{name}.npy", np.asarray(value), allow_pickle=False)
    folder.chmod(0o755)
    for f in folder.iterdir():
        f.chmod(0o644)


# -- comparing ---------------------------------------------------------------------------------

@dataclass
class Checks:
    """What the trusted checks found in one submission's probe outputs."""

    failed: dict[str, str | None]   # grade_id -> None if its check passed, else why not (for the learner)
    forged: list[str]               # outputs the probe cannot have written: evidence of an attack
    ran: bool                       # the probe wrote anything at all
    finished: bool                  # the probe ran to its end in this grading


NOT_RUN_WHY = "the grader's independent check could not run in this notebook"


def verdicts(assignment: str, student: Outputs, reference: Outputs, inputs: dict,
             mark: str = REFERENCE_MARK) -> Checks:
    """Run every trusted check of ``assignment`` on the student's outputs."""
    from .checks import spec

    checks = spec(assignment).CHECKS
    if reference["probe_complete"] != REFERENCE_MARK:
        raise RuntimeError(f"the reference solutions of {assignment} failed their own probe")
    ran = probe_ran(student.folder)
    complete = student["probe_complete"]
    forged = student.forgeries()
    if ran and not isinstance(complete, Missing) and complete != mark:
        forged.append("the check's outputs do not carry this grading's secret mark: "
                      "they were not written by the grader's probe")
    if not ran:
        return Checks({gid: NOT_RUN_WHY for gid in checks}, forged, False, False)
    failed: dict[str, str | None] = {}
    for gid, check in checks.items():
        try:
            check(student, reference, inputs)
            failed[gid] = None
        except Wrong as exc:
            failed[gid] = str(exc)
        except Exception as exc:  # noqa: BLE001 -- odd values are wrong values
            failed[gid] = f"the grader could not read what your function returned ({type(exc).__name__}: {exc})"
    return Checks(failed, forged, True, complete == mark)


# -- the smallest failing example ----------------------------------------------------------------

def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _shown(value) -> str:
    if isinstance(value, Raised):
        return f"raised {value.names[0]}"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    value = _rounded(value)
    text = json.dumps(value) if isinstance(value, (list, dict)) else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def _agree(got, expected) -> bool:
    if isinstance(expected, Raised) or isinstance(got, Raised):
        return isinstance(got, Raised) and isinstance(expected, Raised) and got.names[0] == expected.names[0]
    if isinstance(expected, dict):
        return isinstance(got, dict) and set(got) == set(expected) and all(_agree(got[k], expected[k]) for k in expected)
    try:
        a, b = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))
    except (TypeError, ValueError):
        return got == expected


def failing_example(assignment: str, grade_id: str, student: Outputs, reference: Outputs) -> str:
    """The first of the cell's small public examples on which the student's function
    disagrees with the solution: 'call returned X, expected Y', or '' if none does."""
    from .checks import spec

    for k, expression in enumerate(getattr(spec(assignment), "EXAMPLES", {}).get(grade_id, [])):
        name = example_name(grade_id, k)
        got, expected = student[name], reference[name]
        if isinstance(expected, Missing) or isinstance(got, Forged):
            continue
        if isinstance(got, Missing):
            return f"{expression} did not finish"
        if not _agree(got, expected):
            said = _shown(got) if isinstance(got, Raised) else f"returned {_shown(got)}"
            wanted = (f"it should raise {expected.names[0]}" if isinstance(expected, Raised)
                      else f"expected {_shown(expected)}")
            return f"{expression} {said}; {wanted}"
    return ""
