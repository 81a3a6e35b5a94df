"""Where the course lives: one setting, ``repository`` in ``_config.yml``, and the places
that repeat it kept in step with it.

The launch buttons of the site read the setting themselves. The lessons' install cells
(which run on Colab, where no configuration file exists), the README and the site's
home page hold the address as text: ``python -m regcourse.authoring.repository`` rewrites them
from the setting, and ``make book`` and ``make test`` run it first, so a fork changes one
line. ``--check`` only reports what is out of step (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import REPO

# the files that hold the address as text (lesson notebooks are found from _toc.yml)
TEXT_FILES = ["README.md", "CONTRIBUTING.md", "book/index.md", "CITATION.cff"]
INSTALL = re.compile(r'"regcourse(\[[a-z,]+\])? @ git\+(https://github\.com/[\w.-]+/[\w.-]+?)(@[\w./-]+)?"')


@dataclass(frozen=True)
class Repository:
    url: str       # https://github.com/owner/name
    branch: str

    @property
    def owner_name(self) -> tuple[str, str]:
        owner, name = self.url.rstrip("/").split("/")[-2:]
        return owner, name

    @property
    def site(self) -> str:
        """Where GitHub Pages publishes the site built by the workflow."""
        owner, name = self.owner_name
        return f"https://{owner.lower()}.github.io/{name}/"

    def install(self, extras: str = "") -> str:
        """The requirement a lesson's first cell installs: the package at the branch."""
        return f'"regcourse{extras} @ git+{self.url}@{self.branch}"'


def configured(root: Path = REPO) -> Repository:
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())["repository"]
    url = str(config["url"]).rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"_config.yml: repository.url should be https://github.com/<owner>/<name>, not {url!r}")
    return Repository(url, str(config.get("branch", "main")))


def lesson_notebooks(root: Path = REPO) -> list[Path]:
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: list[Path] = []

    def walk(entries):
        for entry in entries:
            path = root / f"{entry.get('file', '')}.ipynb"
            if "file" in entry and path.exists():
                found.append(path)
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return found


def written(root: Path = REPO) -> Repository | None:
    """The address the files hold now: the one in the first lesson's install cell."""
    for path in lesson_notebooks(root):
        match = INSTALL.search(path.read_text().replace('\\"', '"'))
        if match:
            return Repository(match.group(2), (match.group(3) or "@main")[1:])
    return None


def in_step(text: str, repo: Repository, old: Repository | None) -> str:
    """``text`` with every install requirement, and every mention of the old repository
    and of its site, replaced by the configured ones (other addresses are left alone)."""
    text = INSTALL.sub(lambda m: repo.install(m.group(1) or ""), text)
    if old is not None and old != repo:
        text = re.sub(re.escape(old.url) + r"(?![\w.-])", repo.url, text)
        text = text.replace(old.site, repo.site)
    return text


def _notebook_in_step(text: str, repo: Repository, old: Repository | None) -> str:
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    for cell in nb.cells:
        cell.source = in_step(cell.source, repo, old)
    return nbformat.writes(nb) + "\n"


def out_of_step(root: Path = REPO, write: bool = False) -> list[Path]:
    """The files that repeat the address differently from ``_config.yml`` (rewritten
    when ``write``)."""
    repo, old = configured(root), written(root)
    changed = []
    for path in [root / f for f in TEXT_FILES if (root / f).exists()] + lesson_notebooks(root):
        text = path.read_text()
        if path.suffix == ".ipynb":
            new = _notebook_in_step(text, repo, old)
            if json.loads(new) == json.loads(text):
                continue
        else:
            new = in_step(text, repo, old)
        if new != text:
            changed.append(path)
            if write:
                path.write_text(new)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report, do not rewrite")
    args = parser.parse_args(argv)
    changed = out_of_step(write=not args.check)
    for path in changed:
        verb = "differs from" if args.check else "rewritten from"
        print(f"{path.relative_to(REPO)}: {verb} _config.yml's repository")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
