# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Filters for swarm sizing, join addresses, address pools and overlay networks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.campus.swarm.plugins.module_utils._swarm_networks import NetworksError, network_diff
from ansible_collections.campus.swarm.plugins.module_utils._swarm_removal import RemovalInputError, host_names
from ansible_collections.campus.swarm.plugins.plugin_utils import _swarm_math as sm
from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports
from ansible_collections.campus.swarm.plugins.plugin_utils._swarm_unseal import UnsealError, unsealed_key


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


@reports("swarm_host_list", RemovalInputError)
def swarm_host_list(names: Any) -> list[str]:
    """The host names given as a list or as ``a,b`` (``-e nodes=a,b``): trimmed, once each, in order."""
    return host_names(names)


def swarm_unsealed_key(key_file: str, unlock_keys: str | list[str]) -> dict[str, str]:
    """A manager's TLS key file out of its autolock seal, with the first of ``unlock_keys`` (a key, or keys to
    try in turn) that opens it: ``key`` (the file's new text, the same text when it was not sealed) and
    ``error`` ('' or why none opens it, naming no key)."""
    keys = [unlock_keys] if isinstance(unlock_keys, str) else [str(k) for k in unlock_keys]
    errors = []
    for key in [k for k in keys if k.strip()]:
        try:
            return {"key": unsealed_key(str(key_file), key), "error": ""}
        except UnsealError as exc:
            errors.append(str(exc))
    if not errors:
        return {"key": "", "error": "no unlock key was given"}
    return {"key": "", "error": errors[0] if len(errors) == 1 else f"none of the {len(errors)} unlock keys opens it ({errors[-1]})"}


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
            "swarm_host_list": swarm_host_list,
            "swarm_unsealed_key": swarm_unsealed_key,
        }
