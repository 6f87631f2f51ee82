# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import datetime
from typing import Any

import pytest
from docker.errors import APIError

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError, api_client
from ansible_collections.campus.swarm.plugins.module_utils._stack_wait import (
    DockerStackClient,
    assess,
    in_use,
    parse_time,
    running_task_ids,
    summary,
)
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_swarm_nodes import patch_docker

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)
SPEC = {"ContainerSpec": {"Image": "web:2", "Secrets": [{"SecretName": "demo_pw_aaaa"}]}}
OLD_SPEC = {"ContainerSpec": {"Image": "web:1"}}
NODES = [{"ID": "n1", "Description": {"Hostname": "campus-lab-w1"}},
         {"ID": "n2", "Description": {"Hostname": "campus-lab-w2"}}]


def ago(seconds: int) -> str:
    return (NOW - datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")


def service(replicas: int | None = 2, update: str | None = None, message: str = "") -> dict[str, Any]:
    mode = {"Replicated": {"Replicas": replicas}} if replicas is not None else {"Global": {}}
    svc: dict[str, Any] = {"ID": "s1", "Spec": {"Name": "demo_web", "Mode": mode, "TaskTemplate": SPEC}}
    if update:
        svc["UpdateStatus"] = {"State": update, "Message": message}
    return svc


def task(slot: int, state: str = "running", desired: str = "running", since: int = 60, node: str = "n1",
         spec: dict[str, Any] | None = None, err: str = "", exit_code: int = 0) -> dict[str, Any]:
    return {"ID": f"t{slot}{state}", "ServiceID": "s1", "NodeID": node, "Slot": slot, "DesiredState": desired,
            "Spec": spec or SPEC,
            "Status": {"State": state, "Timestamp": ago(since), "Err": err, "ContainerStatus": {"ExitCode": exit_code}}}


def one(svc: dict[str, Any], tasks: list[dict[str, Any]], min_running: int = 5) -> dict[str, Any]:
    (result,) = assess([svc], tasks, NODES, NOW, min_running)
    return result


def test_parse_time() -> None:
    assert parse_time("2026-11-26T17:17:08.926938065Z") == datetime.datetime(
        2026, 11, 26, 17, 17, 8, 926938, tzinfo=datetime.UTC)
    assert parse_time("2026-11-26T17:17:08.5Z") == datetime.datetime(
        2026, 11, 26, 17, 17, 8, 500000, tzinfo=datetime.UTC)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time(None) is None


def test_converged_replicated() -> None:
    result = one(service(update="completed"), [task(1), task(2, node="n2"), task(1, "shutdown", "shutdown", spec=OLD_SPEC)])
    assert result == {"name": "demo_web", "mode": "replicated", "desired": 2, "running": 2,
                      "update_state": "completed", "converged": True, "stopped": False, "problem": ""}


def test_rejected_task_named_with_reason() -> None:
    result = one(service(), [task(1), task(2, "rejected", node="n2", err="No such image: web:2")])
    assert not result["converged"]
    assert result["running"] == 1
    assert result["problem"] == "task demo_web.2 on campus-lab-w2: rejected: No such image: web:2"


def test_pending_without_node() -> None:
    pending = task(2, "pending", node="")
    pending["Status"]["Err"] = "no suitable node (scheduling constraints not satisfied on 2 nodes)"
    result = one(service(), [task(1), pending])
    assert result["problem"] == ("task demo_web.2 on no node yet: pending: "
                                 "no suitable node (scheduling constraints not satisfied on 2 nodes)")


def test_crash_loop_names_exit_code() -> None:
    # The restarted task has just started; its predecessor failed with exit code 3.
    result = one(service(1), [task(1, since=1), task(1, "failed", "shutdown", since=3, err="task: non-zero exit (3)",
                                                     exit_code=3)])
    assert not result["converged"]
    assert result["problem"] == "task demo_web.1 on campus-lab-w1: failed: task: non-zero exit (3) (exit code 3)"


def test_young_task_not_counted() -> None:
    result = one(service(1), [task(1, since=2)])
    assert not result["converged"]
    assert result["problem"] == "1 task(s) running for less than 5 s"
    assert one(service(1), [task(1, since=2)], min_running=0)["converged"]


def test_old_spec_still_running_is_not_converged() -> None:
    # Right after a deploy the update has not started: the old task still runs, the status is the old one.
    result = one(service(1, update="completed"), [task(1, spec=OLD_SPEC)])
    assert not result["converged"]
    assert result["running"] == 0


@pytest.mark.parametrize("state", ["paused", "rollback_completed", "updating"])
def test_update_not_done(state: str) -> None:
    result = one(service(1, update=state, message="update paused due to failure or early termination of task x"),
                 [task(1)])
    assert not result["converged"]
    assert result["stopped"] is (state != "updating")
    if state != "updating":
        assert result["problem"].startswith(f"update {state}: update paused due to failure")
    else:
        assert result["problem"] == "update in progress"


def test_global_counts_nodes_with_tasks() -> None:
    result = one(service(None), [task(0, node="n1"), task(0, "rejected", node="n2", err="No such image: web:2")])
    assert (result["mode"], result["desired"], result["running"]) == ("global", 2, 1)
    assert result["problem"] == "task demo_web.campus-lab-w2 on campus-lab-w2: rejected: No such image: web:2"


def test_summary() -> None:
    assessed = assess([service(2)], [task(1), task(2, "rejected", node="n2", err="No such image: web:2")], NODES, NOW, 5)
    assert summary("stack demo", assessed) == ("stack demo has not converged: demo_web (replicated) runs 1 of 2 - "
                                               "task demo_web.2 on campus-lab-w2: rejected: No such image: web:2")


def test_preparing_task_with_the_reason_of_the_one_before() -> None:
    preparing = task(1, "preparing", since=1)
    preparing["Status"]["Message"] = "preparing"
    rejected = task(1, "rejected", "shutdown", since=4, node="n2", err="No such image: web:2")
    result = one(service(1), [preparing, rejected])
    assert result["problem"] == ("task demo_web.1 on campus-lab-w1: preparing; before it "
                                 "task demo_web.1 on campus-lab-w2: rejected: No such image: web:2")


def test_node_clock_ahead_counts_the_time_seen_here() -> None:
    # The node's clock runs 30 s ahead: by its timestamp the task started in the future.
    ahead = task(1, since=-30)
    assert not one(service(1), [ahead])["converged"]
    (result,) = assess([service(1)], [ahead], NODES, NOW, 5, {ahead["ID"]: 5.0})
    assert result["converged"]
    (result,) = assess([service(1)], [ahead], NODES, NOW, 5, {ahead["ID"]: 4.9})
    assert not result["converged"]


def test_running_task_ids() -> None:
    assert running_task_ids([task(1), task(2, "starting"), task(3, "running", "shutdown")]) == ["t1running"]


def test_in_use_reads_current_and_previous_specs() -> None:
    svc = service(1)
    svc["PreviousSpec"] = {"TaskTemplate": {"ContainerSpec": {"Secrets": [{"SecretName": "demo_pw_bbbb"}],
                                                              "Configs": [{"ConfigName": "demo_conf_1"}]}}}
    assert in_use([svc, {"ID": "s2", "Spec": {}}]) == {"secret": ["demo_pw_aaaa", "demo_pw_bbbb"],
                                                       "config": ["demo_conf_1"]}
    assert in_use([]) == {"secret": [], "config": []}


def test_replicas_zero_and_jobs_converge_at_once() -> None:
    assert one(service(0), [])["converged"]
    job = service(1)
    job["Spec"]["Mode"] = {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert one(job, [task(1, "failed", err="exit")])["mode"] == "job"
    assert one(job, [task(1, "failed", err="exit")])["converged"]


class FakeApi:
    """The Docker SDK's APIClient as the client reads it: services, tasks and nodes."""

    def __init__(self, services: list[dict[str, Any]] | None = None, tasks: list[dict[str, Any]] | None = None,
                 fail: str = "") -> None:
        self._services = services if services is not None else [
            {"ID": "s1", "Spec": {"Name": "campus_proxy"}}, {"ID": "s2", "Spec": {"Name": "campus_proxy_old"}}]
        self._tasks = tasks
        self.fail = fail  # the call that fails, as Docker does on a worker
        self.filters: list[Any] = []

    def _check(self, call: str) -> None:
        if call == self.fail:
            raise APIError("503 Server Error", explanation="This node is not a swarm manager.")

    def services(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        self._check("services")
        self.filters.append(filters)
        return self._services

    def tasks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        self._check("tasks")
        if self._tasks is not None:
            return self._tasks
        return [{"ID": "t", "ServiceID": i} for i in filters["service"]]

    def nodes(self) -> list[dict[str, Any]]:
        self._check("nodes")
        return NODES


def test_client_keeps_only_the_services_of_exactly_those_names(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi()
    patch_docker(monkeypatch, api, "unix://x", 5)
    client = DockerStackClient(api_client("unix://x", 5))
    services, tasks, nodes = client.read(names=["campus_proxy"])
    assert [s["ID"] for s in services] == ["s1"] and tasks == [{"ID": "t", "ServiceID": "s1"}] and nodes == NODES
    assert api.filters == [{"name": ["campus_proxy"]}]
    client.read(stack="demo")
    assert api.filters[-1] == {"label": "com.docker.stack.namespace=demo"}
    assert client.read(names=[]) == ([], [], NODES)
    assert len(api.filters) == 2  # no names, no services call


@pytest.mark.parametrize(("fail", "target", "call"), [
    ("services", {"stack": "demo"}, "list the services of stack demo"),
    ("services", {"names": ["web"]}, "list services"),
    ("tasks", {"stack": "demo"}, "list tasks"),
    ("nodes", {"stack": "demo"}, "list nodes"),
])
def test_client_names_the_failed_read(monkeypatch: pytest.MonkeyPatch, fail: str, target: dict[str, Any],
                                      call: str) -> None:
    patch_docker(monkeypatch, FakeApi([{"ID": "s1", "Spec": {"Name": "web"}}], fail=fail), "unix://x", 5)
    client = DockerStackClient(api_client("unix://x", 5))
    with pytest.raises(DockerApiError) as caught:
        client.read(**target)
    assert caught.value.msg == (f"Docker API call failed ({call}) at unix://x: 503 Server Error "
                                '("This node is not a swarm manager.") (is this host a swarm manager?)')
