# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""One node out of service and back: drained until its tasks moved, restored once ready (and reachable)."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_cycle import drain, restore
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import SwarmNodesError

from .test_swarm_removal import FakeRemovalSwarm, MovingSwarm, no_sleep, swarm


def test_drain_keeps_the_role_and_waits_until_the_tasks_moved() -> None:
    fake = FakeRemovalSwarm(swarm(3), tasks_linger=2)
    result = drain(fake, "id-m2", "m2", sleep=no_sleep)
    assert fake.calls == ["drain id-m2"]
    assert fake.state["id-m2"]["Spec"]["Role"] == "manager"
    assert fake.linger["id-m2"] <= 0
    assert result == {"changed": True, "actions": ["set availability of m2 (node id id-m2) to drain (was active)"],
                      "availability_before": "active"}
    assert drain(fake, "id-m2", "m2", sleep=no_sleep)["changed"] is False


def test_drain_names_the_tasks_that_do_not_move() -> None:
    fake = FakeRemovalSwarm(swarm(3), tasks_linger=1000)
    clock = iter(range(0, 1000, 10))
    with pytest.raises(SwarmNodesError) as exc:
        drain(fake, "id-w1", "w1", timeout=30, sleep=no_sleep, clock=lambda: next(clock))
    assert exc.value.msg.startswith("tasks still run on w1 after 30 s: web.1 (done so far: set availability of w1")


def test_the_node_being_cycled_does_not_run_it() -> None:
    with pytest.raises(SwarmNodesError, match="is the node this module runs on"):
        drain(FakeRemovalSwarm(swarm(3)), "id-m1", "m1")


def test_restore_waits_until_a_manager_is_reachable_then_sets_its_availability() -> None:
    fake = FakeRemovalSwarm(swarm(3))
    fake.state["id-m2"]["Spec"]["Availability"] = "drain"
    fake.state["id-m2"]["ManagerStatus"]["Reachability"] = "unreachable"
    fake.state["id-m2"]["Status"]["State"] = "down"
    steps = iter([("down", "unreachable"), ("ready", "unreachable"), ("ready", "reachable")])

    def sleep(seconds: float) -> None:
        del seconds
        state, reach = next(steps)
        fake.state["id-m2"]["Status"]["State"] = state
        fake.state["id-m2"]["ManagerStatus"]["Reachability"] = reach

    result = restore(fake, "id-m2", "m2", sleep=sleep)
    assert fake.calls == ["active id-m2"]
    assert result["actions"] == ["set availability of m2 (node id id-m2) to active (was drain)"]


def test_a_node_that_does_not_come_back_is_named_and_stays_drained() -> None:
    fake = FakeRemovalSwarm(swarm(3))
    fake.state["id-w2"]["Spec"]["Availability"] = "drain"
    fake.state["id-w2"]["Status"]["State"] = "down"
    clock = iter(range(0, 1000, 10))
    with pytest.raises(SwarmNodesError) as exc:
        restore(fake, "id-w2", "w2", timeout=60, sleep=no_sleep, clock=lambda: next(clock))
    assert exc.value.msg == "the node did not come back after 60 s: w2 is down (done so far: nothing)"
    assert fake.state["id-w2"]["Spec"]["Availability"] == "drain"


def test_check_mode_waits_for_nothing_and_changes_nothing() -> None:
    fake = FakeRemovalSwarm(swarm(3))
    fake.state["id-w1"]["Status"]["State"] = "down"
    assert drain(fake, "id-w1", "w1", check_mode=True)["changed"] is True
    assert restore(fake, "id-w1", "w1", availability="pause", check_mode=True)["changed"] is True
    assert fake.calls == []


LOST_LEADER = "rpc error: code = Unknown desc = raft: failed to process the request: node lost leader status"


class ElectingSwarm(FakeRemovalSwarm):
    """The first ``refusals`` updates and inspections are refused as raft refuses them during a leader election."""

    def __init__(self, refusals: int, message: str = LOST_LEADER) -> None:
        super().__init__(swarm(3))
        self.refusals = refusals
        self.message = message

    def _refuse(self) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise DockerApiError(f"Docker API call failed (update node): 500 Server Error: ({self.message})")

    def inspect_node(self, node_id: str) -> dict[str, Any]:
        self._refuse()
        return super().inspect_node(node_id)

    def update_node(self, node_id: str, version: int, spec: dict[str, Any]) -> None:
        self._refuse()
        super().update_node(node_id, version, spec)

    def tasks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        self._refuse()
        return super().tasks(filters)


def test_restore_and_drain_go_on_through_a_leader_election() -> None:
    # Seen on the lab: the leader rebooted, came back ready, and the update of its availability was refused for a moment.
    fake = ElectingSwarm(refusals=3)
    fake.state["id-m2"]["Spec"]["Availability"] = "drain"
    assert restore(fake, "id-m2", "m2", sleep=no_sleep)["changed"] is True
    assert fake.refusals == 0
    assert fake.state["id-m2"]["Spec"]["Availability"] == "active"
    fake.refusals = 3
    assert drain(fake, "id-w1", "w1", sleep=no_sleep)["changed"] is True
    assert fake.state["id-w1"]["Spec"]["Availability"] == "drain"


def test_the_waits_of_a_drain_go_on_through_a_leader_election() -> None:
    # The election starts once the node is drained: the listings of its tasks are refused for a moment.
    class ElectingAfterTheDrain(ElectingSwarm):
        def update_node(self, node_id: str, version: int, spec: dict[str, Any]) -> None:
            super().update_node(node_id, version, spec)
            self.refusals = 3

    fake = ElectingAfterTheDrain(refusals=0)
    waits: list[float] = []
    assert drain(fake, "id-w1", "w1", sleep=waits.append)["changed"] is True
    assert fake.refusals == 0
    assert len(waits) >= 3 and fake.linger["id-w1"] <= 0


def test_an_election_that_outlasts_the_timeout_and_other_errors_stop_the_run() -> None:
    clock = iter(range(0, 1000, 10))
    with pytest.raises(DockerApiError, match="lost leader status"):
        restore(ElectingSwarm(refusals=100), "id-m2", "m2", timeout=30, sleep=no_sleep, clock=lambda: next(clock))
    other = ElectingSwarm(refusals=1, message="node id-w1 not found")
    with pytest.raises(DockerApiError, match="not found"):
        restore(other, "id-w1", "w1", sleep=no_sleep)
    assert other.refusals == 0


def test_drain_waits_until_the_moved_tasks_run_elsewhere() -> None:
    fake = MovingSwarm(starting=3)
    drain(fake, "id-w1", "w1", sleep=no_sleep)
    assert fake.starting < 0
    clock = iter(range(0, 1000, 10))
    with pytest.raises(SwarmNodesError) as exc:
        drain(MovingSwarm(starting=1000), "id-w1", "w1", timeout=30, sleep=no_sleep, clock=lambda: next(clock))
    assert exc.value.msg.startswith("the tasks moved from w1 do not run after 30 s: web.1 is starting (done so far: set availability")
