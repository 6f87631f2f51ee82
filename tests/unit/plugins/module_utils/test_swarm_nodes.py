# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import copy
from typing import Any

import docker
import pytest
from docker.errors import APIError

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError, api_client
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import (
    Change,
    DeclaredNode,
    DockerSwarmClient,
    SwarmNodesError,
    _quorum_problem,
    declared_nodes,
    quorum,
    reconcile,
)


def make_node(node_id: str, role: str = "worker", *, reachable: bool = True, state: str = "ready",
              labels: dict[str, str] | None = None, availability: str = "active", leader: bool = False,
              version: int = 10) -> dict[str, Any]:
    node: dict[str, Any] = {
        "ID": node_id,
        "Version": {"Index": version},
        "Spec": {"Labels": dict(labels or {}), "Role": role, "Availability": availability},
        "Description": {"Hostname": f"host-{node_id}"},
        "Status": {"State": state, "Addr": "10.0.0.1"},
    }
    if role == "manager":
        node["ManagerStatus"] = {"Leader": leader, "Reachability": "reachable" if reachable else "unreachable"}
    return node


def patch_docker(monkeypatch: pytest.MonkeyPatch, api: Any, base_url: str = "unix:///var/run/docker.sock",
                 timeout: int = 60) -> None:
    """Make the Docker SDK's ``APIClient`` return ``api`` (or raise it) when asked for ``base_url`` and ``timeout``."""
    def client(**kwargs: Any) -> Any:
        assert kwargs == {"base_url": base_url, "timeout": timeout, "version": "auto"}
        if isinstance(api, BaseException):
            raise api
        return api

    monkeypatch.setattr(docker, "APIClient", client)


class FakeSwarm:
    """Stands in for the Docker SDK's APIClient (and so for DockerSwarmClient, which offers the same five calls);
    keeps node state and refuses out-of-sequence updates and removals of managers or nodes that are up, like
    Docker. ``sticky_managers``: a demoted manager keeps its raft membership (a demotion that never ends).
    ``swarm_bumps``: how many updates find that the swarm changed the node itself since it was read (its
    status after a restart): Docker refuses those "out of sequence", as DockerSwarmClient says it."""

    def __init__(self, nodes: list[dict[str, Any]], local_id: str = "m1", *, control: bool = True,
                 local_state: str = "active", stale_listing: bool = False, reachable_after: int = 0,
                 sticky_managers: bool = False, swarm_bumps: int = 0) -> None:
        self.state = {n["ID"]: copy.deepcopy(n) for n in nodes}
        self.local_id = local_id
        self.control = control
        self.local_state = local_state
        self.stale_listing = stale_listing  # nodes() reports an old Version.Index
        self.reachable_after = reachable_after  # nodes() calls before a promoted node becomes reachable
        self.sticky_managers = sticky_managers
        self.swarm_bumps = swarm_bumps
        self.updates: list[tuple[str, int, dict[str, Any]]] = []
        self.removed: list[str] = []
        self._pending: dict[str, int] = {}

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"NodeID": self.local_id, "LocalNodeState": self.local_state,
                          "ControlAvailable": self.control}}

    def nodes(self) -> list[dict[str, Any]]:
        for node_id in list(self._pending):
            self._pending[node_id] -= 1
            if self._pending[node_id] <= 0:
                self.state[node_id]["ManagerStatus"]["Reachability"] = "reachable"
                del self._pending[node_id]
        listing = copy.deepcopy(list(self.state.values()))
        if self.stale_listing:
            for node in listing:
                node["Version"]["Index"] -= 3
        return listing

    def inspect_node(self, node_id: str) -> dict[str, Any]:
        return copy.deepcopy(self.state[node_id])

    def update_node(self, node_id: str, version: int, node_spec: dict[str, Any]) -> None:
        node = self.state[node_id]
        if self.swarm_bumps:
            self.swarm_bumps -= 1
            node["Version"]["Index"] += 1
            raise DockerApiError(f"Docker API call failed (update node {node_id}) at unix:///var/run/docker.sock: "
                                 "500 Server Error: rpc error: code = Unknown desc = update out of sequence")
        if version != node["Version"]["Index"]:
            raise AssertionError(f"update out of sequence for {node_id}: {version} != {node['Version']['Index']}")
        if node["Spec"]["Role"] == "manager" and node_spec["Role"] == "worker" and not node.get("ManagerStatus"):
            raise DockerApiError(f"Docker API call failed (update node {node_id}): 404 Client Error: Not Found "
                                 "(\"rpc error: code = NotFound desc = can't find manager in raft memberlist\")")
        self.updates.append((node_id, version, copy.deepcopy(node_spec)))
        old_role = node["Spec"]["Role"]
        node["Spec"] = copy.deepcopy(node_spec)
        node["Version"]["Index"] += 1
        if old_role == "worker" and node_spec["Role"] == "manager":
            reach = "reachable" if self.reachable_after == 0 else "unknown"
            node["ManagerStatus"] = {"Leader": False, "Reachability": reach}
            if self.reachable_after:
                self._pending[node_id] = self.reachable_after
        elif old_role == "manager" and node_spec["Role"] == "worker" and not self.sticky_managers:
            node.pop("ManagerStatus", None)

    def remove_node(self, node_id: str, force: bool) -> None:
        node = self.state[node_id]
        if node.get("ManagerStatus"):
            raise AssertionError(f"Docker refuses to remove {node_id}: it is a manager, demote it first")
        if (node["Status"]["State"] != "down" or node["Spec"]["Role"] == "manager") and not force:
            raise AssertionError(f"Docker refuses to remove {node_id}: it is not down or a manager (use --force)")
        self.removed.append(node_id + (" force" if force else ""))
        del self.state[node_id]


