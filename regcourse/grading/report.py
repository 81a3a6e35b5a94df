"""The result of grading one submission, and how it is printed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Item:
    """One graded test cell."""

    grade_id: str
    score: float
    max_score: float
    message: str = ""          # why points were lost (first line), empty when none were

    @property
    def passed(self) -> bool:
        return self.score == self.max_score


@dataclass
class Result:
    """Everything known about one graded submission."""

    assignment: str
    student: str
    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # what went wrong with the submission itself
    tampering: list[str] = field(default_factory=list)  # evidence that it tried to cheat the grader
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(i.score for i in self.items)

    @property
    def max_score(self) -> float:
        return sum(i.max_score for i in self.items)

    def to_json(self) -> dict:
        """The ``--json`` form of ``regcourse grade`` (plus problems and tampering)."""
        return {"assignment": self.assignment, "student": self.student,
                "score": self.score, "max_score": self.max_score,
                "items": [asdict(i) for i in self.items],
                "problems": list(self.problems), "tampering": list(self.tampering),
                "seconds": round(self.seconds, 3)}

    @classmethod
    def from_json(cls, data: dict) -> "Result":
        return cls(data["assignment"], data["student"], [Item(**i) for i in data["items"]],
                   list(data.get("problems", [])), list(data.get("tampering", [])), data.get("seconds", 0.0))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def table(self) -> str:
        """A plain-text table: one line per test cell, then the total and any problems."""
        width = max([len(i.grade_id) for i in self.items] + [9])
        lines = [f"{'test cell':<{width}}  {'points':>9}  why points were lost",
                 f"{'-' * width}  {'-' * 9}  {'-' * 20}"]
        for i in self.items:
            points = f"{_fmt(i.score)} / {_fmt(i.max_score)}"
            lines.append(f"{i.grade_id:<{width}}  {points:>9}  {i.message}".rstrip())
        lines.append(f"{'total':<{width}}  {_fmt(self.score) + ' / ' + _fmt(self.max_score):>9}")
        for p in self.problems:
            lines.append(f"note: {p}")
        for t in self.tampering:
            lines.append(f"TAMPERING: {t}")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:g}"


def first_line(text: str, limit: int = 200) -> str:
    line = next((line for line in str(text).splitlines() if line.strip()), "").strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."
