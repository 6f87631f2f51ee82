# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.plugin_utils._plan import (
    Controller,
    HostInput,
    engine_version,
    gwbridge_plan,
    make_plan,
    reconcile_needed,
    swarm_state,
    without_hosts,
)
from ansible_collections.campus.swarm.plugins.plugin_utils._plan_problems import Problems

from .conftest import GROUPS, MANAGERS, WORKERS, node

RUN = MANAGERS + WORKERS


def plan_of(inventory: dict[str, HostInput], groups: dict[str, list[str]] | None = None, run: list[str] | None = None,
            controller: Controller | None = None) -> tuple[dict[str, Any], list[str]]:
    plan, problems = make_plan(inventory, groups or GROUPS, run or RUN, controller)
    return plan, problems.render(run or RUN)


def problems_of(inventory: dict[str, HostInput], groups: dict[str, list[str]] | None = None,
                controller: Controller | None = None) -> list[str]:
    return plan_of(inventory, groups, controller=controller)[1]


def set_all(inventory: dict[str, HostInput], **values: Any) -> None:
    for host in inventory.values():
        host.values.update(copy.deepcopy(values))


def test_a_matching_swarm_has_no_problem_and_nothing_to_do(inventory: dict[str, HostInput]) -> None:
    plan, problems = plan_of(inventory)
    assert problems == []
    swarm = plan["swarm"]
    assert swarm["leader"] == "m1"
    assert swarm["exists"] and swarm["all_active"] and swarm["complete"]
    assert swarm["joins"] == [] and swarm["unmanaged"] == []
    assert swarm["reconcile"] is False
    assert swarm["port_check"] is False
    assert plan["hosts"]["w1"]["advertise_addr"] == "172.28.10.21"
    assert plan["hosts"]["m1"]["node"] == {"name": "m1", "role": "manager", "labels": {"campus.swarm.edge": "true"}}
    assert plan["networks"]["underlay_mtu"] == 1450
    assert plan["networks"]["overlays"] == []
    assert plan["networks"]["ingress"] == {"subnet": "", "mtu": 1450, "encrypted": False}
    # The leader lists no ingress network in this fixture: it would be made.
    assert plan["networks"]["changes"] is True


def test_firewall_rules_name_every_member_and_keep_2377_on_managers(inventory: dict[str, HostInput]) -> None:
    plan, problems = plan_of(inventory)
    assert problems == []
    rules = {r["name"]: r for r in plan["hosts"]["w1"]["firewall"]["rules"]["input"]}
    assert "swarm control" not in rules
    assert rules["swarm gossip"]["v4"] == sorted(["172.28.10.11", "172.28.10.12", "172.28.10.13", "172.28.10.21", "172.28.10.22"])
    manager_rules = {r["name"] for r in plan["hosts"]["m2"]["firewall"]["rules"]["input"]}
    assert "swarm control" in manager_rules


def test_hosts_being_removed_are_planned_as_out_of_the_inventory(inventory: dict[str, HostInput]) -> None:
    groups = without_hosts(GROUPS, ["w2", "m3"])
    plan, problems = plan_of({h: i for h, i in inventory.items() if h in groups["swarm"]}, groups,
                             [h for h in RUN if h not in ("w2", "m3")])
    rules = {r["name"]: r for r in plan["hosts"]["w1"]["firewall"]["rules"]["input"]}
    assert rules["swarm gossip"]["v4"] == sorted(["172.28.10.11", "172.28.10.12", "172.28.10.21"])
    assert "w2" not in plan["hosts"] and "m3" not in plan["groups"]["managers"]
    # Two managers stay: refused here, before remove_node.yml changes anything.
    assert any(p.startswith("swarm_managers: 2 managers tolerate 0 failures") for p in problems), problems


def test_a_worker_the_swarm_still_lists_as_manager_keeps_2377(inventory: dict[str, HostInput]) -> None:
    # The inventory made w1 a worker, but it manages the swarm until the swarm role demotes it.
    inventory["w1"].node = node("w1", manager=False, swarm_manager=True)
    plan = plan_of(inventory)[0]
    assert "swarm control" in {r["name"] for r in plan["hosts"]["w1"]["firewall"]["rules"]["input"]}


