"""The package's layout keeps its promises, read from the imports of every module (those
inside functions included):

- what learners install imports only numpy, torch, matplotlib, scikit-learn and the
  standard library, and nothing of the course's tools;
- the sandbox imports nothing of grading, the classroom or nbgrader (its launcher starts
  with every kernel);
- grading imports nothing of the classroom;
- nothing imports the test suite's modules.
"""

import ast
import sys
from pathlib import Path

import pytest

from regcourse import REPO

PACKAGE = REPO / "regcourse"
LEARNER = {"regcourse", "regcourse.data", "regcourse.training", "regcourse.plotting", "regcourse.quote"}
LEARNER_LIBRARIES = {"numpy", "torch", "matplotlib", "sklearn"}
TEST_MODULES = {path.stem for path in (REPO / "tests").glob("*.py")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def optional(tree: ast.AST) -> set[ast.AST]:
    """Import statements under ``try: ... except ImportError``: used where installed."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            guarded |= {n for statement in node.body for n in ast.walk(statement)}
    return guarded


def imports(path: Path, required_only: bool = False) -> set[str]:
    """Every module ``path`` imports, relative imports made absolute; ``from X import y``
    counts as X.y (y may be a module). ``required_only`` leaves out optional imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = optional(tree) if required_only else set()
    found = set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            found.add(source)
            found |= {f"{source}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}
REQUIRED = {module_name(path): imports(path, required_only=True) for path in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_layout_is_read_from_every_module():
    """A check that reads no module proves nothing: the parts named below all exist."""
    for part in ["regcourse.authoring", "regcourse.site", "regcourse.grading", "regcourse.grading.checks",
                 "regcourse.sandbox", "regcourse.classroom", *LEARNER]:
        assert part in MODULES, part
    assert "regcourse.sandbox.slots" in MODULES["regcourse.grading.grader"]   # imports are resolved
    assert "myst_nb" in MODULES["regcourse.quote"] and "myst_nb" not in REQUIRED["regcourse.quote"]


@pytest.mark.parametrize("module", sorted(LEARNER))
def test_what_learners_install_imports_only_its_four_libraries(module):
    """Optional imports (myst-nb's glue where the site is built) are allowed."""
    for imported in REQUIRED[module]:
        top = imported.split(".")[0]
        if top == "regcourse":
            assert imported in LEARNER or imported.rpartition(".")[0] in LEARNER, \
                f"{module} imports {imported}, which a learner's install does not need"
        else:
            assert top in LEARNER_LIBRARIES or top in sys.stdlib_module_names or top == "__future__", \
                f"{module} imports {imported}: learners install only {sorted(LEARNER_LIBRARIES)}"


def test_the_sandbox_imports_nothing_of_grading_the_classroom_or_nbgrader():
    for module, imported in MODULES.items():
        if within(module, "regcourse.sandbox"):
            wrong = {i for i in imported if within(i, "regcourse.grading", "regcourse.classroom", "nbgrader",
                                                   "regcourse.authoring", "regcourse.cli")}
            assert not wrong, f"{module} imports {sorted(wrong)}"


def test_grading_imports_nothing_of_the_classroom():
    for module, imported in MODULES.items():
        if within(module, "regcourse.grading", "regcourse.sandbox", "regcourse.authoring", "regcourse.site"):
            wrong = {i for i in imported if within(i, "regcourse.classroom")}
            assert not wrong, f"{module} imports {sorted(wrong)}"


def test_nothing_imports_the_test_suite():
    for module, imported in MODULES.items():
        wrong = {i for i in imported if i.split(".")[0] in TEST_MODULES | {"tests"}}
        assert not wrong, f"{module} imports {sorted(wrong)} of tests/"
