"""Regenerate the student notebooks ``exercises/<id>/`` from ``solutions/<id>/`` with nbgrader.

``python -m regcourse.authoring.release SOLUTIONS EXERCISES [ID ...]`` (``make exercises``) runs
``nbgrader generate_assignment`` in a throw-away course folder, so no gradebook or
working folder ever appears in the repository, then replaces each ``EXERCISES/<id>``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from .notebooks import REPO, assignment_ids, notebook_in


def generate(solutions: Path, exercises: Path, ids: list[str] | None = None,
             config: Path = REPO / "nbgrader_config.py") -> list[str]:
    """Generate the release of each assignment in ``ids`` (default: all) into ``exercises``."""
    from ..grading.course import Course

    solutions, exercises = Path(solutions).resolve(), Path(exercises).resolve()
    ids = ids or assignment_ids(solutions)
    unknown = [i for i in ids if not notebook_in(solutions, i).exists()]
    if unknown:
        raise ValueError(f"no solution notebook for {unknown} under {solutions}")
    with tempfile.TemporaryDirectory(prefix="regcourse-release-") as tmp:
        course = Course.create(Path(tmp) / "course", solutions, config, ids)
        for aid in ids:
            target = exercises / aid
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course.root / course.release_directory / aid, target)
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("solutions", type=Path, nargs="?", default=REPO / "solutions")
    parser.add_argument("exercises", type=Path, nargs="?", default=REPO / "exercises")
    parser.add_argument("ids", nargs="*", help="assignment ids (default: every one)")
    args = parser.parse_args(argv)
    done = generate(args.solutions, args.exercises, args.ids or None)
    print(f"released {', '.join(done)} into {args.exercises}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
