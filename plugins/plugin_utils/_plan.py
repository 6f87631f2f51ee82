# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The run's plan: everything that follows from the inventory and what the nodes have.

:func:`make_plan` is pure. It takes each host's role variables (typed by the
roles' argument specs, see ``_plan_problems.check_arguments``), what
``campus.swarm.node_info`` read on each node of the run, and the inventory's
groups; it checks every value against its real domain and against the other
hosts and nodes, and returns the plan that the roles read (the fact
``campus_swarm_plan``, documented in the role ``campus.swarm.plan``) together
with every problem found. The plan holds no secret: no password, key, token or
proxy URL is copied into it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.images import images_needed
from ansible_collections.campus.swarm.plugins.filter.networks import overlay_declaration_errors
from ansible_collections.campus.swarm.plugins.filter.proxy import swarm_no_proxy
from ansible_collections.campus.swarm.plugins.filter.sites import certbot_certificates, proxy_certificates, proxy_sites
from ansible_collections.campus.swarm.plugins.filter.stacks import stack_compose_errors, stack_declaration_errors, stack_networks
from ansible_collections.campus.swarm.plugins.module_utils._swarm_networks import NetworksError, network_diff
from ansible_collections.campus.swarm.plugins.module_utils._swarm_networks import make_plan as networks_plan
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import SwarmNodesError, declared_nodes
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import make_plan as nodes_plan
from ansible_collections.campus.swarm.plugins.plugin_utils import _firewall as fw
from ansible_collections.campus.swarm.plugins.plugin_utils import _plan_checks as checks
from ansible_collections.campus.swarm.plugins.plugin_utils import _swarm_math as sm
from ansible_collections.campus.swarm.plugins.plugin_utils._address_plan import address_plan_errors
from ansible_collections.campus.swarm.plugins.plugin_utils._plan_problems import INVENTORY, Problems

PLAN_VERSION = 1
SUPPORTED = {"Debian": ("12", "13"), "Ubuntu": ("22.04", "24.04")}
DOCKER_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "ppc64le": "ppc64el", "s390x": "s390x"}
ENGINE_PACKAGES = ("docker-ce", "docker.io", "moby-engine")

# Variables that describe the swarm as a whole: every host of the run must hold the same value
# (the roles read them from one host). Per-host ones (addresses, labels, backends) may differ.
CLUSTER_WIDE = (
    "swarm_port", "swarm_data_path_port", "swarm_default_addr_pool", "swarm_subnet_size", "swarm_reserved_ranges",
    "swarm_labels_exclusive", "swarm_manager_count_policy", "swarm_port_check", "swarm_autolock", "swarm_unlock_key_file",
    "networks_overlays", "networks_ingress_subnet", "networks_ingress_mtu", "networks_ingress_encrypted", "networks_underlay_mtu",
    "images_build_host", "images_cache_dir",
    "proxy_sites", "proxy_certificate_mode", "proxy_certificate_name", "proxy_image", "proxy_image_source",
    "proxy_service_name", "proxy_network", "proxy_acme_host",
    "certbot_certificates", "certbot_challenge", "certbot_acme_server", "certbot_host", "certbot_receiver_user",
    "portainer_admin_password", "portainer_image", "portainer_agent_image", "portainer_image_source", "portainer_stack",
    "portainer_host", "portainer_proxy_network", "portainer_agent_network", "portainer_endpoint_mode",
    "stacks_deploy", "stacks_registries",
)
# Never shown in a message, never copied into the plan.
SECRETS = ("portainer_admin_password", "portainer_agent_secret", "certbot_eab_hmac_key", "certbot_rfc2136_key_secret",
           "docker_proxy_http", "docker_proxy_https", "certbot_proxy", "stacks_deploy", "stacks_registries", "proxy_sites")


@dataclass
class HostInput:
    """One host of group swarm: its typed role variables, the names it sets itself, and what its node has
    (``node`` is None for a host outside the run, or whose node could not be read)."""

    values: dict[str, Any]
    node: dict[str, Any] | None = None
    in_run: bool = True
    names: Sequence[str] = ()
    ansible_host: str = ""


@dataclass
class Controller:
    """What the plan asks of the controller: ``file_problem(path)`` ('' when a CA bundle or file is there and
    readable), ``folder_problem(path)`` ('' when a folder is there and writable), ``hash_problem()``, each stack's rendered compose
    file (a mapping, or the reason it could not be rendered) and the variable names every role knows (for
    misspelt names)."""

    file_problem: Callable[[str], str] = lambda path: ""
    folder_problem: Callable[[str], str] = lambda path: ""
    # '' when this controller can hash the entrance's basic-auth passwords (sha512-crypt), else why not.
    hash_problem: Callable[[], str] = lambda: ""
    composes: dict[str, Any] = field(default_factory=dict)
    known_names: Sequence[str] = ()


def _display(name: str, value: Any) -> str:
    return "(not shown)" if name in SECRETS else repr(value)


def _first(hosts: Mapping[str, HostInput], run: Sequence[str]) -> HostInput:
    return hosts[run[0]] if run else next(iter(hosts.values()))


def _cluster_problems(hosts: Mapping[str, HostInput], run: Sequence[str], p: Problems) -> None:
    """Cluster-wide variables set differently on hosts of the run."""
    for name in CLUSTER_WIDE:
        seen: dict[str, list[str]] = {}
        shown: dict[str, Any] = {}
        for host in run:
            value = hosts[host].values.get(name)
            key = repr(value)
            seen.setdefault(key, []).append(host)
            shown[key] = value
        if len(seen) > 1:
            parts = "; ".join(f"{', '.join(hs)}: {_display(name, shown[k])}" for k, hs in seen.items())
            p.add(name, INVENTORY, f"describes the whole swarm but differs between hosts ({parts})",
                  "set it once for group swarm (group_vars/swarm.yml), not per host")


