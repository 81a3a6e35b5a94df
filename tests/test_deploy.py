"""The Kubernetes configuration (deploy/kubernetes/), which cannot run here: it parses,
uses only the values the Zero to JupyterHub chart documents, and agrees with itself."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from conftest import REPO

DEPLOY = REPO / "deploy" / "kubernetes"
# The value paths of the jupyterhub chart (4.x, values.schema.yaml) that this course sets.
# Below the paths marked free the chart takes any key (hub.config: traitlets classes,
# whose names start with a capital letter; extraConfig, extraEnv, extraFiles: any name).
DOCUMENTED = {
    "hub.config": "free", "hub.db.type": "leaf", "hub.db.url": "leaf", "hub.extraConfig": "free",
    "hub.extraEnv": "free", "singleuser.image.name": "leaf", "singleuser.image.tag": "leaf",
    "singleuser.defaultUrl": "leaf", "singleuser.cpu.guarantee": "leaf", "singleuser.cpu.limit": "leaf",
    "singleuser.memory.guarantee": "leaf", "singleuser.memory.limit": "leaf",
    "singleuser.storage.capacity": "leaf", "singleuser.storage.extraVolumes": "leaf",
    "singleuser.storage.extraVolumeMounts": "leaf", "singleuser.extraFiles": "free",
    "cull.enabled": "leaf", "cull.timeout": "leaf",
}
EXTRA_FILE_KEYS = {"mountPath", "mode", "data", "stringData", "binaryData"}


def values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


def paths(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if path in DOCUMENTED:
            yield path, value
        elif isinstance(value, dict):
            yield from paths(value, path)
        else:
            yield path, value


def test_values_use_only_documented_keys():
    used = dict(paths(values()))
    undocumented = [p for p in used if p not in DOCUMENTED]
    assert not undocumented, f"values the chart does not document: {undocumented}"
    assert all(name[0].isupper() for name in used["hub.config"]), "hub.config takes traitlets class names"
    for name, spec in used["singleuser.extraFiles"].items():
        assert set(spec) <= EXTRA_FILE_KEYS and "mountPath" in spec, name
    assert values()["hub"]["db"]["type"] in {"sqlite-pvc", "sqlite-memory", "mysql", "postgres", "other"}


def test_python_in_the_values_compiles():
    for name, code in values()["hub"]["extraConfig"].items():
        compile(code, f"hub.extraConfig.{name}", "exec")
    nbgrader = values()["singleuser"]["extraFiles"]["nbgrader-config"]["stringData"]
    compile(nbgrader, "nbgrader_config.py", "exec")


def test_the_exchange_is_one_shared_volume_where_nbgrader_looks():
    single = values()["singleuser"]
    (mount,) = [m for m in single["storage"]["extraVolumeMounts"] if m["name"] == "nbgrader-exchange"]
    assert f'c.Exchange.root = "{mount["mountPath"]}"' in single["extraFiles"]["nbgrader-config"]["stringData"]
    (volume,) = [v for v in single["storage"]["extraVolumes"] if v["name"] == "nbgrader-exchange"]
    claim = yaml.safe_load((DEPLOY / "exchange-volume.yaml").read_text())
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_only_instructors_get_the_gradebook():
    config = values()["hub"]["extraConfig"]["regcourse-roles"]
    namespace: dict = {"c": _Config()}
    exec(textwrap.dedent(config), namespace)   # defines the hook and sets it on c
    hook = namespace["c"].KubeSpawner.pre_spawn_hook
    environ = {"REGCOURSE_GRADEBOOK_URL": "postgresql://secret"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("os.environ", environ)
        student, teacher = _Spawner("ada"), _Spawner("the-instructor")
        hook(student)
        hook(teacher)
    assert "REGCOURSE_GRADEBOOK_URL" not in student.environment and student.environment["REGCOURSE_ROLE"] == "student"
    assert teacher.environment["REGCOURSE_GRADEBOOK_URL"] == "postgresql://secret"


def test_the_grading_job_runs_the_course_grader_without_egress():
    job, policy = yaml.safe_load_all((DEPLOY / "grading-job.yaml").read_text())
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["regcourse", "autograde"]
    assert container["securityContext"]["runAsUser"] == 0      # to run kernels as sandbox users
    assert policy["kind"] == "NetworkPolicy" and policy["spec"]["egress"] == []
    assert policy["spec"]["podSelector"]["matchLabels"] == job["spec"]["template"]["metadata"]["labels"]


class _Config:
    """Just enough of traitlets' config object: attribute access creates sections."""

    def __getattr__(self, name):
        section = type("Section", (), {})()
        setattr(self, name, section)
        return section


class _Spawner:
    def __init__(self, name: str):
        self.user = type("User", (), {"name": name})()
        self.environment: dict = {}
