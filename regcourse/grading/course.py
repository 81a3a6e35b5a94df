"""nbgrader course folders that the grader creates, fills and reads.

The grader never works in the repository or in an instructor's folder directly: it
builds a *template* course (configuration, source notebooks, and a gradebook that
knows every assignment's test cells) once, then grades each submission in a private
copy of it.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..authoring.notebooks import graded_cells, nbgrader_meta, notebook_in, read, written_answers

CONFIG_NAME = "nbgrader_config.py"
# nbgrader's working folders: never part of a template.
WORK_FOLDERS = ("submitted", "autograded", "feedback")


def load_config(config_file: Path) -> Config:
    """The traitlets configuration in ``config_file`` (an ``nbgrader_config.py``)."""
    config_file = Path(config_file)
    return PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()


@dataclass(frozen=True)
class Score:
    """Points of one graded test cell."""

    grade_id: str
    score: float
    max_score: float


class Course:
    """An nbgrader course folder: ``root`` holds ``nbgrader_config.py`` and the folders."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.config = load_config(self.root / CONFIG_NAME)
        self.config.CourseDirectory.root = str(self.root)
        coursedir = self.config.CourseDirectory
        self.source_directory = coursedir.get("source_directory", "source")
        self.release_directory = coursedir.get("release_directory", "release")
        self.db_url = coursedir.get("db_url", f"sqlite:///{self.root / 'gradebook.db'}")
        if "root" not in self.config.get("Exchange", {}):
            # no exchange is used here; a folder of the course keeps nbgrader from
            # complaining about the system-wide default it cannot write
            self.config.Exchange.root = str(self.root / "exchange")

    # -- creation ---------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, source: Path, config_file: Path, assignments: list[str]) -> "Course":
        """A new course folder at ``root`` whose gradebook knows ``assignments``.

        The notebooks are copied from ``source/<id>/`` and released with nbgrader's
        ``generate_assignment``, which records every graded cell in the gradebook.
        """
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(config_file, root / CONFIG_NAME)
        course = cls(root)
        for aid in assignments:
            shutil.copytree(Path(source) / aid, course.root / course.source_directory / aid,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
                            dirs_exist_ok=True)
        api = course.api()
        for aid in assignments:
            result = api.generate_assignment(aid, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader generate_assignment {aid} failed:\n"
                                   f"{result.get('error', '')}\n{result.get('log', '')}")
        return course

    def clone(self, root: Path) -> "Course":
        """A copy of this course at ``root`` without submissions, grades or feedback."""
        shutil.copytree(self.root, root, ignore=shutil.ignore_patterns(*WORK_FOLDERS))
        return Course(root)

    # -- nbgrader ---------------------------------------------------------------

    def api(self):
        """nbgrader's Python API on this folder (logs warnings only)."""
        from nbgrader.apps import NbGraderAPI

        api = NbGraderAPI(config=self.config)
        api.log.setLevel(logging.WARNING)
        return api

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url)

    def submission_path(self, student: str, assignment: str, notebook: str | None = None) -> Path:
        return notebook_in(self.root / "submitted" / student, assignment, notebook)

    def autograded_path(self, student: str, assignment: str, notebook: str | None = None) -> Path:
        return notebook_in(self.root / "autograded" / student, assignment, notebook)

    def submit(self, student: str, assignment: str, notebook_file: Path) -> Path:
        """Place ``notebook_file`` where nbgrader expects ``student``'s submission."""
        target = self.submission_path(student, assignment)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook_file, target)
        return target

    def autograde(self, assignment: str, student: str) -> dict:
        """``nbgrader autograde`` of one submission; nbgrader's result dictionary."""
        return self.api().autograde(assignment, student, force=True, create=True)

    def scores(self, assignment: str, student: str, notebook: str | None = None) -> list[Score]:
        """Each graded cell's points in the gradebook, in the notebook's order."""
        from nbgrader.api import MissingEntry

        order = {gid: i for i, gid in enumerate(self.grade_ids(assignment, notebook))}
        with self.gradebook() as gb:
            nb_def = gb.find_notebook(notebook or assignment, assignment)
            try:
                sub = gb.find_submission_notebook(notebook or assignment, assignment, student)
            except MissingEntry:
                return [Score(c.name, 0.0, float(c.max_score)) for c in nb_def.grade_cells]
            scores = [Score(g.name, float(g.score), float(g.max_score)) for g in sub.grades]
        return sorted(scores, key=lambda s: order.get(s.grade_id, len(order)))

    def grade_ids(self, assignment: str, notebook: str | None = None) -> list[str]:
        """The graded cells' ids in the order of the source notebook."""
        return [nbgrader_meta(c)["grade_id"] for c in graded_cells(read(self.source_path(assignment, notebook)))]

    def written_answers(self, assignment: str, notebook: str | None = None) -> list[str]:
        """The grade_ids of the written answers, which the instructor grades by hand."""
        return [nbgrader_meta(c)["grade_id"] for c in written_answers(read(self.source_path(assignment, notebook)))]

    def source_path(self, assignment: str, notebook: str | None = None) -> Path:
        return notebook_in(self.root / self.source_directory, assignment, notebook)

    def record(self, result) -> None:
        """Write ``result``'s final scores into this course's gradebook (replacing nbgrader's):
        its feedback page shows them."""
        with self.gradebook() as gb:
            write_grades(gb, result.assignment, result.student, result.items)

    def max_scores(self, assignment: str, notebook: str | None = None) -> dict[str, float]:
        with self.gradebook() as gb:
            nb_def = gb.find_notebook(notebook or assignment, assignment)
            return {c.name: float(c.max_score) for c in nb_def.grade_cells}


def write_grades(gb, assignment: str, student: str, items, notebook: str | None = None) -> None:
    """Store the final points of ``items`` in the gradebook ``gb``: the automatic ones as
    scores, the written answers as waiting for the instructor (nbgrader's manual grading)."""
    for item in items:
        grade = gb.find_grade(item.grade_id, notebook or assignment, assignment, student)
        if item.pending:
            grade.auto_score = None
            grade.needs_manual_grade = grade.manual_score is None
        else:
            grade.auto_score = item.score
            grade.needs_manual_grade = False
    gb.db.commit()


class _SchemaCheckedOnce:
    """What nbgrader's cell metadata validation uses of the ``jsonschema`` module, with
    ``validate`` checking each schema once instead of before every cell: nbgrader
    validates every cell in both of its passes, and checking its schema again each time
    took about 40 ms of every grading (measured on l1, 2026-12), in the course's grader and
    in the instructor's nbgrader alike."""

    def __init__(self, module):
        self._module = module
        self._validators: dict[int, tuple] = {}

    def __getattr__(self, name):
        return getattr(self._module, name)

    def validate(self, instance, schema) -> None:
        """As ``jsonschema.validate``: the same validator, the same error."""
        known = self._validators.get(id(schema))
        if known is None or known[0] is not schema:
            cls = self._module.validators.validator_for(schema)
            cls.check_schema(schema)
            known = self._validators[id(schema)] = (schema, cls(schema))
        error = self._module.exceptions.best_match(known[1].iter_errors(instance))
        if error is not None:
            raise error


def check_metadata_schema_once() -> None:
    """Make nbgrader's metadata validation in this process (and the children it forks)
    check its schema once (see :class:`_SchemaCheckedOnce`)."""
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _SchemaCheckedOnce):
        common.jsonschema = _SchemaCheckedOnce(common.jsonschema)
