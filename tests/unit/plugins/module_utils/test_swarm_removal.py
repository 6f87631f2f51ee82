# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The removal planner: order, quorum at every step, even manager counts, stale and gone entries."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._swarm_removal import (
    RemovalError,
    RemovalInputError,
    plan_removal,
    prepare,
    remove,
)


def node(node_id: str, hostname: str, role: str = "worker", state: str = "ready",
         reachability: str | None = None, leader: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"ID": node_id, "Description": {"Hostname": hostname}, "Spec": {"Role": role},
                              "Status": {"State": state}}
    if role == "manager":
        result["ManagerStatus"] = {"Reachability": reachability or "reachable", "Leader": leader}
    return result


def swarm(managers: int = 3, workers: int = 2) -> list[dict[str, Any]]:
    return ([node(f"id-m{i}", f"m{i}", "manager", leader=i == 1) for i in range(1, managers + 1)]
            + [node(f"id-w{i}", f"w{i}") for i in range(1, workers + 1)])


def test_a_worker_is_drained_asked_to_leave_and_removed_from_the_leader() -> None:
    plan = plan_removal(swarm(), "w2")
    assert plan["problems"] == []
    assert plan["executor"] == "id-m1"
    assert (plan["drain"], plan["demote"], plan["leave"]) == (["id-w2"], [], ["w2"])
    assert plan["remove"] == [{"id": "id-w2", "hostname": "w2", "name": "w2", "force": False}]
    assert plan["managers_after"] == 3


def test_a_gone_worker_is_removed_by_force_and_not_asked_to_leave() -> None:
    nodes = swarm()
    nodes[-1]["Status"]["State"] = "down"
    plan = plan_removal(nodes, ["w2"])
    assert plan["leave"] == []
    assert plan["remove"] == [{"id": "id-w2", "hostname": "w2", "name": "w2", "force": True}]


def test_every_entry_of_a_rejoined_host_goes_the_stale_one_too() -> None:
    nodes = [*swarm(), node("id-w2-old", "w2", state="down")]
    plan = plan_removal(nodes, "w2")
    assert [r["id"] for r in plan["remove"]] == ["id-w2", "id-w2-old"]
    assert [r["force"] for r in plan["remove"]] == [False, True]


def test_the_node_id_the_engine_reported_wins_over_a_different_hostname() -> None:
    plan = plan_removal(swarm(), "campus-w2", node_ids={"campus-w2": "id-w2"})
    assert [r["id"] for r in plan["remove"]] == ["id-w2"]
    assert plan["remove"][0]["name"] == "campus-w2"


def test_a_host_with_no_entry_is_already_gone_not_a_problem() -> None:
    plan = plan_removal(swarm(), "w9,w2")
    assert plan["problems"] == []
    assert plan["gone"] == ["w9"]
    assert [r["id"] for r in plan["remove"]] == ["id-w2"]


def test_two_managers_of_five_leave_three_demoted_the_leader_last() -> None:
    plan = plan_removal(swarm(5), ["m1", "m4"])
    assert plan["problems"] == []
    assert plan["demote"] == ["id-m4", "id-m1"]
    assert plan["executor"] in {"id-m2", "id-m3", "id-m5"}
    assert plan["managers_after"] == 3


def test_one_manager_of_three_is_refused_naming_the_even_count_unless_allowed() -> None:
    plan = plan_removal(swarm(3), "m3")
    assert plan["problems"] == ["removing m3 leaves 2 managers, which tolerate 0 failure(s) as 1 would; promote a worker "
                                "(swarm_managers) or remove one more manager, or accept it with -e allow_even_managers=true"]
    assert plan_removal(swarm(3), "m3", allow_even_managers=True)["problems"] == []


def test_removing_workers_from_an_even_swarm_is_not_refused_for_its_count() -> None:
    assert plan_removal(swarm(2), "w1")["problems"] == []


def test_the_last_manager_is_never_removed() -> None:
    plan = plan_removal(swarm(1), "m1")
    assert plan["problems"] == ["removing m1 would leave the swarm without a manager; "
                                "promote a worker first (put it in swarm_managers and run site.yml)"]


