# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import SwarmNodesError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_rotate import RotateError, fingerprint, lagging, rotate

SPEC: dict[str, Any] = {
    "Name": "default", "Labels": {}, "Orchestration": {"TaskHistoryRetentionLimit": 7},
    "CAConfig": {"NodeCertExpiry": 7776000000000000, "ForceRotate": 2}, "EncryptionConfig": {"AutoLockManagers": True},
}


class FakeSwarm:
    """The swarm object and its nodes. A root rotation takes ``rounds`` reads of the swarm: in progress meanwhile
    (the old root still named), then the new root named and the ready nodes' certificates re-issued; a node in
    ``stuck`` never gets one."""

    def __init__(self, rounds: int = 2, stuck: tuple[str, ...] = (), down: tuple[str, ...] = ()) -> None:
        self.swarm: dict[str, Any] = {
            "Version": {"Index": 40}, "Spec": copy.deepcopy(SPEC), "TLSInfo": {"TrustRoot": "OLD"},
            "RootRotationInProgress": False, "JoinTokens": {"Worker": "SWMTKN-w", "Manager": "SWMTKN-m"},
        }
        self.node_list: list[dict[str, Any]] = [
            {"ID": i, "Description": {"Hostname": f"host-{i}", "TLSInfo": {"TrustRoot": "OLD"}},
             "Status": {"State": "down" if i in down else "ready"}}
            for i in ("m1", "w1", "w2")
        ]
        self.rounds, self.stuck, self.pending = rounds, stuck, 0
        self.updates: list[tuple[dict[str, Any], bool, bool]] = []

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"NodeID": "m1", "LocalNodeState": "active", "ControlAvailable": True}}

    def nodes(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.node_list)

    def inspect_swarm(self) -> dict[str, Any]:
        if self.pending:
            self.pending -= 1
            if not self.pending:
                self.swarm.update(RootRotationInProgress=False, TLSInfo={"TrustRoot": "NEW"})
                for n in self.node_list:
                    if n["Status"]["State"] == "ready" and n["ID"] not in self.stuck:
                        n["Description"]["TLSInfo"]["TrustRoot"] = "NEW"
        return copy.deepcopy(self.swarm)

    def update_swarm(self, version: int, spec: dict[str, Any], rotate_worker_token: bool, rotate_manager_token: bool) -> None:
        assert version == self.swarm["Version"]["Index"]
        self.updates.append((copy.deepcopy(spec), rotate_worker_token, rotate_manager_token))
        if spec["CAConfig"]["ForceRotate"] != self.swarm["Spec"]["CAConfig"]["ForceRotate"]:
            self.swarm["RootRotationInProgress"] = True
            self.pending = self.rounds
        self.swarm["Spec"] = copy.deepcopy(spec)


def no_sleep(seconds: float) -> None:
    del seconds


def test_tokens_rotate_with_the_rest_of_the_spec_kept() -> None:
    fake = FakeSwarm()
    result = rotate(fake, tokens=True, ca=False, sleep=no_sleep)
    assert result["actions"] == ["rotate the worker join token", "rotate the manager join token"]
    assert fake.updates == [(SPEC, True, True)]
    assert result["root_before"] == result["root_after"] == fingerprint("OLD")
    assert "SWMTKN" not in repr(result)


def test_the_root_ca_rotates_and_the_wait_ends_when_every_ready_node_holds_the_new_one() -> None:
    fake = FakeSwarm(rounds=3, down=("w2",))
    result = rotate(fake, tokens=False, ca=True, sleep=no_sleep)
    spec, worker, manager = fake.updates[0]
    assert (worker, manager) == (False, False)
    assert spec == {**SPEC, "CAConfig": {**SPEC["CAConfig"], "ForceRotate": 3}}
    assert result["actions"] == ["rotate the root CA (ForceRotate 2 -> 3)"]
    assert result["root_after"] == fingerprint("NEW") != result["root_before"]
    assert fake.pending == 0


def test_a_node_that_never_gets_its_certificate_is_named() -> None:
    fake = FakeSwarm(rounds=1, stuck=("w1",))
    clock = iter(range(0, 1000, 10))
    with pytest.raises(RotateError) as exc:
        rotate(fake, tokens=True, ca=True, timeout=30, sleep=no_sleep, clock=lambda: next(clock))
    assert exc.value.msg.startswith("after 30 s these hold no certificate from the new root CA yet: host-w1 (node id w1)")
    assert exc.value.actions[-1] == "rotate the root CA (ForceRotate 2 -> 3)"


def test_check_mode_and_nothing_asked_change_nothing() -> None:
    fake = FakeSwarm()
    assert rotate(fake, tokens=True, ca=True, check_mode=True)["changed"] is True
    assert rotate(fake, tokens=False, ca=False)["changed"] is False
    assert fake.updates == []


def test_a_worker_is_refused() -> None:
    fake = FakeSwarm()
    fake.info = lambda: {"Swarm": {"NodeID": "w1", "LocalNodeState": "active", "ControlAvailable": False}}  # type: ignore[method-assign]
    with pytest.raises(SwarmNodesError):
        rotate(fake, tokens=True, ca=False)


@pytest.mark.parametrize(("progress", "roots", "expected"), [
    (False, {"m1": "NEW", "w1": "NEW"}, []),
    (True, {"m1": "NEW", "w1": "NEW"}, ["the swarm (root rotation in progress)"]),
    (False, {"m1": "NEW", "w1": "OLD"}, ["host-w1 (node id w1)"]),
])
def test_lagging(progress: bool, roots: dict[str, str], expected: list[str]) -> None:
    nodes = [{"ID": i, "Description": {"Hostname": f"host-{i}", "TLSInfo": {"TrustRoot": r}}, "Status": {"State": "ready"}}
             for i, r in roots.items()]
    assert lagging({"TLSInfo": {"TrustRoot": "NEW"}, "RootRotationInProgress": progress}, nodes) == expected
