# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.proxy import FilterModule, swarm_no_proxy

HOSTVARS: dict[str, Any] = {
    "m1": {"ansible_host": "172.28.20.11", "ansible_facts": {"default_ipv4": {"address": "172.28.20.11"}}},
    "w1": {"ansible_host": "w1.campus.test", "swarm_advertise_addr": "10.5.0.21", "ansible_facts": {"default_ipv4": {"address": "172.28.20.21"}}},
    "w2": {"ansible_host": "[2001:db8::22]"},
}


def test_exports() -> None:
    assert list(FilterModule().filters()) == ["swarm_no_proxy"]


def test_no_proxy_lists_loopback_nodes_ranges_and_extras_once() -> None:
    assert swarm_no_proxy(["m1", "w1", "w2"], HOSTVARS, ["10.201.0.0/16", "172.80.0.0/16"], [".campus.test", "10.201.0.0/16"]) == [
        "localhost",
        "127.0.0.1",
        "::1",
        "m1",
        "172.28.20.11",
        "w1",
        "w1.campus.test",
        "10.5.0.21",
        "w2",
        "2001:db8::22",
        "10.201.0.0/16",
        "172.80.0.0/16",
        ".campus.test",
    ]


def test_no_proxy_does_not_change_when_the_groups_reorder_the_hosts() -> None:
    # A manager and a worker swapped in the inventory: the same list, so no engine restarts.
    assert swarm_no_proxy(["w2", "m1", "w1"], HOSTVARS) == swarm_no_proxy(["m1", "w1", "w2"], HOSTVARS)


def test_no_proxy_without_ranges() -> None:
    assert swarm_no_proxy(["m1"], HOSTVARS) == ["localhost", "127.0.0.1", "::1", "m1", "172.28.20.11"]


@pytest.mark.parametrize(
    ("hosts", "ranges", "extra", "label"),
    [("m1", [], [], "hosts"), (["m1"], "10.0.0.0/8", [], "ranges"), (["m1"], [], {"a": 1}, "extra")],
)
def test_no_proxy_bad_input(hosts: Any, ranges: Any, extra: Any, label: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"^swarm_no_proxy: {label} must be a list"):
        swarm_no_proxy(hosts, HOSTVARS, ranges, extra)
