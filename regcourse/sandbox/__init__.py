"""Where a submission's code runs: as an unprivileged user that owns nothing else, in an
empty folder, with limits and without network.

- :mod:`.host` -- the machine's side: the sandbox users and folder permissions that
  ``regcourse sandbox setup`` creates and ``remove`` undoes.
- :mod:`.slots` -- the limits, the pool of sandbox users (one slot per kernel, under a
  file lock) and the kernel manager that starts a kernel in a slot.
- :mod:`.launch` -- the launcher (``python -m regcourse.sandbox.launch``) that drops
  privileges and sets the limits before it becomes the kernel.
- :mod:`.kernel_factory` -- warm kernels: a process that has imported what kernels need
  forks them on request; :mod:`.provisioner` is the grader's side of it.

This package imports nothing of nbgrader: the launcher starts with every kernel.
"""
