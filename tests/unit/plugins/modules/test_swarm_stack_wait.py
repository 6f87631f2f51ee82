# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from docker.errors import DockerException

from ansible_collections.campus.swarm.plugins.modules import swarm_stack_wait
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_stack_wait import NODES, FakeApi, service, task
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_swarm_nodes import patch_docker


class FakeClient:
    def __init__(self, reads: list[tuple[list[Any], list[Any]]]) -> None:
        self.reads = reads
        self.calls = 0

    def read(self, stack: str | None = None, names: list[str] | None = None) -> tuple[list[Any], list[Any], list[Any]]:
        self.target = {"stack": stack, "names": names}
        services, tasks = self.reads[min(self.calls, len(self.reads) - 1)]
        self.calls += 1
        return services, tasks, NODES


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_until_converged() -> None:
    clock = FakeClock()
    client = FakeClient([([service(1)], [task(1, "starting")]), ([service(1)], [task(1)])])
    result = swarm_stack_wait.wait(client, {"stack": "demo"}, 60, 5, clock, clock.sleep)
    assert "failed" not in result
    assert client.calls == 2
    assert result["waited"] == 2.0


def test_wait_times_out_with_reason() -> None:
    clock = FakeClock()
    client = FakeClient([([service(1)], [task(1, "rejected", err="No such image: web:2")])])
    result = swarm_stack_wait.wait(client, {"stack": "demo"}, 10, 5, clock, clock.sleep)
    assert result["failed"] is True
    assert result["msg"] == ("stack demo has not converged: demo_web (replicated) runs 0 of 1 - task demo_web.1 on "
                             "campus-lab-w1: rejected: No such image: web:2 (waited 10 s)")


def test_wait_no_services() -> None:
    clock = FakeClock()
    result = swarm_stack_wait.wait(FakeClient([([], [])]), {"stack": "demo"}, 4, 5, clock, clock.sleep)
    assert result["msg"] == "stack demo: no such service on this swarm (was it deployed here?)"


def test_wait_counts_running_time_on_its_own_clock() -> None:
    clock = FakeClock()
    ahead = task(1)  # its node's clock runs 30 s ahead of this host's
    ahead["Status"]["Timestamp"] = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)).isoformat()
    client = FakeClient([([service(1)], [ahead])])
    result = swarm_stack_wait.wait(client, {"stack": "demo"}, 60, 5, clock, clock.sleep)
    assert "failed" not in result
    assert result["waited"] == 6.0  # seen running at 0, 2, 4 and 6 s
    assert result["in_use"] == {"secret": ["demo_pw_aaaa"], "config": []}


def test_wait_stops_at_once_when_the_update_rolled_back() -> None:
    clock = FakeClock()
    client = FakeClient([([service(1, update="rollback_completed", message="rollback completed")], [task(1)])])
    result = swarm_stack_wait.wait(client, {"stack": "demo"}, 300, 5, clock, clock.sleep)
    assert result["failed"] is True
    assert client.calls == 1
    assert result["msg"].startswith("stack demo has not converged: demo_web (replicated) runs 1 of 1 - "
                                    "update rollback_completed: rollback completed")


def test_wait_for_named_services() -> None:
    clock = FakeClock()
    client = FakeClient([([service(1)], [task(1, "rejected", err="No such image: web:2")])])
    result = swarm_stack_wait.wait(client, {"names": ["demo_web"]}, 4, 5, clock, clock.sleep)
    assert client.target == {"stack": None, "names": ["demo_web"]}
    assert result["msg"].startswith("services demo_web has not converged: demo_web (replicated) runs 0 of 1")


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: dict[str, Any],
             api: FakeApi | DockerException) -> dict[str, Any]:
    """Run main() with ``args``, the Docker SDK's client replaced by ``api`` (or failing with it); return the module's JSON."""
    patch_docker(monkeypatch, api, args.get("docker_host", "unix:///var/run/docker.sock"), args.get("api_timeout", 60))
    with patch_module_args(args), pytest.raises(SystemExit):
        swarm_stack_wait.main()
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_main_converged(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi([service(1)], [task(1)])
    out = run_main(monkeypatch, capsys, {"stack": "demo", "min_running": 0, "api_timeout": 5}, api)
    assert "failed" not in out
    assert out["changed"] is False
    assert [(s["name"], s["converged"]) for s in out["services"]] == [("demo_web", True)]
    assert out["in_use"] == {"secret": ["demo_pw_aaaa"], "config": []}
    assert api.filters == [{"label": "com.docker.stack.namespace=demo"}]


def test_main_fails_with_the_assessment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    api = FakeApi([service(1)], [task(1, "rejected", err="No such image: web:2")])
    out = run_main(monkeypatch, capsys, {"services": ["demo_web"], "timeout": 0, "docker_host": "tcp://m1:2375"}, api)
    assert out["failed"] is True
    assert out["msg"] == ("services demo_web has not converged: demo_web (replicated) runs 0 of 1 - task demo_web.1 on "
                          "campus-lab-w1: rejected: No such image: web:2 (waited 0 s)")
    assert out["services"][0]["converged"] is False


@pytest.mark.parametrize(("args", "api", "msg"), [
    ({"stack": "demo"}, DockerException("refused"), "cannot talk to the Docker daemon at unix:///var/run/docker.sock: refused"),
    ({"stack": "demo"}, FakeApi(fail="services"),
     'Docker API call failed (list the services of stack demo) at unix:///var/run/docker.sock: 503 Server Error '
     '("This node is not a swarm manager.") (is this host a swarm manager?)'),
    ({"stack": "demo", "services": ["web"]}, FakeApi(), "parameters are mutually exclusive: stack|services"),
    ({}, FakeApi(), "one of the following is required: stack, services"),
])
def test_main_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: dict[str, Any],
                    api: FakeApi | DockerException, msg: str) -> None:
    out = run_main(monkeypatch, capsys, args, api)
    assert out["failed"] is True
    assert out["msg"] == msg


def test_main_without_docker_sdk(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(swarm_stack_wait, "HAS_DOCKER", False)
    with patch_module_args({"stack": "demo"}), pytest.raises(SystemExit):
        swarm_stack_wait.main()
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] is True
    assert "Failed to import the required Python library (docker)" in out["msg"]
