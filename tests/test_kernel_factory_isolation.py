"""No submission can change what a later submission's kernel sees, when every kernel is
forked from one warm factory: the hostile catalogue (attacks on the factory included) is
graded in sequence by one grader, between two runs of a witness that records what a
kernel sees. Every kernel is a fresh copy of the factory, which never runs submitted code.
"""

from __future__ import annotations

import copy
import json
import os
import re

import nbformat
import pytest

import submissions as sub
from regcourse.grading.grader import Grader
from regcourse.grading.sandbox import Limits, is_root
from regcourse.notebooks import REPO
from test_grading_hostile import AID, FACTORY_ATTACKS, HOSTILE, attack

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


def _witness(grader, tmp_path, name: str) -> dict:
    nb = sub.with_extra_cell(sub.solution(AID), WITNESS)
    run = grader.grade(sub.write(nb, tmp_path / f"{name}.ipynb"), AID, name)
    assert run.result.score == 3 and not run.result.notes, run.result.table()
    printed = "".join(o.get("text", "") for c in nbformat.read(run.autograded, as_version=4).cells
                      for o in c.get("outputs", []))
    found = re.search(r"^WITNESS (.*)$", printed, re.M)
    assert found, f"the witness printed: {printed[-3000:]}"
    return json.loads(found.group(1))


def _printed(run) -> str:
    if not run.autograded.exists():
        return ""
    return "".join(o.get("text", "") for c in nbformat.read(run.autograded, as_version=4).cells
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """The witness, every hostile submission and poisoner one after another, the witness again."""
    tmp_path = tmp_path_factory.mktemp("factory-isolation")
    grader = Grader(REPO / "solutions", REPO / "nbgrader_config.py", assignments=[AID],
                    limits=Limits(cell_seconds=10, submission_seconds=90), workdir=tmp_path / "grader", cold=False)
    try:
        grader.start_factory()
        factory = grader._factory
        assert factory.wait_ready()
        before = _witness(grader, tmp_path, "witness-before")
        files_before = sorted(os.listdir(factory.folder))
        runs = {}
        for name, nb in {**{k: v[0] for k, v in HOSTILE.items()}, **POISONERS}.items():
            runs[name] = grader.grade(sub.write(copy.deepcopy(nb), tmp_path / f"{name}.ipynb"), AID, name)
        after = _witness(grader, tmp_path, "witness-after")
        state = {"pid": factory.process.pid, "same": grader._factory is factory, "alive": factory.alive(),
                 "files": (files_before, sorted(os.listdir(factory.folder)))}
        yield before, after, runs, state
    finally:
        grader.close()


def test_later_kernels_see_what_earlier_kernels_saw(sequence):
    before, after, runs, _ = sequence
    for key in before:
        assert before[key] == after[key], f"{key} changed between the first and the last kernel"


def test_one_factory_forked_every_kernel_and_outlived_every_attack(sequence):
    _, _, runs, state = sequence
    assert state["same"] and state["alive"], "the factory died or was replaced during the sequence"
    assert state["files"][0] == state["files"][1], "files in the factory's folder changed"
    cold = {name: run.result.notes for name, run in runs.items() if run.result.notes}
    assert not cold, f"kernels started cold: {cold}"


@pytest.mark.skipif(not is_root(), reason="only as root do kernels run as users that cannot reach the factory")
def test_no_attack_on_the_factory_got_through(sequence):
    _, _, runs, _ = sequence
    reached = {name: line for name, run in runs.items() for line in _printed(run).splitlines()
               if line.startswith("REACHED")}
    assert not reached, f"attacks reached the factory or its files: {reached}"


@pytest.mark.skipif(not is_root(), reason="without root a kernel's files cannot be told from the grader's")
def test_files_left_in_shared_folders_are_removed_and_reported(sequence):
    _, _, runs, _ = sequence
    assert "LEFT /tmp" in _printed(runs["poison-files"])
    problems = " | ".join(runs["poison-files"].result.problems)
    assert "left in shared folders were removed" in problems and "/tmp/poison.pth" in problems, problems


@pytest.mark.parametrize("name", FACTORY_ATTACKS)
def test_attacks_on_the_factory_are_graded_as_in_a_class(name, sequence):
    _, _, runs, _ = sequence
    _, expected, tampering = FACTORY_ATTACKS[name]
    result = runs[name].result
    assert result.score == expected and bool(result.tampering) == tampering, result.table()