def _group_problems(groups: Mapping[str, Sequence[str]], policy: str, p: Problems, warnings: list[str]) -> None:
    managers = list(groups.get("swarm_managers") or [])
    workers = list(groups.get("swarm_workers") or [])
    if not managers:
        p.add("swarm_managers", INVENTORY, "the inventory group is missing or empty",
              f"put at least one host in it (an odd number, 3 for a production swarm); hosts of group swarm: {', '.join(groups.get('swarm') or []) or 'none'}")
    both = [h for h in managers if h in workers]
    if both:
        p.add("swarm_workers", INVENTORY, f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} also in swarm_managers",
              "a manager also runs tasks: remove " + ("it" if len(both) == 1 else "them") + " from swarm_workers")
    problem = sm.manager_count_problem(len(managers)) if managers else ""
    if problem:
        if policy == "warn":
            warnings.append(problem)
        else:
            p.add("swarm_managers", INVENTORY, f"{problem} (group swarm_managers: {', '.join(managers)})",
                  "change the group, or accept it with swarm_manager_count_policy: warn")
    outside = [h for h in groups.get("swarm_edge") or [] if h not in (groups.get("swarm") or [])]
    if outside:
        p.add("swarm_edge", INVENTORY, f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} not in group swarm",
              "nginx runs as a swarm service: put only managers or workers into swarm_edge")


def _interface_of(node: Mapping[str, Any], address: str) -> dict[str, Any] | None:
    for name, iface in ((node.get("network") or {}).get("interfaces") or {}).items():
        if address.strip("[]") in (iface.get("addresses") or []):
            return {"name": name, **iface}
    return None


def _link_of(node: Mapping[str, Any], address: str) -> dict[str, Any] | None:
    """The interface that carries ``address``, else (an address that is not the host's, reported elsewhere) the
    interface of its default route."""
    found = _interface_of(node, address) if address else None
    if found:
        return found
    default = ((node.get("network") or {}).get("default_ipv4") or {}).get("interface", "")
    interfaces = (node.get("network") or {}).get("interfaces") or {}
    return {"name": default, **interfaces[default]} if default in interfaces else None


def advertise_address(values: Mapping[str, Any], node: Mapping[str, Any] | None) -> str:
    """The address other nodes reach this one on: swarm_advertise_addr, else its default IPv4 route's."""
    if values.get("swarm_advertise_addr"):
        return str(values["swarm_advertise_addr"])
    return str((((node or {}).get("network") or {}).get("default_ipv4") or {}).get("address") or "")


def engine_version(packages: Mapping[str, str]) -> str:
    """The engine release (20.10.24) from the installed engine package, '0' when none is installed."""
    for name in ENGINE_PACKAGES:
        if name in packages:
            version = packages[name].split(":", 1)[-1]
            digits = version.split("+")[0].split("~")[0].split("-")[0]
            parts = digits.split(".")
            if len(parts) >= 3 and all(x.isdigit() for x in parts[:3]):
                return ".".join(parts[:3])
    return "0"


def _node_problems(host: str, h: HostInput, p: Problems) -> None:
    """What only the node can tell: its system, its addresses and routes, the connection this run uses."""
    v, node = h.values, h.node or {}
    os_facts = node.get("os") or {}
    distro = os_facts.get("distribution", "")
    version = os_facts.get("distribution_version" if distro == "Ubuntu" else "distribution_major_version", "")
    if distro not in SUPPORTED or version not in SUPPORTED[distro]:
        p.add("distribution", host, f"the host runs {distro or 'an unknown system'} {os_facts.get('distribution_version', '')}, "
              f"which campus.swarm does not support", "use " + ", ".join(f"{d} {'/'.join(vs)}" for d, vs in SUPPORTED.items()))
    if v.get("docker_install_source") == "official" and node.get("architecture") not in DOCKER_ARCHITECTURES:
        p.add("docker_install_source", host, f"Docker's repository has no packages for architecture {node.get('architecture')}",
              "set docker_install_source: distro for this host")
    network = node.get("network") or {}
    addresses = list(network.get("ipv4") or []) + list(network.get("ipv6") or [])
    advertise = advertise_address(v, node)
    if not advertise:
        p.add("swarm_advertise_addr", host, "is empty and the host has no default IPv4 route",
              "set swarm_advertise_addr to the address other nodes reach it on")
    elif advertise.strip("[]") not in addresses:
        p.add("swarm_advertise_addr", host, f"{advertise} is not an address of the host (it has {', '.join(addresses) or 'none'})",
              "set it to one of them in the inventory")
    iface = _interface_of(node, advertise) if advertise else None
    link_mtu = iface.get("mtu") if iface else None
    if v.get("docker_mtu") and isinstance(link_mtu, int) and v["docker_mtu"] > link_mtu:
        p.add("docker_mtu", host,
              f"{v['docker_mtu']} is larger than the MTU {link_mtu} of {iface['name'] if iface else ''}, the host's link to the other nodes",
              f"set docker_mtu to {link_mtu} or less (or 0)")
    try:
        lockout = fw.ssh_lockout(node.get("ssh_connection") or "", v.get("firewall_ssh_port"), v.get("firewall_ssh_sources") or [])
    except fw.FirewallInputError as exc:
        lockout = str(exc)
    if lockout:
        p.add("firewall_ssh_sources", host, f"the firewall would lock this run out: {lockout}",
              "add the address to firewall_ssh_sources (or fix firewall_ssh_port) in the inventory")


