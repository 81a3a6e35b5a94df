"""Warm kernels (regcourse.sandbox.kernel_factory) compute exactly what cold kernels compute, in the
same sandbox, and the grader falls back to cold kernels when the factory cannot give one.

As root (as the CI runs) the kernels run as a sandbox user without network, as in
grading; otherwise as this user."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import shutil
import tempfile
import textwrap
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest
from nbclient import NotebookClient

import submissions as sub
from regcourse.sandbox import kernel_factory, launch
from regcourse.sandbox import provisioner
from regcourse.sandbox.slots import Limits, SandboxKernelManager, Slot, is_root
from regcourse.authoring.notebooks import REPO


SECRET = "REGCOURSE_TEST_SECRET"


@pytest.fixture(scope="module")
def factory():
    os.environ[SECRET] = "s3cret-of-the-grader"   # what a grader's environment may hold
    try:
        made = kernel_factory.KernelFactory()
    finally:
        del os.environ[SECRET]
    assert made.wait_ready(), "the factory did not finish its imports"
    yield made
    made.stop()


@pytest.fixture
def sandboxes():
    """A folder for sandboxes that the sandbox users can walk through (as the grader's)."""
    folder = Path(tempfile.mkdtemp(prefix="regcourse-sandboxes-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_in_sandbox(code: str, factory_socket: str, sandboxes: Path) -> tuple[str, dict]:
    """Run ``code`` in one kernel launched as the grader launches them (warm when
    ``factory_socket`` is given); its printed output and a few facts about the sandbox."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    limits = Limits()
    with Slot.acquire() as slot:
        sandbox = slot.prepare_folder(sandboxes / f"{time.monotonic_ns() % 10**8}")
        client = NotebookClient(nb, kernel_manager_class=SandboxKernelManager, timeout=60,
                                resources={"metadata": {"path": str(sandbox)}})
        km = client.create_kernel_manager()
        km.sandbox_dir = str(sandbox)
        km.sandbox_user = slot.user.pw_name if slot.user else ""
        km.no_network = slot.user is not None
        km.sandbox_token = slot.token
        km.memory_bytes, km.processes, km.file_bytes = limits.memory_bytes, limits.processes, limits.file_bytes
        km.factory = factory_socket
        client.km = km
        client.execute()
        facts = {"sandbox": str(sandbox), "user": slot.user.pw_uid if slot.user else os.getuid(),
                 "group": slot.user.pw_gid if slot.user else os.getgid()}
    outputs = nb.cells[0].outputs
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, "\n".join(errors[0].traceback)
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream"), facts


# What must be bitwise equal in a warm and a cold kernel: seeded numbers of torch, numpy and
# random, threads, the import path, the environment, the limits, the user, the network.
FINGERPRINT = textwrap.dedent("""
    import json, os, random, resource, socket, sys
    import numpy as np, torch
    torch.manual_seed(0)
    x = torch.randn(64, 64)
    layer = torch.nn.Linear(8, 3)
    np.random.seed(0)
    a = np.random.rand(50, 50)
    random.seed(0)
    umask = os.umask(0); os.umask(umask)
    probe = socket.socket()
    probe.settimeout(2)
    network = probe.connect_ex(('1.1.1.1', 80))
    probe.close()
    here = os.getcwd()
    varies = ('REGCOURSE_SANDBOX_TOKEN', 'JPY_PARENT_PID')   # a token, a pid
    print(json.dumps({
        'torch': [(x @ x).sum().item().hex(), torch.randn(5).numpy().tobytes().hex(),
                  layer.weight.detach().numpy().tobytes().hex(), torch.initial_seed()],
        'threads': [torch.get_num_threads(), torch.get_num_interop_threads()],
        'numpy': [np.linalg.solve(a + 50 * np.eye(50), np.ones(50)).tobytes().hex(),
                  np.random.default_rng(0).standard_normal(5).tobytes().hex()],
        'random': random.random().hex(),
        'path': sys.path,
        'env': {k: 'varies' if k in varies else v.replace(here, 'SANDBOX') for k, v in os.environ.items()},
        'cwd': here, 'uid': os.getuid(), 'gid': os.getgid(), 'groups': os.getgroups(), 'umask': umask,
        'limits': [resource.getrlimit(getattr(resource, name))
                   for name in ('RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_FSIZE', 'RLIMIT_CORE')],
        'network': network,
        'backend': __import__('matplotlib').get_backend(),
    }))
""")


def test_a_warm_kernel_computes_bitwise_what_a_cold_kernel_computes(factory, sandboxes):
    warm_text, warm = run_in_sandbox(FINGERPRINT, factory.socket, sandboxes)
    cold_text, cold = run_in_sandbox(FINGERPRINT, "", sandboxes)
    warm_fp, cold_fp = json.loads(warm_text), json.loads(cold_text)
    assert warm_fp["cwd"] == warm["sandbox"] and cold_fp["cwd"] == cold["sandbox"]
    # each kernel runs as the user of the slot it got, whichever was free (another test
    # worker may hold some): the same user and group, relative to that slot
    for fp, facts in [(warm_fp, warm), (cold_fp, cold)]:
        assert fp["uid"] == facts["user"] and fp["gid"] == facts["group"], (fp["uid"], fp["gid"], facts)
        assert set(fp["groups"]) <= {facts["group"]}, fp["groups"]
    for key in cold_fp:
        if key not in ("cwd", "uid", "gid", "groups"):
            assert warm_fp[key] == cold_fp[key], f"{key}: warm {warm_fp[key]} != cold {cold_fp[key]}"
    assert warm_fp["threads"][0] == 1
    if is_root():
        assert warm_fp["uid"] != 0 and warm_fp["network"] != 0, "the kernel kept root or the network"


UNSEEDED = ("import random, numpy as np, torch\n"
            "print(random.random(), np.random.rand(), torch.rand(1).item(), torch.initial_seed())")


def test_a_warm_kernel_sees_nothing_of_the_grader_s_environment(factory, sandboxes):
    """Its /proc/PID/environ is the factory's original block: it must hold no more than a
    kernel keeps anyway."""
    code = "print(open('/proc/self/environ', 'rb').read().decode(errors='replace'))"
    text, _ = run_in_sandbox(code, factory.socket, sandboxes)
    assert "s3cret" not in text and SECRET not in text
    names = {entry.split("=", 1)[0] for entry in text.strip().split("\0") if "=" in entry}
    assert names <= set(launch.KEPT_ENV) | {kernel_factory.MARKER, "MPLBACKEND", "MPLCONFIGDIR", "HOME",
                                                   *launch.ONE_THREAD}, names


def test_unseeded_draws_are_fresh_in_every_warm_kernel(factory, sandboxes):
    """A fresh interpreter seeds random, numpy and torch from the OS; forks of one factory
    would all draw the same numbers unless each child reseeds."""
    first, _ = run_in_sandbox(UNSEEDED, factory.socket, sandboxes)
    second, _ = run_in_sandbox(UNSEEDED, factory.socket, sandboxes)
    for a, b in zip(first.split(), second.split()):
        assert a != b, f"two warm kernels drew the same unseeded numbers: {first} / {second}"


def test_the_factory_is_single_threaded_and_runs_as_the_grader(factory):
    pid = factory.process.pid
    status = open(f"/proc/{pid}/status").read()
    assert "Threads:\t1\n" in status, "a thread pool started before the fork would be lost in every child"
    assert os.stat(f"/proc/{pid}").st_uid == os.getuid()
    assert oct(os.stat(factory.folder).st_mode & 0o777) == oct(0o700), "others could ask the factory for kernels"


def test_a_warm_kernel_is_the_factory_s_child_and_cannot_touch_it(factory, sandboxes):
    code = textwrap.dedent("""
        import os, signal
        parent = os.getppid()
        print(parent, open(f'/proc/{parent}/cmdline', 'rb').read().split(b'\\0')[2].decode())
        try:
            os.kill(parent, signal.SIGSTOP)
            print('signalled')
        except PermissionError:
            print('refused')
    """)
    text, _ = run_in_sandbox(code, factory.socket, sandboxes)
    first, second = text.splitlines()
    assert first == f"{factory.process.pid} regcourse.sandbox.kernel_factory"
    if is_root():
        assert second == "refused"
    else:   # the same user: nothing keeps it from the factory, which is why a class is graded as root
        os.kill(factory.process.pid, signal.SIGCONT)
    assert factory.alive() and factory.wait_ready(10)


def test_without_root_the_marker_finds_forked_processes(factory, sandboxes):
    """Without root the grader finds a sandbox's processes by the marker in their
    environment; a forked kernel shows its own marker in /proc, written over the
    factory's placeholder."""
    code = ("import os\nprint(os.getpid())\n"
            "print(open('/proc/self/environ', 'rb').read().count(os.environ['REGCOURSE_SANDBOX_TOKEN'].encode()))")
    text, _ = run_in_sandbox(code, factory.socket, sandboxes)
    assert text.split()[1] == "1"
    own = open(f"/proc/{factory.process.pid}/environ", "rb").read()
    assert f"{kernel_factory.MARKER}={kernel_factory.PLACEHOLDER}".encode() in own


def test_what_a_warm_kernel_inherits_is_left_alone_by_its_garbage_collector(factory, sandboxes):
    """The factory's objects (torch's among them) are frozen in each kernel, so that its
    collections do not walk them; a cold kernel's own objects are collected as usual."""
    code = "import gc\nprint(gc.get_freeze_count())\nprint(gc.collect() >= 0)"
    warm, _ = run_in_sandbox(code, factory.socket, sandboxes)
    cold, _ = run_in_sandbox(code, "", sandboxes)
    assert int(warm.split()[0]) > 100_000 and warm.split()[1] == "True", warm
    assert cold.split()[0] == "0", cold


class _Channel:
    """A kernel client's channel with the messages ``queued`` (``Empty``: nothing comes in time)."""

    def __init__(self, queued):
        self.queued, self.sent, self.timeouts = list(queued), [], []

    def send(self, msg):
        self.sent.append(msg)

    async def get_msg(self, timeout=None):
        self.timeouts.append(timeout)
        if not self.queued or self.queued[0] is Empty:
            if self.queued:
                self.queued.pop(0)
            raise Empty
        return self.queued.pop(0)

    async def msg_ready(self):
        return bool(self.queued) and self.queued[0] is not Empty


def test_a_kernel_is_ready_once_it_answers_without_a_wait_for_quiet():
    """The grader's kernel client is ready when the kernel has answered kernel_info on
    shell and IOPub: what else IOPub holds is dropped at once, where jupyter_client's client
    waits until IOPub has been quiet for 0.2 s. When IOPub says nothing (not yet
    subscribed) it asks again, as jupyter_client does."""
    from jupyter_core.utils import run_sync

    from regcourse.sandbox.slots import SandboxKernelClient

    client = SandboxKernelManager().client()
    assert isinstance(client, SandboxKernelClient)
    reply = {"msg_type": "kernel_info_reply", "content": {"protocol_version": "5.3"}}
    status = {"msg_type": "status", "content": {"execution_state": "busy"}}
    client._shell_channel = _Channel([reply, reply])
    client._iopub_channel = _Channel([Empty, status, status, status])

    async def alive():
        return True

    client.is_alive = alive
    # as nbclient runs its coroutines: asyncio.run fails where an earlier test left a loop running
    run_sync(client.wait_for_ready)(timeout=5)
    assert len(client._shell_channel.sent) == 2, "it did not ask again when IOPub stayed silent"
    assert client._iopub_channel.queued == [], "what IOPub held was not dropped"
    assert client._iopub_channel.timeouts == [0.2, 0.2, None, None], client._iopub_channel.timeouts


def test_the_provisioner_is_registered_with_jupyter_client():
    from importlib.metadata import entry_points

    found = {e.name: e for e in entry_points(group="jupyter_client.kernel_provisioners")}
    assert found["regcourse-forked"].load() is provisioner.ForkedProvisioner


def test_the_factory_ends_with_the_process_that_started_it(tmp_path):
    """A class's pool workers each start a factory: when a worker is killed, its factory
    (and every kernel it forked) must not stay behind."""
    script = ("import sys, time\nfrom regcourse.sandbox import kernel_factory\n"
              "f = kernel_factory.KernelFactory()\nassert f.wait_ready()\n"
              "print(f.process.pid, flush=True)\ntime.sleep(600)\n")
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(grader.stdout.readline())
    grader.kill()
    grader.wait()
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the factory {pid} outlived the process that started it")


# -- the grader's routes: warm by default, --cold, and the fallback ------------------------

PARENT_CELL = ("parent = open('/proc/self/stat').read().rsplit(')', 1)[1].split()[1]\n"
               "print('PARENT', open(f'/proc/{parent}/cmdline', 'rb').read().replace(b'\\0', b' ').decode())\n")


def _grade_cli(tmp_path, *options) -> tuple[dict, str]:
    """`regcourse grade --json` of the warm-up solution with a cell that prints the kernel's
    parent; the result and the feedback page, which shows what that cell printed."""
    nb = sub.with_extra_cell(sub.solution("warmup"), PARENT_CELL)
    path = sub.write(nb, tmp_path / "warmup.ipynb")
    done = subprocess.run([str(REPO / ".venv/bin/regcourse"), "grade", str(path), "--json", *options],
                          capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "REGCOURSE_COLD"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    page = Path(result["feedback"]).read_text()
    assert "PARENT" in page, "the feedback page does not show the cell's output"
    return result, page


def test_regcourse_grade_forks_its_kernels_from_the_factory(tmp_path):
    result, printed = _grade_cli(tmp_path)
    assert result["score"] == result["max_score"] == 3 and result["notes"] == []
    assert "regcourse.sandbox.kernel_factory" in printed, printed


@pytest.mark.tier2
def test_cold_starts_every_kernel_afresh(tmp_path):
    result, printed = _grade_cli(tmp_path, "--cold")
    assert result["score"] == 3 and result["notes"] == []
    assert "PARENT" in printed and "regcourse.sandbox.kernel_factory" not in printed, printed


@pytest.mark.tier2
def test_a_factory_that_cannot_give_a_kernel_means_a_cold_start_and_a_note(tmp_path):
    from regcourse.grading.grader import Grader

    with Grader(REPO / "solutions", REPO / "nbgrader_config.py", assignments=["warmup"],
                workdir=tmp_path / "grader") as grader:
        grader.start_factory()
        grader._factory.process.kill()          # it dies between two submissions...
        grader._factory.process.wait()
        grader._factory.alive = lambda: True    # ...after the grader last looked
        run = grader.grade(sub.write(sub.solution("warmup"), tmp_path / "warmup.ipynb"), "warmup")
    assert run.result.score == 3
    assert len(run.result.notes) == 1 and run.result.notes[0].startswith("kernels started cold: ")
    assert "grader: kernels started cold" in run.result.table()


@pytest.mark.tier2
def test_where_forking_is_unavailable_the_grader_says_so_once(tmp_path, monkeypatch):
    from regcourse.grading import grader as grader_module

    monkeypatch.setattr(kernel_factory, "unavailable_reason", lambda: "this system has no pidfd")
    with grader_module.Grader(REPO / "solutions", REPO / "nbgrader_config.py", assignments=["warmup"],
                              workdir=tmp_path / "grader") as grader:
        run = grader.grade(sub.write(sub.solution("warmup"), tmp_path / "warmup.ipynb"), "warmup")
        assert grader._factory is None
    assert run.result.score == 3
    assert run.result.notes == ["kernels started cold: this system has no pidfd"]