def test_every_overlay_the_run_needs_is_listed_once_with_the_underlay_mtu(inventory: dict[str, HostInput]) -> None:
    set_all(inventory,
            networks_overlays=[{"name": "proxy", "subnet": "10.201.1.0/24"}, {"name": "rabbitmq", "mtu": 1400}],
            proxy_sites=[{"names": ["app.campus.test"], "upstream": "demo_web:8080"}],
            portainer_admin_password="long enough secret",
            stacks_deploy=[{"name": "demo", "compose": {"services": {"web": {"image": "x"}}}, "networks": [{"name": "amqp", "internal": True}]}])
    plan, problems = plan_of(inventory)
    assert problems == []
    overlays = {n["name"]: n for n in plan["networks"]["overlays"]}
    assert list(overlays) == ["proxy", "rabbitmq", "portainer_agent", "demo_amqp"]
    assert overlays["proxy"] == {"name": "proxy", "subnet": "10.201.1.0/24", "mtu": 1450}  # declared: used as it is
    assert overlays["rabbitmq"]["mtu"] == 1400
    assert overlays["portainer_agent"] == {"name": "portainer_agent", "attachable": False, "mtu": 1450}
    assert overlays["demo_amqp"] == {"name": "demo_amqp", "internal": True, "mtu": 1450}
    assert plan["networks"]["owners"]["demo_amqp"] == "stacks"


def test_images_per_host_are_the_union_of_every_role(inventory: dict[str, HostInput]) -> None:
    set_all(inventory,
            images_list=[{"name": "campus-probe:1"}, {"name": "tool:2", "hosts": ["w2"]}],
            proxy_sites=[{"names": ["app.campus.test"], "upstream": "demo_web:8080"}], proxy_image="campus-nginx:1",
            proxy_image_source="archive", portainer_admin_password="long enough secret",
            stacks_deploy=[{"name": "demo", "compose": {"services": {"web": {"image": "web:1"}}}, "images": [{"name": "web:1"}]}])
    plan, problems = plan_of(inventory)
    assert problems == []
    names = {h: [i["name"] for i in plan["hosts"][h]["images"]] for h in RUN}
    assert names["m1"] == ["campus-probe:1", "web:1", "campus-nginx:1", "portainer/agent:2.45.1", "portainer/portainer-ce:2.45.1"]
    assert names["w2"] == ["campus-probe:1", "tool:2", "web:1", "portainer/agent:2.45.1"]
    assert plan["images"]["archive"] == ["campus-nginx:1", "campus-probe:1", "tool:2", "web:1"]


def test_all_problems_at_once_each_naming_variable_hosts_and_fix(inventory: dict[str, HostInput]) -> None:
    set_all(inventory, swarm_data_path_port=99)
    inventory["w1"].values["docker_log_max_size"] = "10 megabytes"
    inventory["w2"].values["swarm_advertise_addr"] = "192.0.2.77"
    inventory["m2"].values["certbot_email"] = "admin-at-campus"
    problems = problems_of(inventory)
    joined = "\n".join(problems)
    assert "swarm_data_path_port (every host): 99 is outside 1024-49151" in joined
    assert "docker_log_max_size (host w1): '10 megabytes' is not a size Docker reads" in joined
    assert "swarm_advertise_addr (host w2): 192.0.2.77 is not an address of the host (it has 172.28.10.22)" in joined
    assert "certbot_email (host m2): 'admin-at-campus' is not an e-mail address" in joined
    assert all(". Fix: " in line for line in problems if "every host" in line or "(host " in line)
    # Once, not once per host.
    assert sum("is outside 1024-49151" in line for line in problems) == 1


def test_a_fine_data_path_port_is_not_mentioned_with_a_pool_problem(inventory: dict[str, HostInput]) -> None:
    set_all(inventory, swarm_subnet_size=31)
    problems = problems_of(inventory)
    assert any(line.startswith("swarm_subnet_size: 31 must be between swarm_default_addr_pool 10.0.0.0/8") for line in problems), problems
    assert not any("data_path_port" in line or "data-path" in line for line in problems)


