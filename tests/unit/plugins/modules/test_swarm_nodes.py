# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from docker.errors import DockerException

from ansible_collections.campus.swarm.plugins.module_utils import _docker_api
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import SwarmNodesError
from ansible_collections.campus.swarm.plugins.modules import swarm_nodes
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_swarm_nodes import (
    FailingSwarm,
    FakeSwarm,
    cluster,
    patch_docker,
)

DEFAULTS = {"labels_exclusive": False, "docker_host": "unix:///var/run/docker.sock", "timeout": 60}


def params(*nodes: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {**DEFAULTS, "nodes": list(nodes), **overrides}


def node(node_id: str, role: str, **extra: Any) -> dict[str, Any]:
    return {"node_id": node_id, "name": f"campus-lab-{node_id}", "role": role,
            "availability": None, "labels": None, **extra}


@pytest.mark.parametrize(
    ("nodes", "check_mode", "actions", "writes"),
    [
        ([node("w1", "manager")], False, ["promote campus-lab-w1 (node id w1)"], 1),
        ([node("w1", "manager")], True, ["promote campus-lab-w1 (node id w1)"], 0),
        ([node("m2", "worker"), node("w2", "worker", availability="drain")], False,
         ["set availability of campus-lab-w2 (node id w2) to drain (was active)", "demote campus-lab-m2 (node id m2)"], 2),
        ([node("w1", "worker"), node("m1", "manager")], False, [], 0),
    ],
)
def test_run_module(nodes: list[dict[str, Any]], check_mode: bool, actions: list[str], writes: int) -> None:
    fake = FakeSwarm(cluster())
    result = swarm_nodes.run_module(params(*nodes), fake, check_mode)
    assert result["actions"] == actions
    assert result["changed"] is bool(actions)
    assert len(fake.updates) == writes
    assert set(result["diff"]) == {"before", "after"}


def test_run_module_labels_exclusive() -> None:
    fake = FakeSwarm(cluster())
    result = swarm_nodes.run_module(params(node("w1", "worker", labels={"zone": "a"}), labels_exclusive=True),
                                    fake, False)
    assert result["actions"] == ["change labels of campus-lab-w1 (node id w1): remove disk"]
    assert fake.state["w1"]["Spec"]["Labels"] == {"zone": "a"}


@pytest.mark.parametrize(
    ("nodes", "match"),
    [
        ([node("nope", "worker")], r"campus-lab-nope \(node id nope\) is not in the swarm"),
        ([node("m1", "worker")], "run on a manager that stays a manager"),
        ([node("w3", "manager")], "its state is down, not ready"),
    ],
)
def test_run_module_refusals(nodes: list[dict[str, Any]], match: str) -> None:
    fake = FakeSwarm(cluster())
    with pytest.raises(SwarmNodesError, match=match):
        swarm_nodes.run_module(params(*nodes), fake, False)
    assert fake.updates == []


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: dict[str, Any],
             fake: FakeSwarm | DockerException) -> dict[str, Any]:
    """Run main() with ``args``, the Docker SDK's client replaced by ``fake`` (or failing with it); return the module's JSON."""
    patch_docker(monkeypatch, fake, args.get("docker_host", DEFAULTS["docker_host"]), args.get("timeout", DEFAULTS["timeout"]))
    with patch_module_args(args), pytest.raises(SystemExit):
        swarm_nodes.main()
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_main_promotes_with_diff(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeSwarm(cluster())
    out = run_main(monkeypatch, capsys, {"nodes": [{"node_id": "w1", "name": "lab1", "role": "manager"}],
                                         "_ansible_diff": True}, fake)
    assert out["changed"] is True
    assert out["actions"] == ["promote lab1 (node id w1)"]
    assert out["diff"]["before"]["lab1"]["role"] == "worker"
    assert out["diff"]["after"]["lab1"]["role"] == "manager"
    assert out["nodes"][0]["role"] == "manager"
    assert [n["node_id"] for n in out["unmanaged_nodes"]] == ["m1", "m2", "m3", "w2", "w3"]
    assert fake.state["w1"]["Spec"]["Role"] == "manager"


def test_main_check_mode_without_diff(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeSwarm(cluster())
    out = run_main(monkeypatch, capsys, {"nodes": [{"node_id": "m3", "name": "lab3", "role": "worker"}],
                                         "_ansible_check_mode": True}, fake)
    assert out["changed"] is True
    assert out["actions"] == ["demote lab3 (node id m3)"]
    assert "diff" not in out
    assert fake.updates == []


@pytest.mark.parametrize(
    ("args", "fake", "match"),
    [
        ({"nodes": [{"node_id": "m1", "name": "lab1", "role": "worker"}], "docker_host": "tcp://m1:2375"},
         FakeSwarm(cluster()), "refusing to demote lab1"),
        ({"nodes": [{"node_id": "m1", "name": "lab1", "role": "manager"}], "timeout": 5},
         DockerException("refused"), "cannot talk to the Docker daemon at unix:///var/run/docker.sock: refused"),
        ({"nodes": [{"node_id": "m1", "name": "lab1", "role": "manager"}], "docker_host": "tcp://m1:2375"},
         FailingSwarm(cluster()), "Docker API call failed (list nodes) at tcp://m1:2375: 503 Server Error"),
        ({"nodes": [{"node_id": "m1", "name": "lab1", "role": "boss"}]}, FakeSwarm(cluster()), "value of role must be one of"),
        ({"nodes": [{"node_id": "m1", "role": "manager"}]}, FakeSwarm(cluster()), "missing required arguments: name"),
    ],
)
def test_main_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: dict[str, Any],
                    fake: FakeSwarm | DockerException, match: str) -> None:
    out = run_main(monkeypatch, capsys, args, fake)
    assert out["failed"] is True
    assert match in out["msg"]
    assert out.get("changed", False) is False
    if isinstance(fake, FakeSwarm):
        assert fake.updates == []


def test_main_without_docker_sdk(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_docker_api, "HAS_DOCKER", False)
    with patch_module_args({"nodes": []}), pytest.raises(SystemExit):
        swarm_nodes.main()
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] is True
    assert "Failed to import the required Python library (docker)" in out["msg"]
