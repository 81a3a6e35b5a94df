"""The course authors' tools: reading and writing notebooks (:mod:`.notebooks`),
generating ``exercises/`` from ``solutions/`` (:mod:`.release`, ``make exercises``) and
keeping the repository's address in step across its files (:mod:`.repository`).

They need nbformat, which the ``[grading]`` extra installs; learners never import them.
"""
