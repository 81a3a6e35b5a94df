"""Learners without a clone: the routes they take, as far as this machine can take them.

- **Colab.** A fresh virtual environment holds only what Colab preinstalls (numpy, torch,
  matplotlib, scikit-learn, ipykernel). Each lesson notebook is copied alone into an empty
  folder; its first cell installs the helper package, from a wheel built from the working
  tree standing in for the repository's address, and the whole notebook runs. Each
  released exercise, with its solutions filled in, runs its visible tests there with
  nothing else installed.
- **Other Pythons.** pip accepts the package with its base dependencies on Python 3.10,
  3.12 and 3.13 (resolution only: no CUDA torch is downloaded), every module compiles
  there, and the modules that need no torch import and run.
- **Lesson helpers alone.** Importing them imports neither nbgrader nor Sphinx.

The Colab-like environment uses Python 3.11, the only one with a torch on this machine's
disk (Colab's own Python is newer: the other-Pythons test covers it). The time each
lesson took lands in _build/learner-routes.json.

Nothing on the machine changes: the environments live in pytest's temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENTS, REPO, missing_tool
from regcourse.authoring.notebooks import nbgrader_meta, read, released_notebook, source_notebook
from regcourse.authoring.repository import INSTALL, configured, lesson_notebooks

pytestmark = pytest.mark.tier2   # fresh environments on four Pythons: `make test-all`

LESSONS = lesson_notebooks()
# what Colab preinstalls, of what the course needs, at the versions of requirements.txt
COLAB = ["numpy", "torch", "matplotlib", "scikit-learn", "ipykernel"]
BASE = {"numpy", "torch", "matplotlib", "scikit-learn"}
TIMES = REPO / "_build" / "learner-routes.json"


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def run(*command, **options) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **options)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def clean_env(**extra) -> dict[str, str]:
    """The environment of a learner's runtime: nothing of this repository on the path."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.update(MPLBACKEND="Agg", **extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The package as pip would build it from the repository (the working tree)."""
    out, tree = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("tree")
    # built from a copy: setuptools leaves build/ and *.egg-info beside the sources
    for name in ["pyproject.toml", "README.md", "LICENSE"]:
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(REPO / "regcourse", tree / "regcourse", ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", out, tree)
    (built,) = out.glob("regcourse-*.whl")
    return built


class Runtime:
    """A fresh virtual environment with Colab's packages and a Jupyter kernel in it."""

    def __init__(self, root: Path):
        self.root = root
        self.python = root / "venv" / "bin" / "python"
        self.kernels = root / "kernels"
        self.constraints = root / "constraints.txt"

    def create(self):
        run(sys.executable, "-m", "venv", self.root / "venv")
        versions = pins()
        # the same versions as the course's own environment: what the lessons are known to
        # need, and pip finds torch on this machine's disk
        self.constraints.write_text("".join(f"{n}=={v}\n" for n, v in versions.items()))
        run(self.python, "-m", "pip", "install", "--quiet", *[f"{n}=={versions[n]}" for n in COLAB],
            env=self.env())
        spec = self.kernels / "colab"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Colab-like", "language": "python"}))

    def env(self) -> dict[str, str]:
        constraints = [str(self.constraints)] + [c for c in os.environ.get("PIP_CONSTRAINT", "").split() if c]
        return clean_env(PIP_CONSTRAINT=" ".join(constraints), PIP_DISABLE_PIP_VERSION_CHECK="1")

    def packages(self) -> set[str]:
        listed = run(self.python, "-m", "pip", "list", "--format=json", env=self.env()).stdout
        return {p["name"].lower() for p in json.loads(listed)}

    def execute(self, nb, folder: Path, timeout: int = 900):
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient

        specs = KernelSpecManager(kernel_dirs=[str(self.kernels)])
        km = KernelManager(kernel_name="colab", kernel_spec_manager=specs)
        client = NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(folder)}})
        client.execute(env=self.env(), cwd=str(folder))
        return nb


