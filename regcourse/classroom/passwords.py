"""A password of its own for each user of a classroom's hub.

JupyterHub's shared-password authenticator gives every user one password, so any student
could sign in as the instructor. ``regcourse classroom up`` draws a password per user,
prints each once, and keeps only salted scrypt hashes, in a file of the classroom's
private state folder that only root (the hub) reads. The hub checks them with
:class:`ClassroomAuthenticator`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Unicode

SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}   # about 50 ms a check


def _digest(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, **SCRYPT).hex()


def write(path: Path, passwords: dict[str, str]) -> None:
    """Hashes of ``passwords`` (user -> password) into ``path``, readable by its owner only."""
    from .state import write_private

    entries = {}
    for user, password in passwords.items():
        salt = secrets.token_bytes(16)
        entries[user] = {"salt": salt.hex(), "scrypt": _digest(password, salt)}
    write_private(Path(path), json.dumps(entries, indent=1))


def check(path: Path, user: str, password: str) -> bool:
    entry = json.loads(Path(path).read_text()).get(user)
    if entry is None:
        _digest(password, b"\0" * 16)   # as slow for an unknown user as for a known one
        return False
    return hmac.compare_digest(_digest(password, bytes.fromhex(entry["salt"])), entry["scrypt"])


class ClassroomAuthenticator(Authenticator):
    """Signs in a user whose password matches the hash in ``password_file``."""

    password_file = Unicode(help="the classroom's file of salted password hashes").tag(config=True)

    async def authenticate(self, handler, data):
        user, password = data.get("username", ""), data.get("password", "")
        if user and password and check(Path(self.password_file), user, password):
            return user
        return None
