# SPDX-License-Identifier: GPL-3.0-or-later
"""Inputs of the plan as the action plugin gives them: each host's role variables (the roles' own defaults,
typed, with the inventory's values on top) and what node_info read on its node."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

from ansible_collections.campus.swarm.plugins.plugin_utils._plan import HostInput

ROLES = Path(__file__).resolve().parents[4] / "roles"
MANAGERS = ["m1", "m2", "m3"]
WORKERS = ["w1", "w2"]
ADDRESS = {"m1": "172.28.10.11", "m2": "172.28.10.12", "m3": "172.28.10.13", "w1": "172.28.10.21", "w2": "172.28.10.22"}


def role_defaults() -> dict[str, Any]:
    """Every role's defaults/main.yml, the templated ones as they evaluate for this inventory."""
    values: dict[str, Any] = {}
    for role in ("docker", "firewall", "swarm", "networks", "images", "proxy", "certbot", "portainer", "stacks"):
        values.update(yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {})
    values.update(swarm_listen_addr="0.0.0.0:2377", certbot_host="m1", proxy_acme_host="m1", portainer_host="m1",
                  certbot_proxy="", certbot_no_proxy=[])
    return values


def node(host: str, manager: bool = False, state: str = "active", mtu: int = 1450, cluster: str = "c1",
         swarm_manager: bool | None = None) -> dict[str, Any]:
    """What node_info reads on a lab node that is a member of swarm ``cluster``."""
    address = ADDRESS[host]
    is_manager = manager if swarm_manager is None else swarm_manager
    docker: dict[str, Any] = {
        "ready": True, "error": "", "version": "20.10.24+dfsg1",
        "swarm": {"state": state, "node_id": f"id-{host}" if state != "inactive" else "", "manager": is_manager and state == "active",
                  "cluster_id": cluster if is_manager and state == "active" else "", "error": "", "remote_managers": []},
        "gwbridge": None, "images": [],
    }
    if is_manager and state == "active":
        docker["cluster"] = {"id": cluster, "data_path_port": 4789, "default_addr_pool": ["10.0.0.0/8"], "subnet_size": 24, "spec": {}}
        docker["nodes"] = [{"ID": f"id-{h}", "Spec": {"Role": "manager" if h in MANAGERS else "worker", "Availability": "active",
                                                      "Labels": {"campus.swarm.edge": "true" if h == "m1" else "false"}},
                            "Status": {"State": "ready"}, "Description": {"Hostname": h},
                            **({"ManagerStatus": {"Reachability": "reachable", "Leader": h == "m1"}} if h in MANAGERS else {})}
                           for h in MANAGERS + WORKERS]
        docker["networks"] = []
    return {
        "hostname": host, "architecture": "x86_64", "python": "3.11.2",
        "os": {"distribution": "Debian", "distribution_version": "12.8", "distribution_major_version": "12",
               "distribution_release": "bookworm"},
        "network": {"interfaces": {"eth0": {"mtu": mtu, "addresses": [address]}}, "ipv4": [address], "ipv6": [],
                    "routes": [{"dst": "default", "gateway": "172.28.10.1", "dev": "eth0"},
                               {"dst": "172.28.10.0/24", "dev": "eth0", "prefsrc": address, "protocol": "kernel", "scope": "link"}],
                    "default_ipv4": {"address": address, "interface": "eth0", "gateway": "172.28.10.1"}},
        "ssh_connection": f"172.28.10.1 40000 {address} 22",
        "packages": {"docker.io": "20.10.24+dfsg1-1+deb12u1+b6", "python3-docker": "5.0.3-1"}, "held": [],
        "units": {}, "files": {}, "nft_tables": {}, "docker": docker,
    }


GROUPS = {"all": MANAGERS + WORKERS, "swarm": MANAGERS + WORKERS, "swarm_managers": MANAGERS, "swarm_workers": WORKERS,
          "swarm_edge": ["m1"], "ungrouped": []}


@pytest.fixture
def defaults() -> dict[str, Any]:
    return role_defaults()


@pytest.fixture
def inventory(defaults: dict[str, Any]) -> dict[str, HostInput]:
    """A formed 3+2 swarm whose nodes match their (default) declarations."""
    return {h: HostInput(values=copy.deepcopy(defaults), node=node(h, manager=h in MANAGERS), names=[]) for h in MANAGERS + WORKERS}
