"""The files a contributor looks for, and what cannot run here checked as far as it can be:
the GitHub workflows (linted by zizmor and read for what they must do), the citation file
(validated by cffconvert), the issue templates, the changelog and the contributing guide;
a fork that changes the repository's address in one line gets every copy of it changed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, missing_tool
from regcourse.authoring.repository import TEXT_FILES, configured, lesson_notebooks, out_of_step

WORKFLOWS = REPO / ".github" / "workflows"
BIN = REPO / ".venv" / "bin"


def test_workflows_pass_the_linter():
    zizmor = BIN / "zizmor"
    if not zizmor.exists():
        missing_tool("zizmor is not installed in .venv (make setup installs it)")
    done = subprocess.run([zizmor, "--offline", "--no-progress", WORKFLOWS], capture_output=True, text=True)
    assert done.returncode == 0, f"zizmor found problems in the workflows:\n{done.stdout}\n{done.stderr}"


def _workflow(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as true
    return workflow


def test_the_site_workflow_builds_with_warnings_as_errors_and_publishes_main():
    workflow = _workflow("pages.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = [step.get("run", "") for step in build["steps"]]
    assert "make book" in runs
    assert "-W" in re.search(r"^book:.*?\n\n", (REPO / "Makefile").read_text(), re.S | re.M).group(0)
    uses = [step.get("uses", "") for job in (build, deploy) for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert build["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


def test_the_test_workflow_runs_ci_on_pull_requests():
    workflow = _workflow("tests.yml")
    assert "pull_request" in workflow["on"]
    steps = workflow["jobs"]["test"]["steps"]
    assert ".ci/run" in [step.get("run", "") for step in steps]
    assert "uv python install 3.10 3.12 3.13" in "".join(step.get("run", "") for step in steps)


def test_citation_file_is_valid_and_points_at_the_repository():
    cffconvert = REPO / ".venv" / "cff" / "bin" / "cffconvert"
    if not cffconvert.exists():
        missing_tool("cffconvert is not installed in .venv/cff (make setup installs it)")
    done = subprocess.run([cffconvert, "--validate", "-i", REPO / "CITATION.cff"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    repo = configured()
    assert citation["repository-code"] == repo.url and citation["url"] == repo.site


def test_issue_templates_have_what_github_needs():
    templates = sorted((REPO / ".github" / "ISSUE_TEMPLATE").glob("*.md"))
    assert [t.stem for t in templates] == ["error-in-the-text", "grading-problem"]
    for template in templates:
        front = yaml.safe_load(template.read_text().split("---")[1])
        assert front["name"] and front["about"], template.name


def test_changelog_and_contributing_guide():
    assert (REPO / "CHANGELOG.md").read_text().startswith("# Changelog")
    guide = (REPO / "CONTRIBUTING.md").read_text()
    for needed in ["make exercises", "_toc.yml", "tests/test_fairness_<id>.py", "tests/test_grading_honest.py",
                   "tests/test_grading_hostile.py", "tests/test_prose_quotes.py", "tests/test_exercises_released.py"]:
        assert needed in guide, f"CONTRIBUTING.md does not say {needed!r}"
    # every test file the guide names exists (with <id> standing for each exercise)
    for named in re.findall(r"tests/test_[\w<>]+\.py", guide):
        pattern = named.replace("<id>", "*")
        assert list(REPO.glob(pattern)), f"CONTRIBUTING.md names {named}, which does not exist"


def test_the_contracts_list_every_graded_function_of_every_exercise():
    """CONTRIBUTING.md is the contracts' only home: each function a learner writes in
    ``solutions/`` has its row, under its exercise, with the notebook's signature."""
    from regcourse.authoring.notebooks import assignment_ids, read, source_notebook

    guide = (REPO / "CONTRIBUTING.md").read_text()
    rows = set(re.findall(r"^\| `(\w+)` \| `(\w+\(.*?\))` \|", guide, re.M))
    for aid in assignment_ids(REPO / "solutions"):
        for cell in read(source_notebook(aid)).cells:
            if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
                for signature in re.findall(r"^def ([a-z]\w*\(.*?\)):", cell.source, re.M):
                    assert (aid, signature) in rows, f"CONTRIBUTING.md has no contract row for {aid}: {signature}"


def test_a_fork_changes_one_line(tmp_path):
    """Copy what holds the address, change _config.yml's repository, rewrite: every copy
    of the address follows, and other addresses are left alone."""
    for name in ["_config.yml", "_toc.yml", *TEXT_FILES]:
        if (REPO / name).exists():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / name, tmp_path / name)
    for lesson in lesson_notebooks():
        target = tmp_path / lesson.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(lesson, target)
    assert out_of_step(tmp_path) == []

    old = configured(tmp_path)
    config = (tmp_path / "_config.yml").read_text()
    (tmp_path / "_config.yml").write_text(config.replace(f"url: {old.url}", "url: https://github.com/Some-One/reg-fork")
                                          .replace("branch: main", "branch: spring"))
    changed = out_of_step(tmp_path, write=True)
    assert len(changed) == len(lesson_notebooks(tmp_path)) + len([f for f in TEXT_FILES if (tmp_path / f).exists()
                                                                  and old.url in (REPO / f).read_text()])
    assert out_of_step(tmp_path) == []
    for lesson in lesson_notebooks(tmp_path):
        text = lesson.read_text()
        assert "git+https://github.com/Some-One/reg-fork@spring" in text and old.url not in text
    readme = (tmp_path / "README.md").read_text()
    assert "https://some-one.github.io/reg-fork/" in readme and old.url not in readme
    assert "https://creativecommons.org" in (tmp_path / "_config.yml").read_text()  # others untouched


@pytest.mark.parametrize("name", [".github/**", "binder/**", "deploy/**", ".classroom/**", "CONTRIBUTING.md",
                                  "CHANGELOG.md"])
def test_the_site_build_skips_project_files(name):
    assert name in yaml.safe_load((REPO / "_config.yml").read_text())["exclude_patterns"]


def test_every_file_of_the_package_is_in_git():
    """A file that .gitignore hides works here and is missing from every clone."""
    tracked = set(subprocess.run(["git", "ls-files", "regcourse"], cwd=REPO, capture_output=True, text=True,
                                 check=True).stdout.splitlines())
    on_disk = {p.relative_to(REPO).as_posix() for p in (REPO / "regcourse").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert on_disk <= tracked, f"not in git (see .gitignore): {sorted(on_disk - tracked)}"


def test_without_apt_get_make_says_in_one_line_what_to_install(tmp_path):
    """`make test` installs the Debian packages its tests drive where it can (root and
    apt-get); elsewhere it names them in one line and goes on, and only the tests that
    need them skip. Here a PATH without Chromium, sudo, npm or apt-get stands in for such a
    machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ["make", "sh", "bash", "id", "ls"]:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    done = subprocess.run(["make", "-s", "system-packages"], cwd=REPO, capture_output=True, text=True,
                          env={"PATH": str(bin_dir), "HOME": str(tmp_path)}, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("make: missing chromium sudo") and "npm" in lines[0], lines
    assert "apt-get install chromium sudo" in lines[0] and "skipped" in lines[0], lines


def test_ci_runs_the_readme_s_command_for_every_test():
    ci = (REPO / ".ci" / "run").read_text()
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "make test-all" and "export CI=true" in commands
    assert not any("apt-get" in c for c in commands), "installs belong to make, which every user runs"
    readme = (REPO / "README.md").read_text()
    assert "make test-all" in readme.split("## Layout")[0], "the README's first screen names the second tier"
