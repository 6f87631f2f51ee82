# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' variables as the plan sees them: the collection's own defaults, vars and argument specs, templated for a host."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.campus.swarm.plugins.action.node_info import role_watch
from ansible_collections.campus.swarm.plugins.plugin_utils._role_vars import ROLES, HostView, RoleData, RoleVarError

GROUPS = {"all": ["m1", "w1"], "swarm": ["m1", "w1"], "swarm_managers": ["m1"], "swarm_workers": ["w1"], "swarm_edge": ["w1"]}


@pytest.fixture(scope="module")
def data() -> RoleData:
    return RoleData(DataLoader())


def view(data: RoleData, **variables: Any) -> HostView:
    loader = DataLoader()
    return HostView(Templar(loader), data, {"inventory_hostname": "m1", "groups": GROUPS, **variables}, {}, "m1")


def test_every_role_is_loaded_with_its_options(data: RoleData) -> None:
    assert data.roles == ROLES
    assert "swarm_advertise_addr" in data.options["swarm"] and "proxy_sites" in data.options["proxy"]
    assert all("campus_swarm_plan" not in options for options in data.options.values())
    assert data.role_of("certbot_email") == "certbot" and data.role_of("nonsense") == ""
    assert "swarm_port" in data.known_names


def test_defaults_are_templated_in_the_hosts_context(data: RoleData) -> None:
    v = view(data, swarm_port=2400)
    assert v.get("swarm_listen_addr") == "0.0.0.0:2400"
    assert v.get("certbot_host") == "w1"  # the first edge host
    assert v.get("proxy_acme_host") == "w1"
    assert v.get("portainer_host") == "m1"
    assert view(data, certbot_host="m1").get("proxy_acme_host") == "m1"
    assert v.get("nonsense", "absent") == "absent"


def test_a_value_that_cannot_be_evaluated_names_it_and_the_host(data: RoleData) -> None:
    with pytest.raises(RoleVarError, match="swarm_labels on host m1 cannot be evaluated"):
        # Inventory values are trusted templates, as Ansible loads them.
        view(data, swarm_labels=trust_as_template("{{ undefined_thing }}")).get("swarm_labels")


def test_the_watch_covers_every_file_the_docker_and_firewall_roles_write(data: RoleData) -> None:
    watch = role_watch(view(data))
    for path in ("/etc/docker/daemon.json", "/etc/docker/proxy.env", "/etc/systemd/system/docker.service.d/http-proxy.conf",
                 "/etc/apt/apt.conf.d/80campus-swarm-proxy", "/etc/apt/sources.list.d/docker.sources", "/etc/apt/keyrings/docker.asc",
                 "/etc/docker/certs.d/*/ca.crt", "/etc/campus-swarm/firewall.nft", "/etc/systemd/system/campus-swarm-firewall.service",
                 "/etc/campus-swarm/proxy/*", "/etc/campus-swarm/certbot/*"):
        assert path in watch["files"], path
    assert "/etc/campus-swarm/firewall.applied" in watch["contents"]
    assert {"docker.io", "python3-docker", "nftables", "ufw", "certbot", "python3-jsondiff"} <= set(watch["packages"])
    assert {"docker.service", "campus-swarm-firewall.service", "certbot.timer"} <= set(watch["units"])
    assert watch["nft_tables"] == ["campus_swarm"]
    assert watch["certificates"] == ["/etc/letsencrypt/live/*/cert.pem"]


def test_the_watch_follows_the_inventory(data: RoleData) -> None:
    watch = role_watch(view(data, proxy_config_dir="/srv/entrance", docker_sdk_packages=["python3-docker", "python3-requests"]))
    assert "/srv/entrance/tls/*/*.pem" in watch["files"]
    assert "python3-requests" in watch["packages"]