def test_unreachable_managers_are_demoted_first_so_quorum_holds() -> None:
    # 5 managers, m5 unreachable: removing m4 and m5 keeps 3 of 3 once m5 (no vote) went first.
    nodes = swarm(5)
    nodes[4]["ManagerStatus"]["Reachability"] = "unreachable"
    nodes[4]["Status"]["State"] = "down"
    plan = plan_removal(nodes, ["m4", "m5"])
    assert plan["problems"] == []
    assert plan["demote"] == ["id-m5", "id-m4"]
    assert [r["force"] for r in plan["remove"] if r["id"] == "id-m5"] == [True]


def test_a_demotion_that_would_lose_quorum_is_refused_naming_the_numbers() -> None:
    # 5 managers, 2 unreachable (3 votes, quorum 3): demoting a reachable one leaves 2 votes of 4 (quorum 3).
    nodes = swarm(5)
    for i in (3, 4):
        nodes[i]["ManagerStatus"]["Reachability"] = "unreachable"
    plan = plan_removal(nodes, "m2", allow_even_managers=True)
    assert plan["problems"] == ["demoting m2 would leave 2 reachable of 4 managers, below the quorum of 3; "
                                "bring the unreachable managers back or remove them first"]


def test_a_swarm_without_quorum_refuses_every_removal() -> None:
    nodes = swarm(3)
    for i in (1, 2):
        nodes[i]["ManagerStatus"]["Reachability"] = "unreachable"
    problems = plan_removal(nodes, "w1")["problems"]
    assert len(problems) == 1
    assert problems[0].startswith("the swarm has lost quorum: 1 of its 3 managers are reachable and raft needs 2")


@pytest.mark.parametrize(("listed", "names", "match"), [
    ("nodes", "w1", "must be a list of Docker node objects with an ID"),
    ([{"Spec": {}}], "w1", "must be a list of Docker node objects with an ID"),
    (swarm(), "", "nodes names no host"),
    (swarm(), [1], "nodes must be host names"),
])
def test_input_of_the_wrong_shape_is_named(listed: Any, names: Any, match: str) -> None:
    with pytest.raises(RemovalInputError, match=match):
        plan_removal(listed, names)


class FakeRemovalSwarm:
    """The Docker calls of a removal (info, nodes, inspect, update, tasks, remove) over node state kept here.
    A drained node's tasks stop after ``tasks_linger`` task listings; a removal of a node that is not down
    without force is refused, as Docker refuses it."""

    def __init__(self, nodes: list[dict[str, Any]], local_id: str = "id-m1", tasks_linger: int = 1) -> None:
        self.state = {n["ID"]: {**n, "Version": {"Index": 1}} for n in nodes}
        for n in self.state.values():
            n["Spec"].setdefault("Availability", "active")
            n["Spec"].setdefault("Labels", {})
        self.local_id = local_id
        self.linger = {i: tasks_linger for i in self.state}
        self.calls: list[str] = []

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"NodeID": self.local_id, "LocalNodeState": "active", "ControlAvailable": True}}

    def nodes(self) -> list[dict[str, Any]]:
        return [dict(n) for n in self.state.values()]

    def inspect_node(self, node_id: str) -> dict[str, Any]:
        return dict(self.state[node_id])

    def update_node(self, node_id: str, version: int, spec: dict[str, Any]) -> None:
        node = self.state[node_id]
        if node["Spec"]["Role"] == "manager" and spec["Role"] == "worker":
            node.pop("ManagerStatus", None)
            self.calls.append(f"demote {node_id}")
        if spec["Availability"] != node["Spec"]["Availability"]:
            self.calls.append(f"{spec['Availability']} {node_id}")
        node["Spec"] = dict(spec)

    def tasks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        if "service" in filters:  # the service's tasks run (on the nodes that are not drained)
            return [{"ServiceID": filters["service"], "Slot": 1, "Status": {"State": "running"}}]
        node_id = filters["node"]
        if self.state[node_id]["Spec"]["Availability"] != "drain" or self.linger[node_id] > 0:
            self.linger[node_id] -= 1 if self.state[node_id]["Spec"]["Availability"] == "drain" else 0
            return [{"ServiceID": "web", "Slot": 1, "NodeID": node_id}]
        return []

    def remove_node(self, node_id: str, force: bool) -> None:
        if self.state[node_id]["Status"]["State"] != "down" and not force:
            raise AssertionError(f"Docker refuses to remove {node_id}: it is not down (use --force)")
        self.calls.append(f"rm {node_id}{' force' if force else ''}")
        del self.state[node_id]