def test_a_setting_of_the_whole_swarm_set_differently_per_host(inventory: dict[str, HostInput]) -> None:
    inventory["w2"].values["swarm_port"] = 2400
    inventory["w2"].values["swarm_listen_addr"] = "0.0.0.0:2400"
    inventory["w1"].values["portainer_admin_password"] = "another long secret"
    problems = problems_of(inventory)
    port = [line for line in problems if line.startswith("swarm_port:")]
    assert port == ["swarm_port: describes the whole swarm but differs between hosts (m1, m2, m3, w1: 2377; w2: 2400). "
                    "Fix: set it once for group swarm (group_vars/swarm.yml), not per host."]
    password = next(line for line in problems if line.startswith("portainer_admin_password"))
    assert "another long secret" not in password and "(not shown)" in password


def test_an_edge_host_that_is_drained_serves_nothing(inventory: dict[str, HostInput]) -> None:
    set_all(inventory, proxy_sites=[{"names": ["app.campus.test"], "upstream": "web:80"}])
    inventory["m1"].values["swarm_availability"] = "drain"
    problems = problems_of(inventory)
    assert any(line.startswith("swarm_availability (host m1): is drain on an edge host") for line in problems), problems


def test_listen_port_must_be_the_join_port(inventory: dict[str, HostInput]) -> None:
    inventory["m2"].values["swarm_listen_addr"] = "0.0.0.0:2400"
    problems = problems_of(inventory)
    assert any(line.startswith("swarm_listen_addr (host m2): listens on port 2400 but nodes join through swarm_port 2377") for line in problems)


@pytest.mark.parametrize(("values", "expected"), [
    ({"networks_overlays": [{"name": "big", "mtu": 1500}]}, "network big: mtu 1500 is larger than the underlay MTU 1450"),
    ({"networks_overlays": [{"name": "tiny", "mtu": 100}]}, "network tiny: mtu 100 is outside 118-65535"),
    ({"networks_overlays": [{"name": "bridge"}]}, "network bridge is one Docker keeps for itself"),
    ({"networks_overlays": [{"name": "x", "subnet": "10.212.0.0/24", "gateway": "10.213.0.1"}]}, "x: gateway 10.213.0.1 lies outside subnet 10.212.0.0/24"),
    ({"networks_underlay_mtu": 9000}, "networks_underlay_mtu: 9000 is larger than 1450, the smallest MTU of the nodes' links"),
    ({"docker_daemon_options": {"hosts": ["tcp://0.0.0.0:2375"]}}, "'hosts' is already given to dockerd as a flag"),
    ({"docker_daemon_options": {"live-restore": True}}, "live-restore is true"),
    ({"docker_log_driver": "jsonfile"}, "'jsonfile' is not a logging driver Docker has"),
    ({"docker_mtu": 1500}, "docker_mtu (every host): 1500 is larger than the MTU 1450 of eth0"),
    ({"images_list": [{"name": "probe:1", "hosts": ["swarm_wokers"]}]}, "'swarm_wokers' (probe:1) is neither a group nor a host of the inventory"),
    ({"images_build_host": "buildbox"}, "'buildbox' is neither localhost nor a host of the inventory"),
    ({"certbot_staging": True, "certbot_acme_server": "https://acme.campus.test/dir"}, "certbot_staging (every host): only applies to Let's Encrypt's"),
    ({"proxy_resolver_valid": "soon"}, "proxy_resolver_valid (every host): 'soon' is not a time nginx reads"),
    ({"proxy_security_headers": {"X-Bad": 'a"b'}}, "holds a double quote"),
    ({"swarm_labels": {"campus.swarm.edge": "true"}}, "label campus.swarm.edge is set by the collection itself"),
    ({"firewall_ssh_sources": ["192.0.2.0/24"]}, "Ansible connects from 172.28.10.1, which firewall_ssh_sources (192.0.2.0/24) does not allow"),
    ({"swarm_reserved_ranges": [{"name": "campus core", "cidr": "10.0.0.0/9"}]}, "10.0.0.0/9"),
    ({"portainer_admin_password": "short"}, "portainer_admin_password (every host): is shorter than 12 characters"),
    ({"portainer_admin_password": "long enough secret", "portainer_agent_secret": 'a"b'}, "portainer_agent_secret (every host): is shorter than 16"),
    ({"firewall_public_ports": [80, 443, 2377]}, "firewall_public_ports (every host): 2377 is a swarm port"),
    ({"firewall_cluster_addresses": ["172.28.10.0/28"]}, "firewall_cluster_addresses: does not hold 172.28.10.21, the address of w1"),
    ({"networks_ingress_mtu": 1500}, "networks_ingress_mtu: 1500 is larger than the underlay MTU 1450"),
    ({"certbot_rfc2136_key_name": "not a name!"}, "'not a name!' is not a TSIG key name"),
    ({"proxy_mount_dir": "campus"}, "proxy_mount_dir (every host): 'campus' is not an absolute path"),
])
def test_values_a_role_would_take_but_that_cannot_work(inventory: dict[str, HostInput], values: dict[str, Any], expected: str) -> None:
    set_all(inventory, **values)
    problems = problems_of(inventory)
    assert any(expected in line for line in problems), problems