def cluster(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Three reachable managers (m1 leader, where the module runs), workers w1, w2 ready and w3 down."""
    specs: dict[str, dict[str, Any]] = {
        "m1": {"role": "manager", "leader": True},
        "m2": {"role": "manager"},
        "m3": {"role": "manager"},
        "w1": {"labels": {"zone": "a", "disk": "ssd"}},
        "w2": {},
        "w3": {"state": "down"},
    }
    for node_id, change in changes.items():
        specs[node_id] = {**specs.get(node_id, {}), **change}
    return [make_node(node_id, **spec) for node_id, spec in specs.items()]


def declare(*entries: tuple[str, str] | dict[str, Any]) -> list[DeclaredNode]:
    """Declared nodes: ("w1", "manager") or full dicts; the inventory name is lab-<id>."""
    raw = []
    for entry in entries:
        if isinstance(entry, tuple):
            entry = {"node_id": entry[0], "role": entry[1]}
        raw.append({"name": f"lab-{entry['node_id']}", **entry})
    return declared_nodes(raw)


STEADY = (("m1", "manager"), ("m2", "manager"), ("m3", "manager"), ("w1", "worker"), ("w2", "worker"))


def roles(fake: FakeSwarm) -> dict[str, str]:
    return {node_id: node["Spec"]["Role"] for node_id, node in fake.state.items()}


def run_twice(fake: FakeSwarm, declared: list[DeclaredNode], **kwargs: Any) -> dict[str, Any]:
    """Reconcile, then assert a second pass finds nothing to do."""
    result = reconcile(fake, declared, **kwargs)
    again = reconcile(fake, declared, **kwargs)
    assert again["changed"] is False
    assert again["actions"] == []
    return result


@pytest.mark.parametrize(("managers", "expected"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4)])
def test_quorum(managers: int, expected: int) -> None:
    assert quorum(managers) == expected


def test_steady_state_changes_nothing() -> None:
    fake = FakeSwarm(cluster())
    result = reconcile(fake, declare(*STEADY))
    assert result["changed"] is False
    assert result["actions"] == []
    assert fake.updates == []
    assert [n["name"] for n in result["nodes"]] == ["lab-m1", "lab-m2", "lab-m3", "lab-w1", "lab-w2"]
    assert result["nodes"][0] == {
        "name": "lab-m1", "node_id": "m1", "hostname": "host-m1", "role": "manager", "availability": "active",
        "labels": {}, "state": "ready", "leader": True,
    }
    assert result["unmanaged_nodes"] == [{"node_id": "w3", "hostname": "host-w3", "role": "worker", "state": "down"}]


@pytest.mark.parametrize(
    ("declared", "expected_actions", "expected_roles"),
    [
        ([("w1", "manager")], ["promote lab-w1 (node id w1)"], {"w1": "manager"}),
        ([("w1", "manager"), ("w2", "manager")],
         ["promote lab-w1 (node id w1)", "promote lab-w2 (node id w2)"], {"w1": "manager", "w2": "manager"}),
        ([("m3", "worker")], ["demote lab-m3 (node id m3)"], {"m3": "worker"}),
        ([("m3", "worker"), ("m2", "worker")],
         ["demote lab-m2 (node id m2)", "demote lab-m3 (node id m3)"], {"m2": "worker", "m3": "worker"}),
        # swap a manager: the promotion comes first
        ([("m3", "worker"), ("w1", "manager")],
         ["promote lab-w1 (node id w1)", "demote lab-m3 (node id m3)"], {"m3": "worker", "w1": "manager"}),
    ],
)
def test_promote_and_demote(declared: list[tuple[str, str]], expected_actions: list[str],
                            expected_roles: dict[str, str]) -> None:
    fake = FakeSwarm(cluster())
    result = run_twice(fake, declare(*declared))
    assert result["changed"] is True
    assert result["actions"] == expected_actions
    assert [u[0] for u in fake.updates] == [a.split("(node id ")[1].rstrip(")") for a in expected_actions]
    want = {**roles(FakeSwarm(cluster())), **expected_roles}
    assert roles(fake) == want
    assert {n["node_id"]: n["role"] for n in result["nodes"]} == {d[0]: want[d[0]] for d in declared}


@pytest.mark.parametrize(
    ("nodes", "declared", "match"),
    [
        # m2 unreachable: demoting m3 leaves m1 and m2, only one reachable of the two needed
        (cluster(m2={"reachable": False}), [("m3", "worker")],
         r"refusing to demote lab-m3 \(node id m3\): 2 managers would remain of which 1 are reachable, "
         r"fewer than the 2 needed for quorum"),
        (cluster(m2={"reachable": False}, m3={"reachable": False}), [("m3", "worker")], "fewer than the 2 needed"),
        (cluster(), [("m1", "worker")],
         r"refusing to demote lab-m1 \(node id m1\): the module runs on it; run on a manager that stays a manager"),
        (cluster(), [("w3", "manager")], r"cannot promote lab-w3 \(node id w3\): its state is down, not ready"),
        (cluster(), [("zz9", "worker"), ("w1", "worker")], r"^lab-zz9 \(node id zz9\) is not in the swarm\. Swarm nodes: m1 "),
    ],
)
def test_refusals_write_nothing(nodes: list[dict[str, Any]], declared: list[tuple[str, str]], match: str) -> None:
    fake = FakeSwarm(nodes)
    with pytest.raises(SwarmNodesError, match=match) as info:
        reconcile(fake, declare(*declared))
    assert info.value.actions == []
    assert fake.updates == []


def test_unreachable_managers_are_demoted_first() -> None:
    fake = FakeSwarm(cluster(m3={"reachable": False}))
    result = run_twice(fake, declare(("m2", "worker"), ("m3", "worker")))
    assert result["actions"] == ["demote lab-m3 (node id m3)", "demote lab-m2 (node id m2)"]
    assert roles(fake)["m1"] == "manager"


def test_demoting_an_unreachable_manager_is_allowed() -> None:
    fake = FakeSwarm(cluster(m2={"reachable": False}))
    result = reconcile(fake, declare(("m2", "worker")))
    assert result["actions"] == ["demote lab-m2 (node id m2)"]


def test_waits_for_promoted_managers_before_demoting() -> None:
    fake = FakeSwarm(cluster(), reachable_after=3)
    sleeps: list[float] = []
    result = reconcile(fake, declare(("w1", "manager"), ("m2", "worker"), ("m3", "worker")),
                       sleep=sleeps.append, clock=lambda: 0.0)
    assert result["actions"] == ["promote lab-w1 (node id w1)", "demote lab-m2 (node id m2)",
                                 "demote lab-m3 (node id m3)"]
    assert sleeps == [1.0, 1.0]
    assert roles(fake) == {"m1": "manager", "m2": "worker", "m3": "worker", "w1": "manager", "w2": "worker",
                           "w3": "worker"}


def test_demotion_refused_when_promoted_manager_never_becomes_reachable() -> None:
    fake = FakeSwarm(cluster(), reachable_after=1000)
    ticks = iter(range(1000))
    with pytest.raises(SwarmNodesError, match="refusing to demote lab-m3") as info:
        reconcile(fake, declare(("w1", "manager"), ("m2", "worker"), ("m3", "worker")),
                  timeout=5, sleep=lambda _s: None, clock=lambda: float(next(ticks)))
    assert info.value.actions == ["promote lab-w1 (node id w1)", "demote lab-m2 (node id m2)"]
    assert "done so far: promote lab-w1 (node id w1); demote lab-m2 (node id m2)" in str(info.value)
    assert roles(fake)["m3"] == "manager"


@pytest.mark.parametrize(
    ("labels", "exclusive", "expected", "action"),
    [
        ({"disk": "nvme", "rack": 3}, False, {"zone": "a", "disk": "nvme", "rack": "3"},
         "change labels of lab-w1 (node id w1): set disk=nvme (was ssd), add rack=3"),
        ({"disk": "nvme", "rack": 3}, True, {"disk": "nvme", "rack": "3"},
         "change labels of lab-w1 (node id w1): set disk=nvme (was ssd), add rack=3, remove zone"),
        ({}, True, {}, "change labels of lab-w1 (node id w1): remove disk, remove zone"),
        ({"gpu": True}, False, {"zone": "a", "disk": "ssd", "gpu": "true"},
         "change labels of lab-w1 (node id w1): add gpu=true"),
        ({}, False, {"zone": "a", "disk": "ssd"}, None),
        (None, True, {"zone": "a", "disk": "ssd"}, None),  # omitted labels are left alone even when exclusive
        ({"zone": "a"}, False, {"zone": "a", "disk": "ssd"}, None),
    ],
)
def test_labels_merge_or_exclusive(labels: dict[str, Any] | None, exclusive: bool, expected: dict[str, str],
                                   action: str | None) -> None:
    fake = FakeSwarm(cluster())
    entry: dict[str, Any] = {"node_id": "w1", "role": "worker"}
    if labels is not None:
        entry["labels"] = labels
    result = run_twice(fake, declare(entry), labels_exclusive=exclusive)
    assert result["actions"] == ([action] if action else [])
    assert fake.state["w1"]["Spec"]["Labels"] == expected
    assert result["nodes"][0]["labels"] == expected


@pytest.mark.parametrize(
    ("availability", "expected", "actions"),
    [
        ("drain", "drain", ["set availability of lab-w2 (node id w2) to drain (was active)"]),
        ("pause", "pause", ["set availability of lab-w2 (node id w2) to pause (was active)"]),
        ("active", "active", []),
        (None, "active", []),
    ],
)
def test_availability(availability: str | None, expected: str, actions: list[str]) -> None:
    fake = FakeSwarm(cluster())
    result = run_twice(fake, declare({"node_id": "w2", "role": "worker", "availability": availability}))
    assert result["actions"] == actions
    assert fake.state["w2"]["Spec"]["Availability"] == expected


def test_drained_node_is_left_drained_when_availability_omitted() -> None:
    fake = FakeSwarm(cluster(w2={"availability": "drain"}))
    assert reconcile(fake, declare(("w2", "worker")))["actions"] == []


def test_promotion_with_labels_and_availability_is_one_update() -> None:
    fake = FakeSwarm(cluster())
    result = run_twice(fake, declare({"node_id": "w2", "role": "manager", "availability": "drain",
                                      "labels": {"tier": "control"}}))
    assert result["actions"] == [
        "promote lab-w2 (node id w2)",
        "set availability of lab-w2 (node id w2) to drain (was active)",
        "change labels of lab-w2 (node id w2): add tier=control",
    ]
    assert len(fake.updates) == 1
    assert fake.updates[0][2] == {"Labels": {"tier": "control"}, "Role": "manager", "Availability": "drain"}


def test_check_mode_writes_nothing_and_predicts() -> None:
    fake = FakeSwarm(cluster())
    declared = declare(("w1", "manager"), ("m3", "worker"), {"node_id": "w2", "role": "worker", "availability": "drain"})
    checked = reconcile(fake, declared, check_mode=True)
    assert fake.updates == []
    assert checked["changed"] is True
    assert checked["actions"] == [
        "set availability of lab-w2 (node id w2) to drain (was active)",
        "promote lab-w1 (node id w1)",
        "demote lab-m3 (node id m3)",
    ]
    assert {n["name"]: (n["role"], n["availability"]) for n in checked["nodes"]} == {
        "lab-w1": ("manager", "active"), "lab-m3": ("worker", "active"), "lab-w2": ("worker", "drain")}
    applied = reconcile(fake, declared)
    assert applied["actions"] == checked["actions"]
    assert applied["diff"] == checked["diff"]


def test_check_mode_still_refuses_unsafe_plans() -> None:
    fake = FakeSwarm(cluster(m2={"reachable": False}))
    with pytest.raises(SwarmNodesError, match="fewer than the 2 needed for quorum"):
        reconcile(fake, declare(("m3", "worker")), check_mode=True)


def test_diff_is_keyed_by_inventory_name() -> None:
    fake = FakeSwarm(cluster())
    result = reconcile(fake, declare({"node_id": "w1", "role": "manager", "labels": {"zone": "b"}}))
    assert result["diff"] == {
        "before": {"lab-w1": {"role": "worker", "availability": "active", "labels": {"zone": "a", "disk": "ssd"}}},
        "after": {"lab-w1": {"role": "manager", "availability": "active", "labels": {"zone": "b", "disk": "ssd"}}},
    }


def test_updates_use_a_fresh_version() -> None:
    fake = FakeSwarm(cluster(), stale_listing=True)
    run_twice(fake, declare(("w1", "manager"), ("m3", "worker")))
    assert [(u[0], u[1]) for u in fake.updates] == [("w1", 10), ("m3", 10)]


def test_an_update_the_swarm_raced_is_made_again_from_a_new_read() -> None:
    fake = FakeSwarm(cluster(), swarm_bumps=2)
    result = run_twice(fake, declare(*STEADY[:3], {"node_id": "w1", "role": "worker", "availability": "drain"}))
    assert result["actions"] == ["set availability of lab-w1 (node id w1) to drain (was active)"]
    assert fake.updates == [("w1", 12, {"Labels": {"zone": "a", "disk": "ssd"}, "Role": "worker",
                                        "Availability": "drain"})]


def test_an_update_refused_out_of_sequence_every_time_fails_naming_it() -> None:
    fake = FakeSwarm(cluster(), swarm_bumps=5)
    with pytest.raises(DockerApiError, match=r"update node w1.*update out of sequence"):
        reconcile(fake, declare({"node_id": "w1", "role": "worker", "availability": "drain"}))
    assert fake.updates == []


@pytest.mark.parametrize(
    ("fake", "match"),
    [
        (FakeSwarm(cluster(), local_id="w1", control=False), r"this host \(node id w1\) is a swarm worker"),
        (FakeSwarm(cluster(), local_id="", local_state="inactive"), "not part of a swarm"),
    ],
)
def test_refuses_to_run_off_a_manager(fake: FakeSwarm, match: str) -> None:
    with pytest.raises(SwarmNodesError, match=match):
        reconcile(fake, declare(("w1", "worker")))
    assert fake.updates == []


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([{"node_id": "a", "name": "x", "role": "worker"}, {"node_id": "a", "name": "y", "role": "worker"}],
         "y: node id a is declared twice"),
        ([{"node_id": "a", "name": "x", "role": "worker"}, {"node_id": "b", "name": "x", "role": "worker"}],
         "x is declared twice"),
        ([{"node_id": "a", "name": "x", "role": "boss"}], "x: role must be one of manager, worker"),
        ([{"node_id": "a", "name": "x", "role": "worker", "availability": "off"}], "x: availability must be one of"),
        ([{"node_id": "a", "name": "x", "role": "worker", "labels": ["a=b"]}], "x: labels must be a dict"),
        ([{"node_id": "a", "name": "x", "role": "worker", "labels": {"a": None}}], "x: label 'a' must be a string"),
        ([{"node_id": "", "name": "x", "role": "worker"}], "needs a node_id and a name"),
        ([{"node_id": "a", "role": "worker"}], "needs a node_id and a name"),
    ],
)
def test_declared_nodes_bad_input(entries: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(SwarmNodesError, match=match):
        declared_nodes(entries)


def test_declared_nodes_good_input() -> None:
    [node] = declared_nodes([{"node_id": " a ", "name": "x", "role": "worker", "labels": {"n": 1, "b": False}}])
    assert (node.node_id, node.name, node.role, node.availability, node.labels) == (
        "a", "x", "worker", None, {"n": "1", "b": "false"})
    assert node.describe() == "x (node id a)"


@pytest.mark.parametrize(
    ("managers", "expected"),
    [
        # The last manager: reconcile() never gets here (it refuses to demote the node it runs
        # on), so the guard is checked directly.
        ({"m1": True}, "no manager would remain"),
        ({"m1": True, "m2": False, "m3": True}, "2 managers would remain of which 1 are reachable"),
        ({"m1": True, "m2": True, "m3": True}, None),
    ],
)
def test_quorum_problem_guard(managers: dict[str, bool], expected: str | None) -> None:
    change = Change(DeclaredNode("m1", "node-m1", "worker"), make_node("m1", "manager"), exclusive=False)
    problem = _quorum_problem(managers, change)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


class FailingSwarm(FakeSwarm):
    """A swarm whose node listing fails, as when the daemon is no manager."""

    def nodes(self) -> list[dict[str, Any]]:
        raise APIError("503 Server Error", explanation="This node is not a swarm manager.")


def test_client_calls_docker_through_docker_api(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSwarm(cluster())
    patch_docker(monkeypatch, fake, "tcp://m1:2375", 5)
    result = reconcile(DockerSwarmClient(api_client("tcp://m1:2375", 5)), declare(("w1", "manager")))
    assert result["actions"] == ["promote lab-w1 (node id w1)"]
    assert [u[0] for u in fake.updates] == ["w1"]


def test_client_names_the_failed_call(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_docker(monkeypatch, FailingSwarm(cluster()), "tcp://m1:2375", 5)
    client = DockerSwarmClient(api_client("tcp://m1:2375", 5))
    with pytest.raises(DockerApiError, match=r"^Docker API call failed \(list nodes\) at tcp://m1:2375: 503 Server Error "
                                             r"\(\"This node is not a swarm manager\.\"\)$"):
        reconcile(client, declare(("w1", "worker")))


def reimaged(old: str, role: str = "worker") -> list[dict[str, Any]]:
    """The cluster after host-<old> was re-imaged and joined again as <old>b: its old entry is down."""
    nodes = cluster(**{old: {"state": "down", "reachable": False}})
    new = make_node(f"{old}b", role)
    new["Description"]["Hostname"] = f"host-{old}"
    return [*nodes, new]


@pytest.mark.parametrize(("old", "role", "expected"), [
    ("w2", "worker", ["remove stale entry w2 of host-w2 (down; lab-w2b is node w2b now)"]),
    ("m3", "manager", ["demote stale entry m3 of host-m3",
                       "remove stale entry m3 of host-m3 (down; lab-m3b is node m3b now)"]),
])
def test_the_old_entry_of_a_reimaged_host_is_removed(old: str, role: str, expected: list[str]) -> None:
    fake = FakeSwarm(reimaged(old, role))
    steady = [s for s in STEADY if s[0] != old] + [(f"{old}b", role)]
    result = run_twice(fake, declare(*steady))
    assert result["actions"] == expected
    assert fake.removed == [old]
    assert old not in fake.state and f"{old}b" in fake.state
    # The other down entry (w3: no declared node has its hostname) is reported, not removed.
    assert result["unmanaged_nodes"] == [{"node_id": "w3", "hostname": "host-w3", "role": "worker", "state": "down"}]


def test_an_old_entry_still_unknown_after_an_election_goes_by_force() -> None:
    nodes = reimaged("w2")
    next(n for n in nodes if n["ID"] == "w2")["Status"]["State"] = "unknown"
    fake = FakeSwarm(nodes)
    result = run_twice(fake, declare(*[s for s in STEADY if s[0] != "w2"], ("w2b", "worker")))
    assert result["actions"] == ["remove stale entry w2 of host-w2 (unknown; lab-w2b is node w2b now)"]
    assert fake.removed == ["w2 force"]


def test_a_managers_old_entry_a_new_cluster_left_out_of_the_raft_goes_by_force_without_a_demotion() -> None:
    # After force-new-cluster (restore.yml, recover.yml) the other managers' entries keep Role manager but no
    # ManagerStatus: Docker refuses their demotion (the fake does too) and removes them by force.
    nodes = reimaged("m3", "manager")
    next(n for n in nodes if n["ID"] == "m3").pop("ManagerStatus")
    fake = FakeSwarm(nodes)
    steady = [s for s in STEADY if s[0] != "m3"] + [("m3b", "manager")]
    result = run_twice(fake, declare(*steady))
    assert result["actions"] == ["remove stale entry m3 of host-m3 (down; lab-m3b is node m3b now)"]
    assert fake.removed == ["m3 force"] and fake.updates == []


def test_a_stale_entry_is_only_reported_in_check_mode() -> None:
    fake = FakeSwarm(reimaged("m3", "manager"))
    steady = [s for s in STEADY if s[0] != "m3"] + [("m3b", "manager")]
    result = reconcile(fake, declare(*steady), check_mode=True)
    assert result["changed"] is True
    assert result["actions"][-1] == "remove stale entry m3 of host-m3 (down; lab-m3b is node m3b now)"
    assert fake.updates == [] and fake.removed == []
    assert "m3" not in [n["node_id"] for n in result["unmanaged_nodes"]]


@pytest.mark.parametrize("case", ["successor down", "successor undeclared", "hostname shared", "old entry ready"])
def test_entries_that_are_not_stale_stay(case: str) -> None:
    nodes = reimaged("w2")
    by_id = {n["ID"]: n for n in nodes}
    declared = [s for s in STEADY if s[0] != "w2"] + [("w2b", "worker")]
    if case == "successor down":
        by_id["w2b"]["Status"]["State"] = "down"
    elif case == "successor undeclared":
        declared = [s for s in declared if s[0] != "w2b"]
    elif case == "hostname shared":
        by_id["w1"]["Description"]["Hostname"] = "host-w2"
    else:
        by_id["w2"]["Status"]["State"] = "ready"
    fake = FakeSwarm(nodes)
    result = reconcile(fake, declare(*declared))
    assert fake.removed == []
    assert "w2" in [n["node_id"] for n in result["unmanaged_nodes"]]


def test_a_stale_manager_that_stays_in_raft_stops_the_run_naming_it() -> None:
    fake = FakeSwarm(reimaged("m3", "manager"), sticky_managers=True)
    clock = iter(range(0, 1000, 5))
    steady = [s for s in STEADY if s[0] != "m3"] + [("m3b", "manager")]
    with pytest.raises(SwarmNodesError) as exc:
        reconcile(fake, declare(*steady), timeout=20, sleep=lambda _: None, clock=lambda: next(clock))
    assert "the demoted stale entry is still a manager after 20 s: m3 of host-m3 (done so far: nothing)" in exc.value.msg
    assert fake.removed == []
