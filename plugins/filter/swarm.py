# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Filters for swarm sizing, join addresses, address pools and overlay networks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.module_utils._swarm_networks import NetworksError, network_diff
from ansible_collections.campus.swarm.plugins.plugin_utils import _swarm_math as sm
from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports


def _filter(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn ``SwarmInputError`` into ``AnsibleFilterError`` that names the filter."""
    return reports(name, sm.SwarmInputError)


@_filter("swarm_quorum")
def swarm_quorum(managers: int) -> int:
    """Raft majority needed by ``managers`` managers."""
    return sm.quorum(managers)


@_filter("swarm_fault_tolerance")
def swarm_fault_tolerance(managers: int) -> int:
    """Managers that may fail while the swarm keeps quorum."""
    return sm.fault_tolerance(managers)


@_filter("swarm_manager_count_problem")
def swarm_manager_count_problem(managers: int) -> str:
    """``''`` for a sound manager count, else the reason it is not."""
    return sm.manager_count_problem(managers)


@_filter("swarm_join_addr")
def swarm_join_addr(addr: str, port: int = sm.DEFAULT_SWARM_PORT) -> str:
    """``host:port`` to join a swarm manager at, IPv6 bracketed."""
    return sm.join_addr(addr, port)


@_filter("swarm_address_pool_errors")
def swarm_address_pool_errors(pools: list[str], subnet_size: int, reserved: list[Any] | None = None) -> list[str]:
    """Problems with ``default_addr_pool`` / ``subnet_size``; empty when fine."""
    return sm.address_pool_errors(pools, subnet_size, reserved)


@_filter("swarm_unknown_vars")
def swarm_unknown_vars(names: list[str], known: list[str], prefixes: list[str]) -> list[dict[str, str]]:
    """Prefixed variable names that are not known, each with a suggestion."""
    return sm.unknown_vars(names, known, prefixes)


@reports("swarm_network_diff", NetworksError)
def swarm_network_diff(existing: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Immutable differences between an existing network and its declaration."""
    return network_diff(existing, desired)


def _advertise_addr(host: str, hv: Any, filter_name: str) -> str:
    addr = hv.get("swarm_advertise_addr") or (hv.get("ansible_facts") or {}).get("default_ipv4", {}).get("address", "")
    if not addr:
        raise AnsibleFilterError(
            f"{filter_name}: host {host} has no swarm_advertise_addr and no default IPv4 route in its facts: "
            "set swarm_advertise_addr for it (or gather its network facts first)"
        )
    return str(addr)


def swarm_advertise_addrs(hosts: list[str], hostvars: Any) -> list[str]:
    """The address each host is reached on: ``swarm_advertise_addr`` if set, else its default IPv4 route's address."""
    return [_advertise_addr(host, hostvars[host], "swarm_advertise_addrs") for host in hosts]


def _interface_addresses(iface: Any) -> set[str]:
    addrs = {str(iface.get("ipv4", {}).get("address", ""))}
    addrs |= {str(a.get("address", "")) for a in iface.get("ipv4_secondaries", []) or []}
    addrs |= {str(a.get("address", "")) for a in iface.get("ipv6", []) or []}
    return addrs - {""}


def swarm_underlay_mtu(hosts: list[str], hostvars: Any) -> int:
    """The smallest MTU of the interfaces the hosts' advertise addresses sit on: what overlay traffic crosses."""
    mtus = []
    for host in hosts:
        hv = hostvars[host]
        addr = _advertise_addr(host, hv, "swarm_underlay_mtu").strip("[]")
        facts = hv.get("ansible_facts") or {}
        names = [str(name).replace("-", "_").replace(".", "_") for name in facts.get("interfaces", [])]
        found = [facts[name] for name in names if isinstance(facts.get(name), dict) and addr in _interface_addresses(facts[name])]
        if not found or not isinstance(found[0].get("mtu"), int):
            raise AnsibleFilterError(
                f"swarm_underlay_mtu: no interface of host {host} in its facts holds its address {addr}: "
                "gather its network facts first, or set the MTU explicitly"
            )
        mtus.append(found[0]["mtu"])
    if not mtus:
        raise AnsibleFilterError("swarm_underlay_mtu: no hosts given")
    return min(mtus)


class FilterModule:
    """Swarm filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "swarm_quorum": swarm_quorum,
            "swarm_fault_tolerance": swarm_fault_tolerance,
            "swarm_manager_count_problem": swarm_manager_count_problem,
            "swarm_join_addr": swarm_join_addr,
            "swarm_address_pool_errors": swarm_address_pool_errors,
            "swarm_unknown_vars": swarm_unknown_vars,
            "swarm_network_diff": swarm_network_diff,
            "swarm_advertise_addrs": swarm_advertise_addrs,
            "swarm_underlay_mtu": swarm_underlay_mtu,
        }
