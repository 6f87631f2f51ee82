# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import re
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.firewall import FilterModule, firewall_rules, firewall_ssh_lockout, firewall_ufw_commands

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
    assert sorted(FilterModule().filters()) == ["firewall_rules", "firewall_ssh_lockout", "firewall_ufw_commands"]


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


# firewall_ufw_commands. The expected command strings were rendered by the Jinja that
# roles/firewall/tasks/ufw.yml used before this filter (tested on a ufw node).
TAG = "campus-swarm: "


def ours(name: str) -> str:
    """The comment field ufw writes for a rule of ours (hex-encoded)."""
    return "comment=" + (TAG + name).encode().hex()


SSH_RULE = {"name": "ssh", "proto": "tcp", "ports": [22], "v4": None, "v6": None}
SSH_V4 = f"v4 allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in {ours('ssh')}"
SSH_V6 = f"v6 allow tcp 22 ::/0 any ::/0 in {ours('ssh')}"
ADD_SSH_V4 = "ufw allow proto tcp from 0.0.0.0/0 to 0.0.0.0/0 port 22 comment 'campus-swarm: ssh'"
ADD_SSH_V6 = "ufw allow proto tcp from ::/0 to ::/0 port 22 comment 'campus-swarm: ssh'"
GOSSIP_RULE = {"name": "swarm gossip", "proto": "tcp", "ports": [7946], "v4": ["172.28.20.11", "172.28.20.21"], "v6": ["2001:db8::21"]}
ESP_RULE = {"name": "encrypted overlay (ESP)", "proto": "esp", "ports": [], "v4": ["172.28.20.11"], "v6": []}
ADD_ESP = "ufw allow proto esp from 172.28.20.11 to 0.0.0.0/0 comment 'campus-swarm: encrypted overlay (ESP)'"


def public(ports: list[int]) -> dict[str, Any]:
    return {"name": "public", "proto": "tcp", "ports": ports, "v4": ["192.0.2.0/24"], "v6": []}


