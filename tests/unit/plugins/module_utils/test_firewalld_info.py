# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json

from ansible_collections.campus.swarm.plugins.module_utils._firewalld_info import docker_bridges, parse_zone, read

RUNTIME = """campus-swarm (active)
  target: DROP
  icmp-block-inversion: no
  interfaces: eth0 docker0
  sources:
  services:
  ports: 2377/tcp 22/tcp
  forward: yes
  rich rules:
\trule family="ipv6" source address="2001:db8::21" port port="7946" protocol="tcp" accept
\trule family="ipv4" source address="172.28.20.11" port port="7946" protocol="tcp" accept
"""


def test_parse_zone_leaves_out_bindings_and_sorts() -> None:
    assert parse_zone(RUNTIME) == {
        "target": "DROP", "icmp-block-inversion": "no", "services": "", "ports": "22/tcp 2377/tcp", "forward": "yes",
        "rich rules": 'rule family="ipv4" source address="172.28.20.11" port port="7946" protocol="tcp" accept\n'
                      'rule family="ipv6" source address="2001:db8::21" port port="7946" protocol="tcp" accept'}
    # A rule removed by hand from the runtime only: the two differ.
    assert parse_zone(RUNTIME) != parse_zone(RUNTIME.replace('\trule family="ipv6" source address="2001:db8::21" port port="7946" protocol="tcp" accept\n', ""))
    assert parse_zone("Error: INVALID_ZONE: campus-swarm") == {}


def test_docker_bridges() -> None:
    links = json.dumps([{"ifname": "docker0"}, {"ifname": "docker_gwbridge"}, {"ifname": "br-0123456789ab"}, {"ifname": "br-mgmt"}])
    assert docker_bridges(links) == ["br-0123456789ab", "docker0", "docker_gwbridge"]


def test_read_when_firewalld_runs_and_when_not() -> None:
    outputs = {
        ("systemctl", "is-active", "firewalld"): (0, "active\n"), ("systemctl", "is-enabled", "firewalld"): (0, "enabled\n"),
        ("firewall-cmd", "--get-default-zone"): (0, "campus-swarm\n"),
        ("firewall-cmd", "--zone=campus-swarm", "--list-all"): (0, RUNTIME),
        ("firewall-cmd", "--permanent", "--zone=campus-swarm", "--list-all"): (0, RUNTIME),
        ("firewall-cmd", "--zone=docker", "--list-interfaces"): (0, "docker0\n"),
        ("ip", "-j", "link", "show", "type", "bridge"): (0, json.dumps([{"ifname": "docker0"}])),
        ("systemctl", "is-active", "docker"): (0, "active\n"),
    }

    def run(argv: list[str]) -> tuple[int, str, str]:
        rc, out = outputs.get(tuple(argv), (1, ""))
        return rc, out, ""

    state = read(run, "campus-swarm")
    assert state["active"] and state["enabled"] and state["in_sync"] and state["default_zone"] == "campus-swarm"
    assert state["docker_bridges"] == ["docker0"] and state["docker_zone_interfaces"] == ["docker0"] and state["docker_active"]
    outputs[("systemctl", "is-active", "firewalld")] = (3, "inactive\n")
    stopped = read(run, "campus-swarm")
    assert not stopped["active"] and stopped["runtime"] == {} and stopped["default_zone"] == ""
