"""Static evidence of an attack on the grader, read from a submission's code (never run).

Some things only an attack does: rebinding ``np`` for the tests, replacing parts of
numpy or ``sys.modules``, hooking the execution of later cells, looking for the hidden
tests, the gradebook or the grader's files. Each one found is a sentence of evidence of
tampering, which the grader reports as such; an honest notebook does none of them (the
honest catalogue of the test suite holds the grader to that).
"""

from __future__ import annotations

import ast

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
    "ptrace": "traces another process (ptrace)",
    "process_vm_readv": "reads another process's memory",
    "getppid": "reaches for the process that started the kernel (the grader's)",
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
    "pre_run_cell": "hooks into the execution of later cells",
    "post_run_cell": "hooks into the execution of later cells",
    "pre_execute": "hooks into the execution of later cells",
    "post_execute": "hooks into the execution of later cells",
    "kernel_factory": "looks for the grader's kernel factory",
}
# The end of a path such as /proc/<pid>/mem: another process's memory
MEMORY_FILE = "/mem"


def evidence(sources: list[str]) -> list[str]:
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
                if node.value.endswith(MEMORY_FILE):
                    note("reads another process's memory")
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