@pytest.mark.parametrize(
    ("rules", "lines", "expected"),
    [
        pytest.param([SSH_RULE], [SSH_V4, SSH_V6], [], id="all-present"),
        pytest.param([], [], [], id="no-rules-no-lines"),
        pytest.param([SSH_RULE], [SSH_V4], [ADD_SSH_V6], id="missing-added"),
        pytest.param(
            [SSH_RULE, GOSSIP_RULE],
            [],
            [
                ADD_SSH_V4,
                ADD_SSH_V6,
                "ufw allow proto tcp from 172.28.20.11 to 0.0.0.0/0 port 7946 comment 'campus-swarm: swarm gossip'",
                "ufw allow proto tcp from 172.28.20.21 to 0.0.0.0/0 port 7946 comment 'campus-swarm: swarm gossip'",
                "ufw allow proto tcp from 2001:db8::21 to ::/0 port 7946 comment 'campus-swarm: swarm gossip'",
            ],
            id="nothing-yet",
        ),
        pytest.param(
            [SSH_RULE],
            [SSH_V4, SSH_V6, f"v4 allow tcp 8080 0.0.0.0/0 any 192.0.2.9 in {ours('old web')}"],
            ["ufw --force delete allow in proto tcp from 192.0.2.9 to 0.0.0.0/0 port 8080"],
            id="undeclared-tagged-deleted",
        ),
        pytest.param(
            [SSH_RULE],
            [
                SSH_V4,
                SSH_V6,
                f"v4 allow udp 53 0.0.0.0/0 any 192.0.2.0/24 in_eth0 {ours('dns')}",
                f"v6 allow any any ::/0 any 2001:db8::5 in {ours('all')}",
                f"v4 allow tcp 80 192.0.2.1 1024 0.0.0.0/0 in {ours('src port')}",
            ],
            [
                "ufw --force delete allow in on eth0 proto udp from 192.0.2.0/24 to 0.0.0.0/0 port 53",
                "ufw --force delete allow in from 2001:db8::5 to ::/0",
                "ufw --force delete allow in proto tcp from 0.0.0.0/0 port 1024 to 192.0.2.1 port 80",
            ],
            id="deletes-interface-any-proto-source-port",
        ),
        pytest.param(
            [],
            [f"v4 allow tcp 8080 0.0.0.0/0 any 192.0.2.9 in {ours('x')}"] * 2,
            ["ufw --force delete allow in proto tcp from 192.0.2.9 to 0.0.0.0/0 port 8080"],
            id="duplicate-line-deleted-once",
        ),
        pytest.param(
            [SSH_RULE],
            [
                SSH_V4,
                SSH_V6,
                "v4 allow tcp 8080 0.0.0.0/0 any 0.0.0.0/0 in",
                f"v4 allow tcp 9090 0.0.0.0/0 any 0.0.0.0/0 in comment={b'admin web'.hex()}",
                "v4 allow tcp 80,443 0.0.0.0/0 any 0.0.0.0/0 Nginx%20Full - in",
            ],
            [],
            id="admin-rules-left-alone",
        ),
        pytest.param(
            [SSH_RULE],
            [f"v4 allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in {ours('old ssh')}", SSH_V6],
            [ADD_SSH_V4],
            id="renamed-readded-not-deleted",
        ),
        pytest.param(
            [SSH_RULE],
            ["v4 allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in", f"v6 allow tcp 22 ::/0 any ::/0 in comment={b'mine'.hex()}"],
            [ADD_SSH_V4, ADD_SSH_V6],
            id="admin-rule-with-our-tuple-gets-our-comment",
        ),
        pytest.param(
            [public(list(range(8001, 8021)))],
            [],
            [
                "ufw allow proto tcp from 192.0.2.0/24 to 0.0.0.0/0 port 8001,8002,8003,8004,8005,8006,8007,8008,8009,8010,8011,8012,8013,8014,8015"
                " comment 'campus-swarm: public'",
                "ufw allow proto tcp from 192.0.2.0/24 to 0.0.0.0/0 port 8016,8017,8018,8019,8020 comment 'campus-swarm: public'",
            ],
            id="20-ports-split-15-and-5",
        ),
        pytest.param(
            [public(list(range(8001, 8016)))],
            [],
            [
                "ufw allow proto tcp from 192.0.2.0/24 to 0.0.0.0/0 port 8001,8002,8003,8004,8005,8006,8007,8008,8009,8010,8011,8012,8013,8014,8015"
                " comment 'campus-swarm: public'"
            ],
            id="15-ports-one-rule",
        ),
        pytest.param(
            [{"name": "v6 admin", "proto": "tcp", "ports": [22], "v4": [], "v6": ["2001:db8::/64"]}],
            [],
            ["ufw allow proto tcp from 2001:db8::/64 to ::/0 port 22 comment 'campus-swarm: v6 admin'"],
            id="ipv6-only-sources",
        ),
        pytest.param(
            [{"name": "web", "proto": "tcp", "ports": [443], "v4": None, "v6": []}],
            [],
            ["ufw allow proto tcp from 0.0.0.0/0 to 0.0.0.0/0 port 443 comment 'campus-swarm: web'"],
            id="none-anywhere-empty-family-none",
        ),
        pytest.param([ESP_RULE], [], [ADD_ESP], id="esp-added-without-port"),
        pytest.param(
            [],
            [f"v4 allow esp any 0.0.0.0/0 any 172.28.20.99 in {ours('encrypted overlay (ESP)')}"],
            ["ufw --force delete allow in proto esp from 172.28.20.99 to 0.0.0.0/0"],
            id="esp-deleted",
        ),
        pytest.param(
            [{"name": "bob's app", "proto": "udp", "ports": [5000, 5001], "v4": ["198.51.100.7"], "v6": []}],
            [],
            ["ufw allow proto udp from 198.51.100.7 to 0.0.0.0/0 port 5000,5001 comment 'campus-swarm: bob'\"'\"'s app'"],
            id="quote-in-name",
        ),
        pytest.param(
            [{"name": "café", "proto": "tcp", "ports": [8443], "v4": ["198.51.100.7"], "v6": []}],
            [],
            ["ufw allow proto tcp from 198.51.100.7 to 0.0.0.0/0 port 8443 comment 'campus-swarm: café'"],
            id="utf8-name",
        ),
        pytest.param(
            [SSH_RULE, GOSSIP_RULE, ESP_RULE],
            [SSH_V4, f"v4 allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in {ours('ssh')}"],
            [
                ADD_SSH_V6,
                "ufw allow proto tcp from 172.28.20.11 to 0.0.0.0/0 port 7946 comment 'campus-swarm: swarm gossip'",
                "ufw allow proto tcp from 172.28.20.21 to 0.0.0.0/0 port 7946 comment 'campus-swarm: swarm gossip'",
                "ufw allow proto tcp from 2001:db8::21 to ::/0 port 7946 comment 'campus-swarm: swarm gossip'",
                ADD_ESP,
                "ufw --force delete allow in proto tcp from 0.0.0.0/0 to 0.0.0.0/0 port 2222",
            ],
            id="adds-first-then-deletes",
        ),
    ],
)
def test_ufw_commands(rules: list[dict[str, Any]], lines: list[str], expected: list[str]) -> None:
    assert firewall_ufw_commands(rules, lines, TAG) == expected


