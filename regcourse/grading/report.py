"""The result of grading one submission, and how it is printed.

Each graded test cell ends with one of four verdicts, and the two kinds of trouble are
never confused:

- ``passed`` and ``failed``: the notebook's test (and the grader's independent check)
  agree;
- ``needs review``: the notebook's own test passed, but the grader's independent check,
  run on fresh inputs, found a wrong value. That is an honest disagreement (a mistake
  the notebook's test was too weak to see), scored 0 and explained to the learner, and
  listed for the instructor to look at;
- ``tampering``: evidence of an attack on the grader (see :mod:`.trusted`).

A written answer gets a fifth, ``pending``: it is graded by the instructor, so a
self-grading shows its points as pending and never as lost.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

PASSED, FAILED, REVIEW, TAMPERING, PENDING = "passed", "failed", "needs review", "tampering", "pending"
PENDING_MESSAGE = "a written answer: graded by your instructor"


@dataclass
class Item:
    """One graded test cell."""

    grade_id: str
    score: float
    max_score: float
    message: str = ""          # why points were lost, empty when none were
    verdict: str = ""          # PASSED, FAILED, REVIEW, TAMPERING or PENDING (from the score if empty)
    hint: str = ""             # the likely cause of the loss, from the catalogue of known mistakes
    example: str = ""          # a small input on which the function fails, with both results

    def __post_init__(self):
        if not self.verdict:
            self.verdict = PASSED if self.score == self.max_score else FAILED

    @property
    def passed(self) -> bool:
        return self.score == self.max_score

    @property
    def pending(self) -> bool:
        return self.verdict == PENDING


@dataclass
class Result:
    """Everything known about one graded submission."""

    assignment: str
    student: str
    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # what went wrong with the submission itself
    tampering: list[str] = field(default_factory=list)  # evidence that it attacked the grader
    reviews: list[str] = field(default_factory=list)    # honest disagreements for a person to read
    isolation: str = ""                                  # what the kernel could and could not reach
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)      # about the grading itself (a cold start, say)

    @property
    def score(self) -> float:
        return sum(i.score for i in self.items)

    @property
    def max_score(self) -> float:
        return sum(i.max_score for i in self.items)

    @property
    def pending_points(self) -> float:
        """Points of the written answers, which the instructor grades."""
        return sum(i.max_score for i in self.items if i.pending)

    @property
    def status(self) -> str:
        """One word for a class report: tampering outranks review, review outranks the rest."""
        if self.tampering:
            return TAMPERING
        if self.reviews:
            return REVIEW
        return "graded"

    def to_json(self) -> dict:
        """The ``--json`` form of ``regcourse grade``."""
        return {"assignment": self.assignment, "student": self.student,
                "score": self.score, "max_score": self.max_score, "pending": self.pending_points,
                "status": self.status,
                "items": [asdict(i) for i in self.items],
                "problems": list(self.problems), "needs_review": list(self.reviews),
                "tampering": list(self.tampering), "isolation": self.isolation,
                "seconds": round(self.seconds, 3), "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: dict) -> "Result":
        items = [Item(**{k: v for k, v in i.items() if k in Item.__dataclass_fields__}) for i in data["items"]]
        return cls(data["assignment"], data["student"], items,
                   list(data.get("problems", [])), list(data.get("tampering", [])),
                   list(data.get("needs_review", [])), data.get("isolation", ""), data.get("seconds", 0.0),
                   list(data.get("notes", [])))

    def table(self, hints: bool = False) -> str:
        """A plain-text table: one line per graded cell, then the total and any notes.
        With ``hints``, the likely cause of each lost point follows its line."""
        width = max([len(i.grade_id) for i in self.items] + [9])
        lines = [f"{'test cell':<{width}}  {'points':>9}  why points were lost",
                 f"{'-' * width}  {'-' * 9}  {'-' * 20}"]
        for i in self.items:
            points = "pending" if i.pending else f"{_fmt(i.score)} / {_fmt(i.max_score)}"
            lines.append(f"{i.grade_id:<{width}}  {points:>9}  {i.message}".rstrip())
            if i.example:
                lines.append(f"{'':<{width}}  {'':>9}  smallest failing example: {i.example}")
            if hints and i.hint:
                lines.append(f"{'':<{width}}  {'':>9}  likely cause: {i.hint}")
        total = f"{_fmt(self.score)} / {_fmt(self.max_score)}"
        lines.append(f"{'total':<{width}}  {total:>9}"
                     + (f"  ({_fmt(self.pending_points)} points of written answers are graded by your "
                        "instructor)" if self.pending_points else ""))
        for p in self.problems:
            lines.append(f"note: {p}")
        for r in self.reviews:
            lines.append(f"needs review: {r}")
        for t in self.tampering:
            lines.append(f"TAMPERING: {t}")
        for n in self.notes:
            lines.append(f"grader: {n}")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:g}"


def one_line(text: str, limit: int = 600) -> str:
    """``text`` on one line: every run of white space (new lines of a printed array
    included) becomes one space, so nothing the message says is lost; cut at ``limit``."""
    line = re.sub(r"\s+", " ", str(text)).strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."
