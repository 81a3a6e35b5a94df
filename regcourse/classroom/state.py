"""What a classroom keeps about itself, so that ``down`` undoes exactly what ``up`` did.

Everything only the hub may read (this state, the hub's configuration with the
gradebook's address and password, its database and cookie secret, the password hashes,
its log) lives in ``<folder>/state``, root's and 0700, its files 0600.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class State:
    """What one classroom created: enough for ``down`` to undo all of it."""

    folder: str
    tag: str
    url: str = ""
    instructor: str = ""
    students: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)       # created, in order
    passwords: dict[str, str] = field(default_factory=dict, repr=False)   # printed once, never saved
    hub_pid: int = 0
    ports: list[int] = field(default_factory=list)
    host_record: str = ""
    db_url: str = ""
    sudo_rule: str = ""
    postgres: str = ""        # the data folder of the classroom's own PostgreSQL server

    @property
    def private(self) -> Path:
        """The folder of what only root reads (see the module)."""
        return Path(self.folder) / "state"

    @property
    def path(self) -> Path:
        return self.private / "classroom.json"

    def save(self) -> None:
        saved = {k: v for k, v in asdict(self).items() if k != "passwords"}
        write_private(self.path, json.dumps(saved, indent=1) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "State | None":
        path = Path(folder) / "state" / "classroom.json"
        return cls(**json.loads(path.read_text())) if path.exists() else None


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path`` (0600), replaced whole, never through a link."""
    draft = path.with_name(f".{path.name}.new")
    if os.path.lexists(draft):
        os.unlink(draft)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(draft, path)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
