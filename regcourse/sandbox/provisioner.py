"""Warm kernels: the grader's side of :mod:`regcourse.sandbox.kernel_factory`.

- :class:`~regcourse.sandbox.kernel_factory.KernelFactory` (standard library only, so that the
  command line starts it before its own imports) starts and stops one factory process
  per grader (a class's pool workers share the one their parent started first).
- :class:`ForkedProvisioner`, a jupyter_client kernel provisioner: it asks the factory for
  the kernel that :class:`~regcourse.sandbox.slots.SandboxKernelManager` would have
  launched cold, with the same launcher arguments and environment, and manages that
  process through a pidfd. nbclient and nbgrader see an ordinary kernel. It is also
  registered as the ``regcourse-forked`` provisioner (entry point
  ``jupyter_client.kernel_provisioners``).
- When the factory cannot give a kernel, the provisioner launches it cold, as before,
  and records why in :data:`FALLBACKS` (the grader reports it in one line).
"""

from __future__ import annotations

import asyncio
import os
import select
import signal

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

from .kernel_factory import request

# Why kernels of this process started cold although a factory was configured.
FALLBACKS: list[str] = []
COLD_NOTE = "kernels started cold"
LAUNCHER = ["-m", "regcourse.sandbox.launch"]


class FactoryUnavailable(RuntimeError):
    """The factory could not give a kernel; the caller starts one cold."""


def request_kernel(path: str, launcher_args: list[str], env: dict[str, str]) -> tuple[int, int]:
    """Ask the factory at ``path`` for a kernel; returns (pid, pidfd)."""
    if not path:
        raise FactoryUnavailable("no factory")
    try:
        answer, fds = request(path, {"argv": launcher_args, "env": env})
    except (OSError, ValueError) as exc:
        raise FactoryUnavailable(f"the factory did not answer ({exc})") from exc
    if "pid" not in answer or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise FactoryUnavailable(answer.get("error", "the factory gave no kernel"))
    return answer["pid"], fds[0]


class ForkedProvisioner(LocalProvisioner):
    """Kernels forked by the factory; a cold launch when it cannot give one."""

    factory = Unicode("", help="the factory's socket; empty: launch cold").tag(config=True)
    pidfd: int | None = None

    @property
    def has_process(self) -> bool:
        return self.pidfd is not None or super().has_process

    async def launch_kernel(self, cmd: list[str], **kwargs):
        if cmd[1:3] != LAUNCHER:
            return await super().launch_kernel(cmd, **kwargs)
        try:
            self.pid, self.pidfd = request_kernel(self.factory, cmd[3:], dict(kwargs.get("env") or {}))
        except FactoryUnavailable as exc:
            FALLBACKS.append(str(exc))
            return await super().launch_kernel(cmd, **kwargs)
        self.pgid = self.pid   # the child leads a session of its own
        self.cwd = kwargs.get("cwd")
        return self.connection_info

    def _exited(self) -> bool:
        return bool(select.select([self.pidfd], [], [], 0)[0])

    async def poll(self):
        if self.pidfd is None:
            return await super().poll()
        return 0 if self._exited() else None

    async def wait(self):
        if self.pidfd is None:
            return await super().wait()
        while not self._exited():
            await asyncio.sleep(0.05)
        self._close()
        return 0

    async def send_signal(self, signum: int) -> None:
        if self.pidfd is None:
            return await super().send_signal(signum)
        if self._exited():
            return
        try:
            os.killpg(self.pgid, signum)   # the kernel and what it started, as cold kernels
        except OSError:
            signal.pidfd_send_signal(self.pidfd, signum)

    async def kill(self, restart: bool = False) -> None:
        if self.pidfd is None:
            return await super().kill(restart)
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        if self.pidfd is None:
            return await super().terminate(restart)
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        self._close()
        await super().cleanup(restart)

    def _close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