@pytest.mark.parametrize(("url", "refused"), [
    ("https://download.docker.com/linux", False),
    ("file:///srv/mirror/docker", False),
    ("ftp://mirror.campus.test/docker", True),
    ("download.docker.com/linux", True),
])
def test_the_official_repository_may_be_a_web_or_a_local_mirror(inventory: dict[str, HostInput], url: str, refused: bool) -> None:
    set_all(inventory, docker_official_repo_url=url)
    problems = problems_of(inventory)
    assert [line for line in problems if line.startswith("docker_official_repo_url")] == (
        [f"docker_official_repo_url (every host): {url!r} is not an http(s) or file:/// URL. Fix: give the repository's base URL, "
         "such as https://download.docker.com/linux."] if refused else [])


def test_a_stack_network_subnet_is_in_the_address_plan(inventory: dict[str, HostInput]) -> None:
    set_all(inventory, stacks_deploy=[{"name": "demo", "compose": {"services": {"web": {"image": "x"}}},
                                       "networks": [{"name": "amqp", "subnet": "172.28.10.0/26"}]}])
    problems = problems_of(inventory)
    assert any(line.startswith("address plan (every host): ") and "demo_amqp" in line and "172.28.10.0/26" in line for line in problems), problems


def test_networks_change_only_when_the_leader_lacks_one(inventory: dict[str, HostInput]) -> None:
    leader = inventory["m1"].node
    assert leader is not None
    leader["docker"]["networks"] = [{"Name": "ingress", "Driver": "overlay", "Ingress": True, "Attachable": False, "Labels": {},
                                     "Options": {"com.docker.network.driver.mtu": "1450"}, "IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}},
                                    {"Name": "rabbitmq", "Driver": "overlay", "Attachable": True, "Labels": {},
                                     "Options": {"com.docker.network.driver.mtu": "1450"}, "IPAM": {"Config": [{"Subnet": "10.0.1.0/24"}]}}]
    set_all(inventory, networks_overlays=[{"name": "rabbitmq"}])
    assert plan_of(inventory)[0]["networks"]["changes"] is False
    set_all(inventory, networks_overlays=[{"name": "rabbitmq"}, {"name": "amqp"}])
    assert plan_of(inventory)[0]["networks"]["changes"] is True


def test_an_immutable_change_to_an_existing_network(inventory: dict[str, HostInput]) -> None:
    leader = inventory["m1"].node
    assert leader is not None
    leader["docker"]["networks"] = [{"Name": "proxy", "Driver": "overlay", "Attachable": True, "Labels": {},
                                     "Options": {"com.docker.network.driver.mtu": "1450"},
                                     "IPAM": {"Config": [{"Subnet": "10.211.1.0/24"}]}}]
    set_all(inventory, networks_overlays=[{"name": "proxy", "subnet": "10.211.9.0/24"}])
    problems = problems_of(inventory)
    assert any("overlay network proxy exists with other settings than declared: subnet is 10.211.1.0/24, wanted 10.211.9.0/24" in line
               for line in problems), problems


def test_a_node_of_another_swarm_and_a_changed_init_setting(inventory: dict[str, HostInput]) -> None:
    stranger = inventory["w2"].node
    assert stranger is not None
    stranger["docker"]["swarm"]["node_id"] = "stranger"
    set_all(inventory, swarm_data_path_port=4790)
    problems = problems_of(inventory)
    assert any(line.startswith("swarm_managers (host w2): the host is an active member of a different swarm (node ID stranger") for line in problems)
    assert any(line.startswith("swarm_data_path_port: is 4790 in the inventory but the swarm was initialised with 4789") for line in problems)


def test_inventory_groups(inventory: dict[str, HostInput]) -> None:
    groups = dict(GROUPS, swarm_workers=["w1", "w2", "m3"], swarm_managers=["m1", "m2", "m3", "w1"])
    problems = problems_of(inventory, groups)
    assert any(line.startswith("swarm_workers: m3, w1 are also in swarm_managers") for line in problems)
    assert any("4 managers tolerate 1 failure, the same as 3, and need 3 for quorum" in line for line in problems)
    set_all(inventory, swarm_manager_count_policy="warn")
    plan, problems = plan_of(inventory, dict(GROUPS, swarm_managers=["m1", "m2"], swarm_workers=["m3", "w1", "w2"]))
    assert not any("managers tolerate" in line for line in problems)
    assert plan["warnings"] == ["2 managers tolerate 0 failures, the same as 1, and need 2 for quorum: use an odd number of managers"]


def test_certificates_and_edge_hosts(inventory: dict[str, HostInput]) -> None:
    groups = dict(GROUPS, swarm_edge=["w1", "w2"])
    set_all(inventory, proxy_sites=[{"names": ["app.campus.test", "www.campus.test"], "upstream": "web:80"}],
            certbot_host="w1", proxy_acme_host="w1")
    plan, problems = plan_of(inventory, groups)
    assert problems == []
    assert plan["certbot"]["host"] == "w1"
    assert plan["certbot"]["certificates"] == [{"name": "campus-swarm", "domains": ["app.campus.test", "www.campus.test"],
                                                "challenge": "http-01", "probe": "app.campus.test"}]
    assert plan["certbot"]["receivers"] == [{"host": "w2", "address": "172.28.10.22", "port": 22}]
    # certbot_host's address may reach SSH on the other edge host (the deploy hook's hand-over).
    ssh = next(r for r in plan["hosts"]["w2"]["firewall"]["rules"]["input"] if r["name"] == "ssh")
    assert ssh["v4"] is None  # 0.0.0.0/0 already covers it
    set_all(inventory, certbot_host="m2")
    problems = problems_of(inventory, groups)
    assert any(line.startswith("certbot_host: 'm2' is not in group swarm_edge") for line in problems)


def test_no_secret_reaches_the_plan(inventory: dict[str, HostInput]) -> None:
    secrets = ["portainer secret pw", "eab-hmac-key-value", "tsigsecret==", "http://user:pass@proxy:3128", "amqp secret data", "basic pw"]
    set_all(inventory, portainer_admin_password=secrets[0], certbot_eab_kid="kid", certbot_eab_hmac_key=secrets[1],
            certbot_rfc2136_key_secret=secrets[2], docker_proxy_http=secrets[3],
            stacks_deploy=[{"name": "demo", "compose": {"services": {"web": {"image": "x", "secrets": ["pw"]}}},
                            "secrets": [{"name": "pw", "data": secrets[4]}]}],
            proxy_sites=[{"names": ["app.campus.test"], "upstream": "web:80", "basic_auth": [{"user": "ops", "password": secrets[5]}]}])
    plan, problems = plan_of(inventory)
    assert problems == []
    text = json.dumps(plan)
    for secret in secrets:
        assert secret not in text


def test_outside_the_run_only_the_address_is_used(inventory: dict[str, HostInput]) -> None:
    inventory["w2"] = HostInput(values=dict(inventory["w2"].values, docker_log_max_size="nonsense"), node=None, in_run=False)
    plan, problems = plan_of(inventory, run=["m1", "m2", "m3", "w1"])
    assert any(line.startswith("swarm_advertise_addr (host w2): the host is outside this run") for line in problems)
    inventory["w2"].values["swarm_advertise_addr"] = "172.28.10.22"
    plan, problems = plan_of(inventory, run=["m1", "m2", "m3", "w1"])
    assert problems == []
    assert {k: v for k, v in plan["hosts"]["w2"].items() if k != "no_proxy"} == {
        "in_run": False, "role": "worker", "edge": False, "advertise_addr": "172.28.10.22", "listen_addr": "0.0.0.0:2377",
        "node": {"name": "w2", "role": "worker", "labels": {"campus.swarm.edge": "false"}}}
    assert "172.28.10.22" in next(r for r in plan["hosts"]["w1"]["firewall"]["rules"]["input"] if r["name"] == "swarm gossip")["v4"]


def test_stack_compose_problems_come_from_the_controller(inventory: dict[str, HostInput]) -> None:
    set_all(inventory, stacks_deploy=[{"name": "demo", "compose": "missing.yml"}, {"name": "shop", "compose": "shop.yml"}])
    controller = Controller(composes={"demo": "compose file missing.yml not found on the controller",
                                      "shop": {"services": {"web": {"image": "x", "secrets": ["nope"]}}}})
    problems = problems_of(inventory, controller=controller)
    assert "stacks_deploy: stack demo: compose file missing.yml not found on the controller." in problems
    assert any("service web uses secrets nope, declared neither" in line for line in problems)


def test_misspelt_variables_are_named_with_a_suggestion(inventory: dict[str, HostInput]) -> None:
    inventory["w1"].names = ["swarm_advertse_addr", "swarm_labels", "other_var"]
    controller = Controller(known_names=["swarm_advertise_addr", "swarm_labels"])
    problems = problems_of(inventory, controller=controller)
    assert problems == ["swarm_advertse_addr (host w1): is set but no campus.swarm role has this variable (did you mean swarm_advertise_addr?). "
                        "Fix: fix the name in the inventory (ansible-doc -t role campus.swarm.<role> lists each role's variables)."]


def test_swarm_state_on_fresh_hosts_and_half_joined_ones() -> None:
    fresh = {h: {"ready": False} for h in RUN}
    state = swarm_state(fresh, MANAGERS, WORKERS, {})
    assert state["leader"] == "m1" and not state["exists"] and not state["complete"]
    assert state["joins"] == ["m2", "m3", "w1", "w2"]
    reads = {h: node(h, manager=h in MANAGERS)["docker"] for h in RUN}
    reads["w2"]["swarm"]["state"] = "pending"
    reads["m1"]["nodes"].append({"ID": "id-gone", "Spec": {"Role": "worker"}, "Status": {"State": "down"}, "Description": {"Hostname": "old"}})
    problems = Problems()
    state = swarm_state(reads, MANAGERS, WORKERS, {"swarm_data_path_port": 4789, "swarm_default_addr_pool": ["10.0.0.0/8"],
                                                   "swarm_subnet_size": 24}, problems)
    assert not problems
    assert state["joins"] == ["w2"] and not state["all_active"]
    assert state["unmanaged"] == [{"node_id": "id-gone", "hostname": "old", "role": "worker", "state": "down"}]
    # The inventory's managers replaced: a host that manages the swarm now leads.
    reads = {h: node(h, manager=h == "w1", swarm_manager=h == "w1")["docker"] for h in RUN}
    assert swarm_state(reads, MANAGERS, WORKERS, {})["leader"] == "w1"


def test_managers_of_two_swarms() -> None:
    reads = {h: node(h, manager=h in MANAGERS, cluster="c2" if h == "m3" else "c1")["docker"] for h in RUN}
    problems = Problems()
    swarm_state(reads, MANAGERS, WORKERS, {}, problems)
    assert any("the managers belong to 2 different swarms (cluster c1: m1, m2; cluster c2: m3)" in line for line in problems.render(RUN))


def test_reconcile_needed_only_when_a_node_differs(inventory: dict[str, HostInput]) -> None:
    plan = plan_of(inventory)[0]
    decls = {h: plan["hosts"][h]["node"] for h in RUN}
    assert inventory["m1"].node is not None
    leader = inventory["m1"].node["docker"]
    assert reconcile_needed(plan["swarm"], leader, decls, False) is False
    assert reconcile_needed(plan["swarm"], leader, dict(decls, w1={**decls["w1"], "labels": {"zone": "a"}}), False) is True
    assert reconcile_needed(plan["swarm"], leader, dict(decls, w1={**decls["w1"], "role": "manager"}), False) is True


@pytest.mark.parametrize(("subnet", "mtu", "now", "busy", "expected"), [
    ("", 1500, None, False, {"managed": False, "create": False, "remove": False}),
    ("172.81.0.0/24", 1450, None, False, {"managed": True, "create": True, "remove": False}),
    ("172.81.0.0/24", 1450, "172.81.0.0/24", True, {"managed": True, "create": False, "remove": False}),
    ("172.81.0.0/24", 1450, "172.18.0.0/16", False, {"managed": True, "create": True, "remove": True}),
])
def test_gwbridge(subnet: str, mtu: int, now: str | None, busy: bool, expected: dict[str, bool]) -> None:
    bridge = {"IPAM": {"Config": [{"Subnet": now}]}, "Containers": ["ingress-sbox"] if busy else []} if now else None
    problems = Problems()
    result = gwbridge_plan({"networks_gwbridge_subnet": subnet}, {"docker": {"ready": True, "gwbridge": bridge}}, mtu, "w1", problems)
    assert {k: result[k] for k in expected} == expected
    assert not problems


def test_gwbridge_of_a_member_cannot_change() -> None:
    bridge = {"IPAM": {"Config": [{"Subnet": "172.18.0.0/16"}]}, "Containers": ["ingress-sbox"]}
    problems = Problems()
    gwbridge_plan({"networks_gwbridge_subnet": "172.81.0.0/24"}, {"docker": {"ready": True, "gwbridge": bridge}}, 1450, "w1", problems)
    assert problems.render(["w1"])[0].startswith("networks_gwbridge_subnet (host w1): docker_gwbridge has subnet 172.18.0.0/16")


@pytest.mark.parametrize(("packages", "expected"), [
    ({"docker.io": "20.10.24+dfsg1-1+deb12u1+b6"}, "20.10.24"),
    ({"docker-ce": "5:28.5.2-1~debian.12~bookworm"}, "28.5.2"),
    ({"docker.io": "26.1.5+dfsg1-9+b9"}, "26.1.5"),
    ({}, "0"),
])
def test_engine_version(packages: dict[str, str], expected: str) -> None:
    assert engine_version(packages) == expected


def test_no_proxy_from_the_inventory(inventory: dict[str, HostInput]) -> None:
    for host, h in inventory.items():
        h.ansible_host = f"{host}.campus.test"
    inventory["w1"].values["swarm_advertise_addr"] = "172.28.10.21"
    set_all(inventory, docker_proxy_no_proxy=[".campus.test"], docker_bip="172.79.0.1/24")
    plan = plan_of(inventory)[0]
    assert plan["hosts"]["m1"]["no_proxy"] == [
        "localhost", "127.0.0.1", "::1", "m1", "m1.campus.test", "m2", "m2.campus.test", "m3", "m3.campus.test",
        "w1", "w1.campus.test", "172.28.10.21", "w2", "w2.campus.test", "10.0.0.0/8", "172.79.0.1/24", ".campus.test"]
    set_all(inventory, docker_proxy_no_proxy_auto=False)
    assert plan_of(inventory)[0]["hosts"]["m1"]["no_proxy"] == [".campus.test"]


def test_portainer_host_is_labelled_through_the_node_declarations(inventory: dict[str, HostInput]) -> None:
    set_all(inventory, portainer_admin_password="long enough secret", portainer_host="m2")
    plan = plan_of(inventory)[0]
    assert plan["hosts"]["m2"]["node"]["labels"]["campus.swarm.portainer"] == "true"
    assert plan["hosts"]["w1"]["node"]["labels"]["campus.swarm.portainer"] == "false"
    assert plan["swarm"]["reconcile"] is True


def test_nothing_to_plan_says_why() -> None:
    plan, problems = make_plan({}, {"all": [], "ungrouped": []}, [])
    assert problems.render([]) == ["swarm_managers: the inventory group is missing or empty. Fix: put at least one host in it "
                                   "(an odd number, 3 for a production swarm); hosts of group swarm: none."]
    assert plan["run"] == []


def test_a_locked_manager_is_named_with_unlock_yml_and_autolock_is_read_from_the_swarm() -> None:
    reads = {h: node(h, manager=h in MANAGERS)["docker"] for h in RUN}
    reads["m1"]["cluster"]["spec"] = {"EncryptionConfig": {"AutoLockManagers": True}}
    reads["m3"]["swarm"].update(state="locked", manager=False, node_id="")
    problems = Problems()
    wanted = {"swarm_data_path_port": 4789, "swarm_default_addr_pool": ["10.0.0.0/8"], "swarm_subnet_size": 24}
    state = swarm_state(reads, MANAGERS, WORKERS, wanted, problems)
    assert state["autolock"] is True
    assert problems.render(RUN) == [
        "swarm_unlock_key_file (host m3): the manager is locked: its engine restarted and the swarm is autolocked, so it "
        "takes no part in the swarm until it is given the unlock key. Fix: run playbooks/unlock.yml with the same inventory "
        "(it reads the key from swarm_unlock_key_file), then re-run."]
    assert swarm_state({h: node(h, manager=h in MANAGERS)["docker"] for h in RUN}, MANAGERS, WORKERS, {})["autolock"] is False


def test_a_swarm_without_a_leader_is_refused_naming_recover_yml_and_the_managers_that_do_not_answer() -> None:
    reads = {h: node(h, manager=h in MANAGERS)["docker"] for h in RUN}
    # What Docker 20.10 reports on the one manager left of three (docker info; its swarm calls fail the same way).
    no_leader = "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online."
    for key in ("cluster", "nodes"):
        reads["m1"].pop(key, None)
    reads["m1"]["swarm"]["error"] = no_leader
    reads["m2"] = {"ready": False, "error": "connection refused"}
    reads["m3"]["swarm"].update(state="pending", manager=False)
    problems = Problems()
    swarm_state(reads, MANAGERS, WORKERS, {}, problems)
    assert problems.render(RUN) == [
        "swarm_managers (host m1): the swarm has no leader: too few of its managers answer (not answering as a manager here: m2, m3), "
        "so no run can change it. Fix: if their engines are only stopped or their hosts down, start them and re-run once "
        "`docker node ls` answers on m1; if most managers are gone for good, run playbooks/recover.yml -e host=m1 "
        "(README, \"Recover from the loss of most managers\")."]
    # Any other error of the leader's swarm calls is not this one.
    reads["m1"]["swarm"]["error"] = "Docker API call failed (list nodes): timeout"
    problems = Problems()
    swarm_state(reads, MANAGERS, WORKERS, {}, problems)
    assert problems.render(RUN) == []


@pytest.mark.parametrize(("key_file", "folder_problem", "expected"), [
    ("", "", "swarm_unlock_key_file (every host): is empty while swarm_autolock is true"),
    ("keys/unlock", "", "swarm_unlock_key_file (every host): 'keys/unlock' is not an absolute path"),
    ("/vault/unlock", "/vault is not a folder on the controller", "swarm_unlock_key_file (every host): /vault is not a folder on the controller"),
])
def test_autolock_needs_a_key_file_in_a_folder_of_the_controller(inventory: dict[str, HostInput], key_file: str,
                                                                 folder_problem: str, expected: str) -> None:
    set_all(inventory, swarm_autolock=True, swarm_unlock_key_file=key_file)
    asked: list[str] = []

    def folder(path: str) -> str:
        asked.append(path)
        return folder_problem

    controller = Controller(folder_problem=folder)
    problems = problems_of(inventory, controller=controller)
    assert problems and all(line.startswith(expected) for line in problems[:1])
    assert asked == (["/vault"] * len(RUN) if key_file.startswith("/") else [])
    set_all(inventory, swarm_autolock=True, swarm_unlock_key_file="/vault/unlock")
    assert problems_of(inventory, controller=Controller()) == []


def test_basic_auth_needs_a_controller_that_can_hash_and_only_then_is_it_asked(inventory: dict[str, HostInput]) -> None:
    asked: list[bool] = []

    def cannot() -> str:
        asked.append(True)
        return "Unable to encrypt nor hash, passlib must be installed: No module named 'passlib'"

    guarded = {"names": ["ops.campus.test"], "upstream": "grafana:3000", "basic_auth": [{"user": "ops", "password": "long pw"}]}
    set_all(inventory, proxy_sites=[{"names": ["app.campus.test"], "upstream": "web:80"}])
    assert problems_of(inventory, controller=Controller(hash_problem=cannot)) == [] and asked == []
    set_all(inventory, proxy_sites=[{"names": ["app.campus.test"], "upstream": "web:80"}, guarded])
    assert problems_of(inventory, controller=Controller(hash_problem=cannot)) == [
        "proxy_sites: ops.campus.test has basic_auth, but this controller cannot hash the passwords (Unable to encrypt nor hash, "
        "passlib must be installed: No module named 'passlib'). Fix: install passlib where ansible runs (pip install passlib; "
        "ansible-core 2.20 and newer on Python 3.13 need it, that Python has no crypt module)."]
    assert problems_of(inventory, controller=Controller()) == []