def test_ufw_commands_from_firewall_rules() -> None:
    rules = firewall_rules(config(ssh_sources=["192.0.2.0/24"], esp=True))["input"]
    assert firewall_ufw_commands(rules, [], TAG) == [
        "ufw allow proto tcp from 192.0.2.0/24 to 0.0.0.0/0 port 22 comment 'campus-swarm: ssh'",
        "ufw allow proto tcp from 172.28.20.11 to 0.0.0.0/0 port 7946 comment 'campus-swarm: swarm gossip'",
        "ufw allow proto tcp from 172.28.20.21 to 0.0.0.0/0 port 7946 comment 'campus-swarm: swarm gossip'",
        "ufw allow proto tcp from 2001:db8::21 to ::/0 port 7946 comment 'campus-swarm: swarm gossip'",
        "ufw allow proto udp from 172.28.20.11 to 0.0.0.0/0 port 4789,7946 comment 'campus-swarm: swarm gossip and data path'",
        "ufw allow proto udp from 172.28.20.21 to 0.0.0.0/0 port 4789,7946 comment 'campus-swarm: swarm gossip and data path'",
        "ufw allow proto udp from 2001:db8::21 to ::/0 port 4789,7946 comment 'campus-swarm: swarm gossip and data path'",
        "ufw allow proto esp from 172.28.20.11 to 0.0.0.0/0 comment 'campus-swarm: encrypted overlay (ESP)'",
        "ufw allow proto esp from 172.28.20.21 to 0.0.0.0/0 comment 'campus-swarm: encrypted overlay (ESP)'",
        "ufw allow proto esp from 2001:db8::21 to ::/0 comment 'campus-swarm: encrypted overlay (ESP)'",
    ]


@pytest.mark.parametrize(
    ("rules", "lines", "tag", "match"),
    [
        pytest.param([SSH_RULE], ["policy=DROP"], TAG, "ufw tuple line 'policy=DROP' is not", id="state-line"),
        pytest.param([SSH_RULE], ["v4 allow tcp 22"], TAG, "ufw tuple line 'v4 allow tcp 22' is not", id="short-line"),
        pytest.param([SSH_RULE], [f"v4 allow tcp 22 {ours('ssh')}"], TAG, "is not 'v4|v6 action", id="short-line-with-comment"),
        pytest.param([SSH_RULE], ["allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"], TAG, "is not 'v4|v6 action", id="no-family"),
        pytest.param([SSH_RULE], [None], TAG, "ufw tuple line None is not", id="not-a-string"),
        pytest.param([SSH_RULE], "v4 allow", TAG, "tuple_lines must be a list", id="lines-a-string"),
        pytest.param(
            [],
            [f"v4 allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 Nginx%20Full - in {ours('web')}"],
            TAG,
            "carries our tag but is not a plain port rule",
            id="tagged-app-rule",
        ),
        pytest.param({"input": []}, [], TAG, "rules must be the list of rules", id="rules-a-dict"),
        pytest.param(
            [{"name": "ssh", "proto": "tcp", "ports": [22]}], [], TAG, "rule 0 must be a dict with name, proto, ports, v4 and v6", id="rule-lacks-family"
        ),
        pytest.param([{**SSH_RULE, "ports": 22}], [], TAG, "rule ssh: ports must be a list", id="ports-not-a-list"),
        pytest.param([{**SSH_RULE, "ports": [0]}], [], TAG, "rule ssh: ports must be a port number", id="port-zero"),
        pytest.param([{**SSH_RULE, "proto": ""}], [], TAG, "rule ssh: proto must be", id="empty-proto"),
        pytest.param([{**SSH_RULE, "v4": "0.0.0.0/0"}], [], TAG, "rule ssh: v4 must be a list of sources or None", id="sources-a-string"),
        pytest.param([SSH_RULE], [], "", "tag must be the non-empty comment prefix", id="empty-tag"),
        pytest.param([SSH_RULE], [], None, "tag must be the non-empty comment prefix", id="no-tag"),
    ],
)
def test_ufw_commands_bad_input(rules: Any, lines: Any, tag: Any, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"^firewall_ufw_commands: .*{re.escape(match)}"):
        firewall_ufw_commands(rules, lines, tag)