def _address_problems(host: str, h: HostInput, overlays: list[dict[str, Any]], p: Problems) -> None:
    """Every range Docker will use on this node (docker0, local pools, docker_gwbridge, the overlay pool, ingress,
    every overlay of the run with a subnet, the stacks' too) against each other, the node's routes and the campus ranges."""
    v, network = h.values, (h.node or {}).get("network") or {}
    plan = {name: v.get(name) for name in ("docker_bip", "docker_default_address_pools", "networks_gwbridge_subnet",
                                           "swarm_default_addr_pool", "swarm_subnet_size", "networks_ingress_subnet")}
    plan["networks_overlays"] = overlays
    for error in address_plan_errors(plan, network.get("routes") or [], v.get("swarm_reserved_ranges") or [], host):
        p.add("address plan", host, error)


def _unknown_names(host: str, h: HostInput, known: Sequence[str], p: Problems) -> None:
    for found in sm.unknown_vars(list(h.names), list(known), list(h.values.get("swarm_checked_var_prefixes") or [])):
        hint = f"did you mean {found['suggestion']}?" if found["suggestion"] else "no campus.swarm role knows it"
        p.add(found["name"], host, f"is set but no campus.swarm role has this variable ({hint})",
              "fix the name in the inventory (ansible-doc -t role campus.swarm.<role> lists each role's variables)")


def _pool_problems(v: Mapping[str, Any], p: Problems) -> None:
    try:
        errors = sm.address_pool_errors(v.get("swarm_default_addr_pool") or [], v.get("swarm_subnet_size"), v.get("swarm_reserved_ranges") or [])
    except sm.SwarmInputError as exc:
        errors = [str(exc)]
    for error in errors:
        variable = "swarm_subnet_size" if error.startswith("swarm_subnet_size") else (
            "swarm_reserved_ranges" if error.startswith("campus range") else "swarm_default_addr_pool")
        p.add(variable, INVENTORY, error)


# ---- swarm state ----------------------------------------------------------------------------