@pytest.fixture(scope="module")
def colab(tmp_path_factory) -> Runtime:
    runtime = Runtime(tmp_path_factory.mktemp("colab"))
    runtime.create()
    return runtime


def _record(name: str, seconds: float) -> None:
    TIMES.parent.mkdir(exist_ok=True)
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    times[name] = round(seconds, 1)
    TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")


def test_the_runtime_holds_only_what_colab_preinstalls(colab):
    installed = colab.packages()
    assert set(COLAB) <= installed
    assert not installed & {"regcourse", "nbgrader", "jupyter-book", "sphinx", "myst-nb", "keras"}, installed


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=[p.relative_to(REPO / "book").as_posix() for p in LESSONS])
def test_lesson_runs_alone_in_a_colab_like_runtime(lesson, colab, wheel, tmp_path):
    run(colab.python, "-m", "pip", "uninstall", "--quiet", "--yes", "regcourse", env=colab.env())
    nb = nbformat.read(str(lesson), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    install = INSTALL.search(first.source)
    assert install, f"{lesson.name}: the first code cell does not install the package"
    extras = install.group(1) or ""
    first.source = first.source.replace(install.group(0), f'"regcourse{extras} @ {wheel.as_uri()}"')
    folder = tmp_path / "content"    # like Colab's /content: the notebook and nothing else
    folder.mkdir()
    nbformat.write(nb, str(folder / lesson.name))

    start = time.monotonic()
    colab.execute(nb, folder)
    _record(lesson.relative_to(REPO).as_posix(), time.monotonic() - start)

    shown = run(colab.python, "-m", "pip", "show", "regcourse", env=colab.env()).stdout
    assert str(colab.root) in shown, f"the first cell did not install the package into the runtime:\n{shown}"
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def filled_in(aid: str):
    """The released exercise with the solutions written in, as a learner who solved it
    has it: no hidden tests, no rubrics, nothing of the source notebook's but the code."""
    nb = read(released_notebook(aid))
    solutions = {nbgrader_meta(c).get("grade_id"): c.source for c in read(source_notebook(aid)).cells
                 if c.cell_type == "code" and nbgrader_meta(c).get("solution")}
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and grade_id in solutions:
            cell.source = "\n".join(line for line in solutions[grade_id].splitlines()
                                    if line.strip() not in {"### BEGIN SOLUTION", "### END SOLUTION"})
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_exercise_runs_its_visible_tests_with_nothing_installed(aid, colab, tmp_path):
    run(colab.python, "-m", "pip", "uninstall", "--quiet", "--yes", "regcourse", env=colab.env())
    nb = filled_in(aid)
    assert "### BEGIN HIDDEN TESTS" not in json.dumps(nb)
    start = time.monotonic()
    colab.execute(nb, tmp_path, timeout=300)
    _record(f"exercises/{aid}", time.monotonic() - start)
    tests = [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")]
    printed = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in tests]
    assert tests and all("passed" in text for text in printed), \
        f"{aid}: test cells that printed no 'passed': {[nbgrader_meta(c)['grade_id'] for c, t in zip(tests, printed) if 'passed' not in t]}"


# -- the package on other Pythons ----------------------------------------------------------

def interpreter(version: str) -> str:
    """Python ``version``: from $PYTHON3_12 (and so on, as the GitHub workflow sets), else
    from the PATH, else from pyenv's versions (as on this machine)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [os.environ.get("PYTHON" + version.replace(".", "_")), shutil.which(f"python{version}"),
                  *map(str, sorted(pyenv.glob(f"{version}.*/bin/python{version}")))]
    for found in filter(None, candidates):   # (a pyenv shim exists but may refuse to run)
        if subprocess.run([found, "--version"], capture_output=True).returncode == 0:
            return found
    missing_tool(f"Python {version} is not installed: the package is not checked on it")


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_pip_accepts_the_package_on_python(version, wheel, tmp_path):
    python = interpreter(version)
    env = clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1")
    # resolution with the base dependencies: pip reads their metadata, downloads no torch
    report = tmp_path / "report.json"
    run(python, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", "--report", report, wheel, env=env)
    resolved = {p["metadata"]["name"].lower() for p in json.loads(report.read_text())["install"]}
    assert {"regcourse"} | BASE <= resolved
    assert not resolved & {"nbgrader", "jupyter-book", "sphinx", "nbformat", "psutil"}, \
        "the learner's install pulls in grading or site tools"
    # every module of the package compiles under this Python
    run(python, "-c", "import pathlib, sys\nfor p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):\n"
        "    compile(p.read_text(), str(p), 'exec')", REPO / "regcourse")
    # installed without torch, the modules that need none import and work
    run(python, "-m", "venv", tmp_path / "venv")
    venv_python = tmp_path / "venv" / "bin" / "python"
    run(venv_python, "-m", "pip", "install", "--quiet", "--no-deps", wheel, env=env)
    run(venv_python, "-m", "pip", "install", "--quiet", "numpy", env=env)
    done = run(venv_python, "-c", "import sys, regcourse\nfrom regcourse.data import noisy_sine\n"
               "from regcourse.quote import quote_spread\nx, y = noisy_sine(20, seed=1)\n"
               "quote_spread('spread', y)\nprint(sys.version_info[:2], 'torch' in sys.modules)",
               env=env, cwd=tmp_path)
    assert f"({version.replace('.', ', ')}) False" in done.stdout, done.stdout


# -- what the package declares ----------------------------------------------------------------

def test_lesson_helpers_import_no_grading_or_site_tools():
    code = ("import sys\nimport regcourse.data, regcourse.training, regcourse.plotting, regcourse.quote\n"
            "print(sorted({m.split('.')[0] for m in sys.modules}))")
    done = run(sys.executable, "-c", code, env=clean_env(), cwd=REPO)
    loaded = set(json.loads(done.stdout.replace("'", '"')))
    assert not loaded & {"nbgrader", "sphinx", "docutils", "myst_nb", "nbformat", "jupyter_book", "psutil"}, loaded


def test_the_package_declares_what_learners_need_and_no_more():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10", "no upper bound without a reason"
    names = {re.split(r"[<>=!~ \[]", d)[0].lower() for d in project["dependencies"]}
    assert names == BASE
    assert all(re.fullmatch(r"[\w-]+>=[\d.]+", d) for d in project["dependencies"]), \
        f"base dependencies take lower bounds only: {project['dependencies']}"
    extras = project["optional-dependencies"]
    assert any(d.startswith("nbgrader") for d in extras["grading"]) and any(d.startswith("keras") for d in extras["keras"])
    # the development environment installs the package with every extra, pinned
    assert "-e .[keras,grading,book]" in (REPO / "requirements.txt").read_text().splitlines()


def test_binder_environment_is_for_learners_with_the_cpu_torch():
    lines = [line.split("#")[0].strip() for line in (REPO / "binder" / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    specs = {re.split(r"[=<>]", line)[0].lower(): line for line in lines if not line.startswith("-") and line != "."}
    assert specs["torch"].endswith("+cpu"), "Binder must take the CPU build of torch"
    assert set(specs) <= BASE | {"keras", "jupyterlab", "ipykernel"}, f"not for learners: {set(specs) - BASE}"
    assert "." in lines, "Binder installs the course's helper package from its own checkout"
    versions = pins()
    for name, line in specs.items():
        assert line.split("==")[1].split("+")[0] == versions[name], f"{name}: not the version the course is tested with"
    assert (REPO / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_repository_address_is_set_once():
    repo = configured()
    assert REPO.joinpath("_config.yml").read_text().count(repo.url) == 1
    for lesson in LESSONS:
        assert repo.install() in lesson.read_text().replace('\\"', '"') or \
            repo.install("[keras]") in lesson.read_text().replace('\\"', '"'), f"{lesson.name}: install cell out of step"
    readme = (REPO / "README.md").read_text()
    assert repo.url in readme and repo.site in readme
