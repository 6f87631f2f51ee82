# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_networks import NetworksError, create_spec, make_plan, reconcile

INGRESS = {"Name": "ingress", "Driver": "overlay", "Ingress": True, "Attachable": False, "Internal": False, "Labels": {},
           "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4096"}, "IPAM": {"Config": [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}]}}
PROXY = {"Name": "proxy", "Driver": "overlay", "Attachable": False, "Internal": False, "Labels": {},
         "Options": {"com.docker.network.driver.mtu": "1450"}, "IPAM": {"Config": [{"Subnet": "10.201.1.0/24", "Gateway": "10.201.1.1"}]}}


class FakeNetworks:
    def __init__(self, existing: list[dict[str, Any]], services: list[dict[str, Any]] | None = None,
                 fail_on: str = "") -> None:
        self.existing = copy.deepcopy(existing)
        self._services = services or []
        self.fail_on = fail_on
        self.calls: list[tuple[str, str]] = []

    def overlays(self) -> list[dict[str, Any]]:
        listed = copy.deepcopy(self.existing)
        if self.removing:
            self.existing = [n for n in self.existing if n["Name"] != self.removing]
            self.removing = ""
        return listed

    def create(self, name: str, spec: dict[str, Any]) -> None:
        if name == self.fail_on:
            raise DockerApiError(f"Docker API call failed (create network {name}) at unix:///var/run/docker.sock: 409 Conflict")
        self.calls.append(("create", name))

    def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        # Swarm takes the network away in the background: still listed for one more read.
        self.removing = name

    removing = ""

    def services(self) -> list[dict[str, Any]]:
        return self._services


def test_create_spec() -> None:
    assert create_spec({"name": "amqp", "subnet": "10.201.2.0/24", "gateway": "10.201.2.1", "internal": True, "mtu": 1450,
                        "encrypted": True, "labels": {"tier": 1, "on": True}}) == {
        "driver": "overlay", "scope": "swarm", "options": {"encrypted": "", "com.docker.network.driver.mtu": "1450"},
        "ipam": {"Driver": "default", "Config": [{"Subnet": "10.201.2.0/24", "Gateway": "10.201.2.1"}], "Options": {}},
        "check_duplicate": True, "labels": {"tier": "1", "on": "true"}, "attachable": True, "internal": True}
    # 1500 is Docker's default: not written out.
    assert create_spec({"name": "x", "mtu": 1500})["options"] == {}
    assert create_spec({"name": "ingress", "mtu": 1450}, ingress=True)["ingress"] is True


def test_a_matching_swarm_changes_nothing() -> None:
    client = FakeNetworks([INGRESS, PROXY])
    result = reconcile(client, [{"name": "proxy", "subnet": "10.201.1.0/24", "attachable": False, "mtu": 1450}], None, False)
    assert result == {"changed": False, "actions": [], "networks": ["ingress", "proxy"],
                      "diff": {"before": ["ingress", "proxy"], "after": ["ingress", "proxy"]}}
    assert client.calls == []


def test_create_and_remove_in_one_call() -> None:
    client = FakeNetworks([INGRESS, PROXY, {**PROXY, "Name": "old"}])
    networks: list[Mapping[str, Any]] = [
        {"name": "proxy", "subnet": "10.201.1.0/24", "attachable": False, "mtu": 1450},
        {"name": "amqp", "internal": True, "mtu": 1450}, {"name": "old", "state": "absent"}, {"name": "never", "state": "absent"}]
    result = reconcile(client, networks, None, False)
    assert result["actions"] == ["create overlay network amqp", "remove overlay network old"]
    assert client.calls == [("create", "amqp"), ("remove", "old")]
    assert result["networks"] == ["amqp", "ingress", "proxy"]


def test_check_mode_says_and_does_nothing() -> None:
    client = FakeNetworks([INGRESS])
    result = reconcile(client, [{"name": "amqp"}], {"subnet": "10.201.0.0/24", "mtu": 1450, "encrypted": False}, True)
    assert result["changed"] and client.calls == []
    assert result["actions"][0].startswith("re-create the ingress network (")
    assert result["diff"]["after"] == ["amqp", "ingress"]


def test_an_immutable_difference_is_refused_before_anything_is_done() -> None:
    client = FakeNetworks([INGRESS, PROXY])
    refused = r"overlay network proxy exists with other settings than declared: subnet is 10\.201\.1\.0/24, wanted 10\.201\.9\.0/24"
    with pytest.raises(NetworksError, match=refused):
        reconcile(client, [{"name": "amqp"}, {"name": "proxy", "subnet": "10.201.9.0/24", "attachable": False, "mtu": 1450}], None, False)
    assert client.calls == []


def test_ingress_is_recreated_only_while_nothing_publishes_through_it() -> None:
    wanted = {"subnet": "10.201.0.0/24", "mtu": 1450, "encrypted": False}
    client = FakeNetworks([INGRESS])
    slept: list[float] = []
    result = reconcile(client, [], wanted, False, sleep=slept.append)
    assert client.calls == [("remove", "ingress"), ("create", "ingress")]
    assert slept == [0.5]  # it waited once for the old one to go
    assert "subnet is 10.0.0.0/24, wanted 10.201.0.0/24" in result["actions"][0]
    busy = FakeNetworks([INGRESS], services=[
        {"Spec": {"Name": "web"}, "Endpoint": {"Ports": [{"PublishMode": "ingress"}]}},
        {"Spec": {"Name": "nginx"}, "Endpoint": {"Ports": [{"PublishMode": "host"}]}}])
    with pytest.raises(NetworksError, match="can only be re-created while no service publishes a port in ingress mode, and web do"):
        reconcile(busy, [], wanted, False)
    assert busy.calls == []
    # As planned already: nothing.
    same = FakeNetworks([{**INGRESS, "Options": {"com.docker.network.driver.mtu": "1450"}, "IPAM": {"Config": [{"Subnet": "10.201.0.0/24"}]}}])
    assert reconcile(same, [], wanted, False)["changed"] is False


def test_a_failed_call_says_what_was_done() -> None:
    client = FakeNetworks([INGRESS], fail_on="b")
    with pytest.raises(NetworksError, match=r"409 Conflict \(done so far: create overlay network a\)") as caught:
        reconcile(client, [{"name": "a"}, {"name": "b"}], None, False)
    assert caught.value.actions == ["create overlay network a"]


def test_names_once() -> None:
    with pytest.raises(NetworksError, match="declared once"):
        make_plan([], [{"name": "a"}, {"name": "a"}], None)


def test_an_ingress_that_does_not_go_away() -> None:
    client = FakeNetworks([INGRESS])
    client.remove = lambda name: client.calls.append(("remove", name))  # type: ignore[method-assign]
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(NetworksError, match="the old ingress network was still there 5 s after its removal"):
        reconcile(client, [], {"subnet": "10.201.0.0/24", "mtu": 1450, "encrypted": False}, False, timeout=5, sleep=sleep, clock=lambda: now[0])