def swarm_state(nodes: Mapping[str, Mapping[str, Any] | None], managers: Sequence[str], workers: Sequence[str],
                wanted_init: Mapping[str, Any], p: Problems | None = None) -> dict[str, Any]:
    """What the engines say about the swarm, and what the swarm role does with it.

    ``nodes`` maps each host to the ``docker`` part of its node_info (None: not read). The
    manager that leads the run is an inventory manager that manages the swarm now, else any
    host that does (the inventory's managers are being replaced), else the first inventory
    manager, which initialises a new swarm.
    """
    p = p if p is not None else Problems()
    docker = {h: d or {} for h, d in nodes.items()}
    ready = {h: bool(d.get("ready")) for h, d in docker.items()}
    swarm = {h: d.get("swarm") or {} for h, d in docker.items()}
    active = [h for h in nodes if swarm[h].get("manager")]
    inventory_active = [h for h in managers if h in active]
    other_active = [h for h in active if h not in managers]
    leader = (inventory_active + other_active + list(managers) + [""])[0]
    deciding = inventory_active or other_active
    clusters = sorted({swarm[h].get("cluster_id", "") for h in deciding})
    if len(clusters) > 1:
        parts = "; ".join(f"cluster {c}: {', '.join(h for h in deciding if swarm[h].get('cluster_id') == c)}" for c in clusters)
        p.add("swarm_managers", INVENTORY, f"the managers belong to {len(clusters)} different swarms ({parts})",
              "keep one swarm: run `docker swarm leave --force` on the managers of the other (after moving their services), then re-run")
    lead = docker.get(leader) or {}
    listed = lead.get("nodes") or []
    member_ids = [n.get("ID", "") for n in listed]
    manager_ids = [n.get("ID", "") for n in listed if n.get("ManagerStatus")]
    cluster = lead.get("cluster") or {}
    init_now = {"swarm_data_path_port": cluster.get("data_path_port"), "swarm_default_addr_pool": cluster.get("default_addr_pool"),
                "swarm_subnet_size": cluster.get("subnet_size")} if cluster else {}
    for host in nodes:
        s = swarm[host]
        if s.get("state") == "active" and member_ids and s.get("node_id") not in member_ids:
            remote = ", ".join(s.get("remote_managers") or []) or "no managers known"
            p.add("swarm_managers", host, f"the host is an active member of a different swarm (node ID {s.get('node_id')}, its managers: {remote}) "
                  f"while the inventory forms the swarm led by {leader}",
                  f"if that swarm is gone or this node was removed from it, run `docker swarm leave --force` on {host} and re-run")
    for name, value in init_now.items():
        if value is not None and wanted_init.get(name) != value:
            p.add(name, INVENTORY, f"is {wanted_init.get(name)!r} in the inventory but the swarm was initialised with {value!r}; "
                  "it is fixed at `docker swarm init` and cannot change on a running swarm",
                  "set it back, or re-initialise: move services off, `docker swarm leave --force` on every node, re-run (README, \"Init-only settings\")")
    states = {h: str(swarm[h].get("state") or "inactive") for h in nodes}
    for host in (h for h in nodes if states[h] == "locked"):
        p.add("swarm_unlock_key_file", host, "the manager is locked: its engine restarted and the swarm is autolocked, "
              "so it takes no part in the swarm until it is given the unlock key",
              "run playbooks/unlock.yml with the same inventory (it reads the key from swarm_unlock_key_file), then re-run")
    if (swarm.get(leader) or {}).get("manager") and "does not have a leader" in str(swarm[leader].get("error") or ""):
        down = [h for h in managers if h in nodes and not swarm[h].get("manager")]
        p.add("swarm_managers", leader, "the swarm has no leader: too few of its managers answer (not answering as a manager here: "
              f"{', '.join(down) or 'none of the inventory'}), so no run can change it",
              f"if their engines are only stopped or their hosts down, start them and re-run once `docker node ls` answers on {leader}; "
              f"if most managers are gone for good, run playbooks/recover.yml -e host={leader} (README, \"Recover from the loss of most managers\")")
    node_ids = {h: str(swarm[h].get("node_id") or "") for h in nodes}
    inventory_ids = {node_ids[h] for h in nodes if node_ids[h]}
    unmanaged = [{"node_id": n.get("ID", ""), "hostname": (n.get("Description") or {}).get("Hostname", ""),
                  "role": (n.get("Spec") or {}).get("Role", ""), "state": (n.get("Status") or {}).get("State", "")}
                 for n in listed if n.get("ID") not in inventory_ids]
    return {
        "exists": bool(active),
        "leader": leader,
        "cluster_id": str(cluster.get("id") or (swarm.get(leader) or {}).get("cluster_id") or ""),
        "complete": all(ready.values()),
        "ready": [h for h in nodes if ready[h]],
        "active_managers": inventory_active + other_active,
        "all_active": all(states[h] == "active" for h in nodes),
        "states": states,
        "node_ids": node_ids,
        "member_ids": member_ids,
        "manager_ids": manager_ids,
        "init": dict(init_now),
        "autolock": bool(((cluster.get("spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers")),
        "unmanaged": unmanaged,
        "joins": [h for h in list(managers) + list(workers) if h in nodes and h != leader and states[h] != "active"],
    }


# ---- networks -------------------------------------------------------------------------------


def underlay_mtu(v: Mapping[str, Any], hosts: Mapping[str, HostInput], run: Sequence[str], p: Problems) -> int:
    """The MTU overlays are planned for: networks_underlay_mtu, else the smallest MTU of the interfaces that
    hold the advertise addresses of the nodes read in this run (1500 when none could be read)."""
    derived = []
    for host in run:
        h = hosts[host]
        iface = _link_of(h.node, advertise_address(h.values, h.node)) if h.node else None
        if iface and isinstance(iface.get("mtu"), int):
            derived.append(iface["mtu"])
    smallest = min(derived) if derived else None
    given = v.get("networks_underlay_mtu") or 0
    if given:
        if smallest is not None and given > smallest:
            p.add("networks_underlay_mtu", INVENTORY, f"{given} is larger than {smallest}, the smallest MTU of the nodes' links",
                  f"set it to {smallest} or less, or 0 to derive it")
        return int(given)
    return int(smallest or sm.DEFAULT_UNDERLAY_MTU)


def _network_decls(v: Mapping[str, Any], sites: list[dict[str, Any]], portainer: bool, p: Problems) -> list[dict[str, Any]]:
    """Every overlay the run needs, once: networks_overlays, the proxy's network, Portainer's agent network,
    the stacks' networks (as STACK_NAME). A declaration in networks_overlays of the same name is used as it is."""
    declared = [dict(n, owner="networks_overlays") for n in v.get("networks_overlays") or [] if isinstance(n, Mapping)]
    names = {n.get("name") for n in declared}

    def need(name: str, owner: str, **decl: Any) -> None:
        if name and name not in names:
            declared.append({"name": name, "owner": owner, **decl})
            names.add(name)

    if sites:
        need(v.get("proxy_network", ""), "proxy", attachable=False)
    if portainer:
        need(v.get("portainer_agent_network", ""), "portainer", attachable=False)
        need(v.get("portainer_proxy_network", ""), "portainer", attachable=False)
    try:
        for net in stack_networks(v.get("stacks_deploy") or []):
            if net["name"] in names:
                p.add("stacks_deploy", INVENTORY, f"network {net['name']} of a stack is also declared elsewhere", "give it another name")
            need(net["name"], "stacks", **{k: val for k, val in net.items() if k != "name"})
    except AnsibleFilterError:
        pass  # reported with the stack declarations
    return declared


def _overlay_problems(decls: list[dict[str, Any]], mtu: int, p: Problems) -> list[dict[str, Any]]:
    """Each declaration checked; returned with its planned MTU (the underlay's where it sets none)."""
    plain = [{k: val for k, val in d.items() if k != "owner"} for d in decls]
    for error in overlay_declaration_errors(plain):
        p.add("networks_overlays", INVENTORY, error)
    planned = []
    for decl in decls:
        name = str(decl.get("name", ""))
        owner = decl.get("owner", "networks_overlays")
        variable = {"proxy": "proxy_network", "portainer": "portainer_agent_network", "stacks": "stacks_deploy"}.get(owner, "networks_overlays")
        if name in checks.RESERVED_NETWORKS:
            p.add(variable, INVENTORY, f"network {name} is one Docker keeps for itself", "choose another name")
        if isinstance(decl.get("mtu"), int):
            problem = checks.mtu_problem(decl["mtu"], mtu, f"network {name}: mtu")
            if problem:
                p.add(variable, INVENTORY, problem, f"set its mtu to {mtu} or less, or leave it out to plan it for the underlay")
        planned.append({**decl, "mtu": decl["mtu"] if isinstance(decl.get("mtu"), int) else mtu})
    return planned


def _existing_network_problems(planned: list[dict[str, Any]], existing: list[Mapping[str, Any]], p: Problems) -> None:
    by_name = {n.get("Name"): n for n in existing}
    for decl in planned:
        if decl.get("state", "present") != "present" or decl["name"] not in by_name:
            continue
        try:
            diffs = network_diff(by_name[decl["name"]], {k: v for k, v in decl.items() if k != "owner"})
        except NetworksError as exc:
            diffs = [exc.msg]
        if diffs:
            p.add("networks_overlays" if decl.get("owner") == "networks_overlays" else decl.get("owner", ""), INVENTORY,
                  f"overlay network {decl['name']} exists with other settings than declared: {'; '.join(diffs)}; "
                  "Docker networks cannot be changed in place",
                  f"declare it as it is, give the new settings a new name, or remove it: stop the services attached to it, "
                  f"`docker network rm {decl['name']}` on a manager, and re-run")


def _networks_change(leader: Mapping[str, Any] | None, overlays: list[dict[str, Any]], ingress: Mapping[str, Any] | None) -> bool:
    if not leader or "networks" not in leader:
        return True
    try:
        found = networks_plan(list(leader["networks"]), overlays, ingress)
    except NetworksError:
        return True
    return bool(found["create"] or found["remove"] or found["refused"] or found["ingress"])


def gwbridge_plan(v: Mapping[str, Any], node: Mapping[str, Any] | None, mtu: int, host: str, p: Problems) -> dict[str, Any]:
    """docker_gwbridge as planned for this node, and whether the swarm role must (re)create it before the node joins."""
    want = {"subnet": v.get("networks_gwbridge_subnet") or "", "mtu": mtu}
    managed = bool(want["subnet"]) or mtu != sm.DEFAULT_UNDERLAY_MTU
    docker = (node or {}).get("docker") or {}
    now = docker.get("gwbridge")
    subnets = [c.get("Subnet") for c in ((now or {}).get("IPAM") or {}).get("Config") or [] if c.get("Subnet")]
    other = bool(now) and bool(want["subnet"]) and subnets != [want["subnet"]]
    busy = bool((now or {}).get("Containers"))
    if other and busy:
        p.add("networks_gwbridge_subnet", host, f"docker_gwbridge has subnet {', '.join(subnets)} but networks_gwbridge_subnet is {want['subnet']}; "
              "it cannot change while containers use it (on a swarm member the ingress sandbox always does)",
              f"drain the node, `docker swarm leave --force` on it, `docker network rm docker_gwbridge`, and re-run "
              f"(or set networks_gwbridge_subnet to {', '.join(subnets)})")
    return {**want, "managed": managed, "create": managed and bool(docker.get("ready")) and (not now or other), "remove": other and not busy}


# ---- the plan -------------------------------------------------------------------------------


def _sites(v: Mapping[str, Any], p: Problems) -> list[dict[str, Any]]:
    try:
        return proxy_sites(v.get("proxy_sites") or [], str(v.get("proxy_certificate_mode")), str(v.get("proxy_certificate_name")),
                           str(v.get("proxy_max_body_size")))
    except AnsibleFilterError as exc:
        p.add("proxy_sites", INVENTORY, str(exc).removeprefix("proxy_sites: "))
        return []


def _certificates(v: Mapping[str, Any], sites: list[dict[str, Any]], p: Problems) -> list[dict[str, Any]]:
    try:
        wanted = v.get("certbot_certificates") or proxy_certificates(sites)
        return certbot_certificates(wanted, str(v.get("certbot_challenge")))
    except AnsibleFilterError as exc:
        p.add("certbot_certificates", INVENTORY, str(exc).split(": ", 1)[-1])
        return []


def _edge_checks(v: Mapping[str, Any], sites: list[dict[str, Any]], certs: list[dict[str, Any]], edge: Sequence[str], p: Problems) -> None:
    if sites and not edge:
        p.add("swarm_edge", INVENTORY, f"proxy_sites declares {len(sites)} site(s) but group swarm_edge is empty",
              "put the hosts that take public 80/443 into swarm_edge")
    if not certs:
        return
    if v.get("certbot_host") not in edge:
        p.add("certbot_host", INVENTORY, f"{v.get('certbot_host')!r} is not in group swarm_edge",
              "certbot runs where nginx serves its webroot: choose an edge host")
    if v.get("proxy_acme_host") != v.get("certbot_host"):
        p.add("proxy_acme_host", INVENTORY, f"is {v.get('proxy_acme_host')} but certbot_host is {v.get('certbot_host')}: nginx on the other "
              "edge hosts fetches HTTP-01 challenges from the host certbot writes them on", "set certbot_host only (proxy_acme_host follows it)")
    rfc2136 = ("certbot_rfc2136_server", "certbot_rfc2136_key_name", "certbot_rfc2136_key_secret")
    if any(c["challenge"] == "dns-01" for c in certs) and not all(v.get(k) for k in rfc2136):
        p.add("certbot_rfc2136_server", INVENTORY, "the dns-01 challenge needs certbot_rfc2136_server, certbot_rfc2136_key_name and certbot_rfc2136_key_secret",
              "set all three (the secret in a vault)")


def _stack_problems(v: Mapping[str, Any], composes: Mapping[str, Any], p: Problems) -> None:
    stacks = v.get("stacks_deploy") or []
    reserved = [v.get("portainer_stack") or "portainer"]
    for error in stack_declaration_errors(stacks, reserved):
        p.add("stacks_deploy", INVENTORY, error)
    try:
        networks = stack_networks(stacks)
    except AnsibleFilterError:
        networks = []
    for error in overlay_declaration_errors(networks):
        p.add("stacks_deploy", INVENTORY, f"networks: {error}")
    for stack in stacks:
        if not isinstance(stack, Mapping) or not isinstance(stack.get("name"), str):
            continue
        compose = composes.get(stack["name"])
        if isinstance(compose, str):
            p.add("stacks_deploy", INVENTORY, f"stack {stack['name']}: {compose}")
        elif compose is not None:
            try:
                for error in stack_compose_errors(compose, stack):
                    p.add("stacks_deploy", INVENTORY, error)
            except AnsibleFilterError as exc:
                p.add("stacks_deploy", INVENTORY, str(exc))


def _images(v: Mapping[str, Any], host: str, group_names: Sequence[str], sites: bool, portainer: bool) -> list[dict[str, Any]]:
    """The images this host needs: images_list, nginx on edge hosts, Portainer's, the stacks' (once each)."""
    stack_images = [i for s in v.get("stacks_deploy") or [] if isinstance(s, Mapping) for i in s.get("images") or []]
    declared = list(v.get("images_list") or []) + stack_images
    if sites:
        declared.append({"name": v.get("proxy_image", ""), "source": v.get("proxy_image_source", "pull"), "hosts": ["swarm_edge"]})
    if portainer:
        declared.append({"name": v.get("portainer_agent_image", ""), "source": v.get("portainer_image_source", "pull")})
        declared.append({"name": v.get("portainer_image", ""), "source": v.get("portainer_image_source", "pull"),
                         "hosts": [v.get("portainer_host", "")]})
    try:
        needed = images_needed(declared, host, list(group_names))
    except AnsibleFilterError:
        return []  # reported by the images_list check
    return list({i["name"]: i for i in needed}.values())


def no_proxy(v: Mapping[str, Any], hosts: Mapping[str, HostInput]) -> list[str]:
    """NO_PROXY for this host's engine and apt: with docker_proxy_no_proxy_auto every node's inventory name,
    ansible_host and swarm_advertise_addr and the ranges Docker uses come first, then docker_proxy_no_proxy.
    Inventory only (no facts): every run, limited or not, computes the same list, so no engine restarts for nothing."""
    extra = list(v.get("docker_proxy_no_proxy") or [])
    if not v.get("docker_proxy_no_proxy_auto"):
        return extra
    ranges = list(v.get("swarm_default_addr_pool") or ["10.0.0.0/8"]) + [p.get("base", "") for p in v.get("docker_default_address_pools") or []]
    ranges += [v.get("docker_bip") or "", v.get("networks_gwbridge_subnet") or "", v.get("networks_ingress_subnet") or ""]
    inventory = {h: {"ansible_host": i.ansible_host, "swarm_advertise_addr": i.values.get("swarm_advertise_addr") or ""} for h, i in hosts.items()}
    return swarm_no_proxy(list(hosts), inventory, [r for r in ranges if r], extra)


def node_declaration(host: str, v: Mapping[str, Any], manager: bool, edge: bool, portainer: bool | None = None) -> dict[str, Any]:
    """How the inventory declares this node to module swarm_nodes (without its node ID). Every node carries
    campus.swarm.edge ("true" in group swarm_edge, else "false"): the proxy's placement constraint, kept right
    when a host leaves the group; with Portainer, campus.swarm.portainer ("true" on portainer_host), the
    constraint of its server, which keeps its data there."""
    labels = {**{str(k): val for k, val in (v.get("swarm_labels") or {}).items()}, "campus.swarm.edge": "true" if edge else "false"}
    if portainer is not None:
        labels["campus.swarm.portainer"] = "true" if portainer else "false"
    decl: dict[str, Any] = {"name": host, "role": "manager" if manager else "worker", "labels": labels}
    if v.get("swarm_availability"):
        decl["availability"] = v["swarm_availability"]
    return decl


def reconcile_needed(state: Mapping[str, Any], leader_docker: Mapping[str, Any] | None, decls: Mapping[str, dict[str, Any]],
                     exclusive: bool) -> bool:
    """Whether module swarm_nodes would change anything (it decides, and refuses, when it runs)."""
    nodes = (leader_docker or {}).get("nodes") or []
    local = (state.get("node_ids") or {}).get(state.get("leader", ""), "")
    declared = [{**d, "node_id": state["node_ids"][h]} for h, d in decls.items() if (state.get("node_ids") or {}).get(h)]
    if not nodes or not local:
        return bool(declared)
    try:
        return bool(nodes_plan(local, nodes, declared_nodes(declared), exclusive).changes)
    except SwarmNodesError:
        return True


def _probe_name(cert: Mapping[str, Any], sites: list[dict[str, Any]]) -> str:
    """A name to ask nginx for ``cert`` with (nginx shows nothing for other names): a name of a site it serves,
    else one of its own; '' for a certificate of wildcards only that no site uses."""
    names = [n for s in sites if s.get("certificate") == cert["name"] for n in s["names"]] + list(cert["domains"])
    return next((n for n in names if "*" not in n), "")


def without_hosts(groups: Mapping[str, Sequence[str]], removed: Sequence[str]) -> dict[str, list[str]]:
    """The inventory's groups without ``removed`` (hosts leaving the swarm: remove_node.yml plans the others so)."""
    return {name: [m for m in members if m not in removed] for name, members in groups.items()}


def make_plan(hosts: Mapping[str, HostInput], groups: Mapping[str, Sequence[str]], run: Sequence[str],
              controller: Controller | None = None) -> tuple[dict[str, Any], Problems]:
    """The plan of a run over ``run`` (hosts of group swarm in this play), and every problem found."""
    controller = controller or Controller()
    p = Problems()
    warnings: list[str] = []
    managers = [h for h in groups.get("swarm_managers") or [] if h in hosts]
    workers = [h for h in groups.get("swarm_workers") or [] if h in hosts and h not in managers]
    edge = [h for h in groups.get("swarm_edge") or [] if h in hosts]
    group_names = {h: [g for g, members in groups.items() if h in members] for h in hosts}
    inventory_names = set(groups) | set(hosts) | {h for members in groups.values() for h in members}
    if not run:
        # Nothing to plan: say why (no managers, no swarm hosts in this play).
        _group_problems(groups, "fail", p, warnings)
        if not p:
            p.add("swarm", INVENTORY, "no host of group swarm is in this run", "run the playbook on group swarm, or widen --limit")
        return {"version": PLAN_VERSION, "run": [], "hosts": {}}, p
    first = _first(hosts, run)
    v = first.values

    _group_problems(groups, str(v.get("swarm_manager_count_policy", "fail")), p, warnings)
    _cluster_problems(hosts, run, p)
    _pool_problems(v, p)
    for host in run:
        h = hosts[host]
        for check in (checks.check_docker, checks.check_firewall, checks.check_swarm, checks.check_networks,
                      checks.check_proxy, checks.check_portainer, checks.check_stacks):
            check(h.values, host, p)
        checks.check_images(h.values, host, p, inventory_names)
        checks.check_certbot(h.values, host, p, controller.file_problem)
        for path in (h.values.get("docker_registry_ca_files") or {}).values():
            problem = controller.file_problem(str(path))
            if problem:
                p.add("docker_registry_ca_files", host, problem, "give the path of the registry's CA file on the controller")
        key_file = str(h.values.get("swarm_unlock_key_file") or "")
        if h.values.get("swarm_autolock") and key_file.startswith("/"):
            problem = controller.folder_problem(posixpath.dirname(key_file))
            if problem:
                p.add("swarm_unlock_key_file", host, problem, "create the folder (mode 0700) or give a path in one that exists")
        _unknown_names(host, h, controller.known_names, p)
        if h.node is not None:
            _node_problems(host, h, p)

    sites = _sites(v, p)
    guarded = [s["name"] for s in sites if s.get("basic_auth")]
    hashing = controller.hash_problem() if guarded else ""
    if hashing:
        p.add("proxy_sites", INVENTORY, f"{', '.join(guarded)} {'has' if len(guarded) == 1 else 'have'} basic_auth, but this controller "
              f"cannot hash the passwords ({hashing})",
              "install passlib where ansible runs (pip install passlib; ansible-core 2.20 and newer on Python 3.13 need it, "
              "that Python has no crypt module)")
    certs = _certificates(v, sites, p)
    _edge_checks(v, sites, certs, edge, p)
    portainer = bool(v.get("portainer_admin_password"))
    if portainer and v.get("portainer_host") not in managers:
        p.add("portainer_host", INVENTORY, f"{v.get('portainer_host')!r} is not in swarm_managers", "Portainer keeps its data on a manager: choose one")
    if portainer and sites and v.get("portainer_proxy_network") != v.get("proxy_network"):
        p.add("portainer_proxy_network", INVENTORY, f"is {v.get('portainer_proxy_network')} but nginx is on proxy_network {v.get('proxy_network')}",
              "set both to the same network, or nginx cannot reach Portainer")
    _stack_problems(v, controller.composes, p)

    # Addresses: every swarm host's, from its inventory or (in this run) its node.
    addresses: dict[str, str] = {}
    for host, h in hosts.items():
        address = advertise_address(h.values, h.node)
        if address:
            addresses[host] = address
        elif h.node is None:
            p.add("swarm_advertise_addr", host, "the host is outside this run and its address is not known",
                  "set swarm_advertise_addr for it in the inventory, or run without --limit")
    seen: dict[str, str] = {}
    for host, address in addresses.items():
        if address in seen:
            p.add("swarm_advertise_addr", host, f"{address} is also the address of {seen[address]}", "give each node its own address")
        seen.setdefault(address, host)

    mtu = underlay_mtu(v, hosts, run, p)
    if v.get("networks_ingress_mtu"):
        problem = checks.mtu_problem(int(v["networks_ingress_mtu"]), mtu, "networks_ingress_mtu")
        if problem:
            p.add("networks_ingress_mtu", INVENTORY, problem, f"set it to {mtu} or less, or 0 to plan it for the underlay")
    given_members = list(v.get("firewall_cluster_addresses") or [])
    if given_members:
        for host, address in addresses.items():
            if not fw.covers(given_members, address):
                p.add("firewall_cluster_addresses", INVENTORY, f"does not hold {address}, the address of {host}: its swarm traffic would be dropped",
                      "add every node's address, or leave it empty to take them from the inventory")
    if sites:
        for host in edge:
            availability = hosts[host].values.get("swarm_availability") if host in hosts else ""
            if availability in ("drain", "pause"):
                p.add("swarm_availability", host, f"is {availability} on an edge host: nginx runs only on active nodes, so this host would serve no site",
                      "leave the edge hosts active, or take the host out of swarm_edge")
    decls = _overlay_problems(_network_decls(v, sites, portainer, p), mtu, p)
    for host in run:
        if hosts[host].node is not None:
            _address_problems(host, hosts[host], [{k: val for k, val in d.items() if k != "owner"} for d in decls], p)
    wanted_init = {"swarm_data_path_port": v.get("swarm_data_path_port"), "swarm_default_addr_pool": v.get("swarm_default_addr_pool"),
                   "swarm_subnet_size": v.get("swarm_subnet_size")}
    state = swarm_state({h: (hosts[h].node or {}).get("docker") for h in run}, [h for h in managers if h in run],
                        [h for h in workers if h in run], wanted_init, p)
    leader_node = (hosts[state["leader"]].node or {}).get("docker") if state["leader"] in hosts else None
    _existing_network_problems(decls, (leader_node or {}).get("networks") or [], p)

    members = list(v.get("firewall_cluster_addresses") or []) or [addresses[h] for h in hosts if h in addresses]
    encrypted = bool(v.get("firewall_allow_esp") or v.get("networks_ingress_encrypted")
                     or any(d.get("encrypted") for d in decls if d.get("state", "present") == "present"))
    certbot_host = v.get("certbot_host") if certs else ""
    host_plans: dict[str, Any] = {}
    for host, h in hosts.items():
        hv, node = h.values, h.node or {}
        entry: dict[str, Any] = {
            "in_run": h.in_run and h.node is not None,
            "role": "manager" if host in managers else "worker",
            "edge": host in edge,
            "advertise_addr": addresses.get(host, ""),
            "listen_addr": hv.get("swarm_listen_addr"),
            "no_proxy": no_proxy(hv, hosts),
            "node": node_declaration(host, hv, host in managers, host in edge,
                                     (host == v.get("portainer_host")) if v.get("portainer_admin_password") else None),
        }
        if h.node is not None:
            handover = [addresses[certbot_host]] if certbot_host and host in edge and host != certbot_host and certbot_host in addresses else []
            try:
                rules = fw.rules({
                    "ssh_port": hv.get("firewall_ssh_port"), "ssh_sources": list(hv.get("firewall_ssh_sources") or []) + handover,
                    "edge": host in edge, "public_ports": hv.get("firewall_public_ports") or [],
                    "public_sources": hv.get("firewall_public_sources") or [],
                    # A host that manages the swarm now keeps 2377 until the swarm role demoted it (the next run closes it).
                    "manager": host in managers or bool(((node.get("docker") or {}).get("swarm") or {}).get("manager")),
                    "swarm_port": hv.get("swarm_port"), "data_path_port": hv.get("swarm_data_path_port"),
                    "members": members, "esp": encrypted, "published_sources": hv.get("firewall_published_sources") or [],
                    "extra_rules": hv.get("firewall_extra_rules") or []})
            except fw.FirewallInputError as exc:
                p.add("firewall", host, str(exc))
                rules = {}
            packages = node.get("packages") or {}
            entry.update(
                os=node.get("os") or {},
                architecture=node.get("architecture", ""),
                engine={"version": engine_version(packages), "ready": bool((node.get("docker") or {}).get("ready")),
                        "swarm": (node.get("docker") or {}).get("swarm") or {}},
                packages=packages,
                held=node.get("held") or [],
                units=node.get("units") or {},
                files=node.get("files") or {},
                nft_tables=node.get("nft_tables") or {},
                certificates=node.get("certificates") or {},
                firewall={"backend": hv.get("firewall_backend"), "rules": rules},
                gwbridge=gwbridge_plan(hv, node, mtu, host, p),
                images=_images(hv, host, group_names.get(host, []), bool(sites), portainer),
                node_images=list((node.get("docker") or {}).get("images") or []),
            )
        host_plans[host] = entry

    ingress_mtu = int(v.get("networks_ingress_mtu") or 0) or mtu
    ingress = ({"subnet": v.get("networks_ingress_subnet") or "", "mtu": ingress_mtu, "encrypted": bool(v.get("networks_ingress_encrypted"))}
               if v.get("networks_ingress_subnet") or ingress_mtu != sm.DEFAULT_UNDERLAY_MTU or v.get("networks_ingress_encrypted") else None)
    overlays = [{k: val for k, val in d.items() if k != "owner"} for d in decls]
    receivers = [{"host": e, "address": addresses.get(e, ""), "port": hosts[e].values.get("firewall_ssh_port", 22)}
                 for e in edge if e != certbot_host] if certs else []
    plan = {
        "version": PLAN_VERSION,
        "run": list(run),
        "groups": {"managers": managers, "workers": workers, "edge": edge},
        "warnings": warnings,
        "swarm": {**state, "port": v.get("swarm_port"), "data_path_port": v.get("swarm_data_path_port"),
                  "reconcile": reconcile_needed(state, leader_node, {h: e["node"] for h, e in host_plans.items() if h in run},
                                                bool(v.get("swarm_labels_exclusive"))),
                  "default_addr_pool": v.get("swarm_default_addr_pool"), "subnet_size": v.get("swarm_subnet_size"),
                  "port_check": bool(v.get("swarm_port_check")) and not state["all_active"]},
        "networks": {
            "underlay_mtu": mtu,
            "overlays": overlays,
            "owners": {d["name"]: d.get("owner", "networks_overlays") for d in decls},
            # None: ingress stays as Docker made it at swarm init.
            "ingress": ingress,
            # Whether module swarm_networks has anything to do, from the leader's networks as read.
            "changes": _networks_change(leader_node, overlays, ingress),
            "esp": encrypted,
        },
        "images": {"build_host": v.get("images_build_host"),
                   "archive": sorted({i["name"] for e in host_plans.values() for i in e.get("images") or [] if i["source"] == "archive"})},
        "proxy": {"enabled": bool(sites), "sites": sites, "certificates": proxy_certificates(sites) if sites else [],
                  "acme_host": v.get("proxy_acme_host") if sites else "",
                  # Where the entrance keeps its files on each edge host, and where they appear in the nginx task.
                  "config_dir": v.get("proxy_config_dir"), "acme_webroot": v.get("proxy_acme_webroot"),
                  "mount_dir": v.get("proxy_mount_dir"), "service_name": v.get("proxy_service_name"),
                  "network": v.get("proxy_network")},
        "certbot": {"enabled": bool(certs), "host": certbot_host, "receivers": receivers,
                    "certificates": [{**c, "probe": _probe_name(c, sites)} for c in certs]},
        "portainer": {"enabled": portainer, "host": v.get("portainer_host") if portainer else ""},
        "stacks": {"names": [s.get("name") for s in v.get("stacks_deploy") or [] if isinstance(s, Mapping)]},
        "hosts": host_plans,
    }
    return plan, p
