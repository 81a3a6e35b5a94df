"""A local classroom: JupyterHub with nbgrader's formgrader for an instructor and their
students (``regcourse classroom up``/``down``), graded by the course's grader.

- :mod:`.hub` -- bringing the classroom up and down, and the hub process;
- :mod:`.state` -- what it created, kept so that ``down`` undoes exactly that;
- :mod:`.users` -- the instructor's and students' Unix users, settings and course folder;
- :mod:`.postgres` -- a PostgreSQL server of its own for the gradebook (``--db postgresql``);
- :mod:`.sudo` -- the one sudo rule that lets the instructor's autograde grade as root;
- :mod:`.passwords` -- the hub's authenticator, which keeps salted password hashes only.
"""