def no_sleep(seconds: float) -> None:
    del seconds


def test_prepare_drains_demotes_and_waits_until_the_tasks_moved() -> None:
    fake = FakeRemovalSwarm(swarm(5), tasks_linger=2)
    result = prepare(fake, ["m4", "w2"], allow_even_managers=True, sleep=no_sleep)
    # swarm_nodes' reconcile: the worker's drain first, then the demotion with its drain in one update.
    assert fake.calls == ["drain id-w2", "demote id-m4", "drain id-m4"]
    assert fake.linger["id-m4"] <= 0 and fake.linger["id-w2"] <= 0  # it listed tasks until none ran
    assert result["changed"] is True
    assert result["leave"] == ["m4", "w2"]
    assert result["managers_after"] == 4


class MovingSwarm(FakeRemovalSwarm):
    """A drained node's task is started on another node, still "starting" for ``starting`` listings of its service."""

    def __init__(self, starting: int) -> None:
        super().__init__(swarm(3))
        self.starting = starting

    def tasks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        if "service" not in filters:
            return super().tasks(filters)
        self.starting -= 1
        state = "starting" if self.starting >= 0 else "running"
        return [{"ServiceID": "web", "Slot": 1, "NodeID": "id-w2", "Status": {"State": state}},
                {"ServiceID": "web", "Slot": 2, "NodeID": "id-m3", "Status": {"State": "running"}}]


def test_prepare_waits_until_the_moved_tasks_run_elsewhere() -> None:
    fake = MovingSwarm(starting=3)
    prepare(fake, "w1", sleep=no_sleep)
    assert fake.starting < 0
    clock = iter(range(0, 1000, 10))
    with pytest.raises(RemovalError) as exc:
        prepare(MovingSwarm(starting=1000), "w1", timeout=30, sleep=no_sleep, clock=lambda: next(clock))
    assert exc.value.msg.startswith("the tasks moved from the drained nodes do not run after 30 s: web.1 is starting (done so far: set availability")


def test_prepare_refuses_before_changing_anything() -> None:
    fake = FakeRemovalSwarm(swarm(3))
    with pytest.raises(RemovalError, match="leaves 2 managers"):
        prepare(fake, "m3", sleep=no_sleep)
    assert fake.calls == []
    with pytest.raises(RemovalError, match="the module runs on a node being removed"):
        prepare(fake, "m1", allow_even_managers=True, sleep=no_sleep)
    assert fake.calls == []


def test_prepare_in_check_mode_changes_nothing_and_says_what_it_would_do() -> None:
    fake = FakeRemovalSwarm(swarm())
    result = prepare(fake, "w1", check_mode=True, sleep=no_sleep)
    assert fake.calls == []
    assert result["actions"] == ["set availability of w1 (node id id-w1) to drain (was active)"]


def test_remove_takes_down_entries_plainly_and_the_ones_that_never_left_by_force() -> None:
    nodes = swarm()
    nodes[3]["Status"]["State"] = "down"  # w1 left
    fake = FakeRemovalSwarm(nodes)
    clock = iter(range(0, 1000, 30))
    result = remove(fake, ["w1", "w2", "w9"], timeout=60, sleep=no_sleep, clock=lambda: next(clock))
    assert fake.calls == ["rm id-w1", "rm id-w2 force"]
    assert result["gone"] == ["w9"]
    assert remove(fake, ["w1", "w2"], sleep=no_sleep)["changed"] is False  # a re-run finds them gone


def test_remove_refuses_a_host_that_still_manages() -> None:
    with pytest.raises(RemovalError, match="m3 still manage the swarm"):
        remove(FakeRemovalSwarm(swarm()), "m3", sleep=no_sleep)
