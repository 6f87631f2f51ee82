# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.firewall import FilterModule, firewall_rules, firewall_ssh_lockout

ANY = ["0.0.0.0/0", "::/0"]
MEMBERS = ["172.28.20.11", "172.28.20.21", "2001:db8::21"]


def config(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ssh_port": 22,
        "ssh_sources": ANY,
        "edge": False,
        "public_ports": [80, 443],
        "public_sources": ANY,
        "manager": False,
        "swarm_port": 2377,
        "data_path_port": 4789,
        "members": MEMBERS,
        "esp": False,
        "published_sources": [],
        "extra_rules": [],
    }
    base.update(over)
    return base


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in result["input"]}


def test_filter_module_exports() -> None:
    assert sorted(FilterModule().filters()) == ["firewall_rules", "firewall_ssh_lockout"]


def test_worker_rules() -> None:
    rules = by_name(firewall_rules(config()))
    assert list(rules) == ["ssh", "swarm gossip", "swarm gossip and data path"]
    assert rules["ssh"] == {"name": "ssh", "proto": "tcp", "ports": [22], "v4": None, "v6": None}
    assert rules["swarm gossip"]["v4"] == ["172.28.20.11", "172.28.20.21"]
    assert rules["swarm gossip"]["v6"] == ["2001:db8::21"]
    assert rules["swarm gossip and data path"]["ports"] == [4789, 7946]
    assert rules["swarm gossip and data path"]["proto"] == "udp"


def test_manager_edge_with_esp_and_custom_ports() -> None:
    rules = by_name(firewall_rules(config(manager=True, edge=True, esp=True, swarm_port=2400, data_path_port=4790)))
    assert rules["swarm control"]["ports"] == [2400]
    assert rules["public"]["ports"] == [80, 443]
    assert rules["swarm gossip and data path"]["ports"] == [4790, 7946]
    assert rules["encrypted overlay (ESP)"]["proto"] == "esp"
    assert rules["encrypted overlay (ESP)"]["v4"] == ["172.28.20.11", "172.28.20.21"]


@pytest.mark.parametrize(
    ("sources", "v4", "v6"),
    [
        (["192.0.2.7"], ["192.0.2.7"], []),
        (["192.0.2.0/24", "192.0.2.7"], ["192.0.2.0/24"], []),  # nftables refuses overlapping set elements
        (["192.0.2.9/24"], ["192.0.2.0/24"], []),  # host bits are allowed in sources
        (["[2001:db8::1]"], [], ["2001:db8::1"]),
        (["0.0.0.0/0"], None, []),
        (["10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32"], None, ["2001:db8::/32"]),
        ([], [], []),
    ],
)
def test_ssh_sources_by_family(sources: list[str], v4: Any, v6: Any) -> None:
    rules = by_name(firewall_rules(config(ssh_sources=sources)))
    assert (rules["ssh"]["v4"], rules["ssh"]["v6"]) == (v4, v6)


def test_public_ports_only_on_edge_hosts() -> None:
    assert "public" not in by_name(firewall_rules(config(edge=False)))
    assert firewall_rules(config(edge=False))["published"]["public_ports"] == []
    assert firewall_rules(config(edge=True))["published"]["public_ports"] == [80, 443]


def test_published_policy() -> None:
    published = firewall_rules(config(edge=True, published_sources=["198.51.100.4"], public_sources=["203.0.113.0/24"]))["published"]
    assert published["members"] == {"v4": ["172.28.20.11", "172.28.20.21"], "v6": ["2001:db8::21"]}
    assert published["extra"] == {"v4": ["198.51.100.4"], "v6": []}
    assert published["public"] == {"v4": ["203.0.113.0/24"], "v6": []}


def test_extra_rules() -> None:
    extra = [{"name": "node exporter", "port": 9100, "proto": "tcp", "sources": ["192.0.2.50"]}]
    rules = by_name(firewall_rules(config(extra_rules=extra)))
    assert rules["node exporter"] == {"name": "node exporter", "proto": "tcp", "ports": [9100], "v4": ["192.0.2.50"], "v6": []}


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"ssh_sources": ["campus"]}, "firewall_ssh_sources: 'campus' is not an address"),
        ({"ssh_sources": "0.0.0.0/0"}, "firewall_ssh_sources must be a list"),
        ({"ssh_port": 0}, "firewall_ssh_port must be a port number"),
        ({"ssh_port": True}, "firewall_ssh_port must be a port number"),
        ({"data_path_port": 70000}, "swarm_data_path_port must be a port number"),
        ({"public_sources": ["300.1.1.1"]}, "firewall_public_sources: '300.1.1.1'"),
        ({"members": []}, "cluster member addresses: the list is empty"),
        ({"public_ports": ["http"]}, "firewall_public_ports must be a port number"),
        ({"extra_rules": [{"port": 53, "proto": "icmp", "sources": []}]}, "firewall_extra_rules extra 0: proto must be tcp or udp"),
        ({"extra_rules": [{"name": "dns", "port": 53}]}, "firewall_extra_rules dns: sources is missing"),
        ({"extra_rules": {"port": 53}}, "firewall_extra_rules must be a list"),
    ],
)
def test_bad_input(over: dict[str, Any], match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"^firewall_rules: {match}"):
        firewall_rules(config(**over))


def test_missing_keys() -> None:
    with pytest.raises(AnsibleFilterError, match="lack members"):
        firewall_rules({k: v for k, v in config().items() if k != "members"})


@pytest.mark.parametrize(
    ("connection", "port", "sources", "expected"),
    [
        ("", 22, ["192.0.2.0/24"], ""),
        ("172.28.20.1 50022 172.28.20.11 22", 22, ANY, ""),
        ("172.28.20.1 50022 172.28.20.11 22", 22, ["172.28.20.1"], ""),
        ("::ffff:172.28.20.1 50022 172.28.20.11 22", 22, ["172.28.20.0/24"], ""),
        ("2001:db8::5 50022 2001:db8::11 22", 22, ["2001:db8::/64"], ""),
        (
            "172.28.20.1 50022 172.28.20.11 22",
            22,
            ["192.0.2.0/24"],
            "Ansible connects from 172.28.20.1, which firewall_ssh_sources (192.0.2.0/24) does not allow",
        ),
        ("172.28.20.1 50022 172.28.20.11 22", 22, [], "Ansible connects from 172.28.20.1, which firewall_ssh_sources (empty) does not allow"),
        ("172.28.20.1 50022 172.28.20.11 2222", 22, ANY, "Ansible reaches this host on SSH port 2222 but firewall_ssh_port is 22"),
    ],
)
def test_ssh_lockout(connection: str, port: int, sources: list[str], expected: str) -> None:
    assert firewall_ssh_lockout(connection, port, sources) == expected


@pytest.mark.parametrize("connection", ["172.28.20.1 50022", "campus 1 2 22"])
def test_ssh_lockout_bad_connection(connection: str) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^firewall_ssh_lockout: SSH_CONNECTION"):
        firewall_ssh_lockout(connection, 22, ANY)
