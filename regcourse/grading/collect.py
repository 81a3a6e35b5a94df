"""nbgrader's collect, without half-copied submissions.

``nbgrader submit`` copies a student's folder straight into the exchange's inbound folder
under its final name, then writes ``timestamp.txt`` and ``submission_secret.txt``, sets
the permissions and, last of all, opens the folder to the instructor (mode 0777). A collect
that runs meanwhile (an instructor collecting while late submissions arrive) would copy a
notebook half-written. This collect takes only submissions that have been finished, and
for a student whose newest submission is still being copied, takes their newest finished
one: the new one waits, whole, for the next collect.

Set for the course in ``nbgrader_config.py`` (``ExchangeFactory.collect``).
"""

from __future__ import annotations

import glob
import os
import stat

from nbgrader.exchange.default.collect import ExchangeCollect


def finished(folder: str) -> bool:
    """Whether ``nbgrader submit`` has done its last step on this inbound folder."""
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return False
    return (stat.S_ISDIR(mode) and stat.S_IMODE(mode) == 0o777
            and all(os.path.isfile(os.path.join(folder, name))
                    for name in ("timestamp.txt", "submission_secret.txt")))


class FinishedSubmissionsCollect(ExchangeCollect):
    def init_src(self):
        super().init_src()
        chosen = []
        for record in self.src_records:
            if not finished(os.path.join(self.inbound_path, record["filename"])):
                record = self._newest_finished(record["username"])
                if record is None:
                    self.log.info("A submission is still being copied in: the next collect takes it")
                    continue
            chosen.append(record)
        self.src_records = chosen

    def _newest_finished(self, username: str) -> dict | None:
        pattern = os.path.join(glob.escape(self.inbound_path),
                               f"{glob.escape(username)}+{glob.escape(self.coursedir.assignment_id)}+*")
        records = [self._path_to_record(path) for path in glob.glob(pattern) if finished(path)]
        if self.duedate is not None and self.before_duedate:   # as nbgrader chooses
            in_time = [r for r in records if r["timestamp"] <= self.duedate]
            records = in_time or records
        return max(records, key=lambda r: r["timestamp"], default=None)
