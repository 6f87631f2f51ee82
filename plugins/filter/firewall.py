# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Filters for the host firewall (role campus.swarm.firewall)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils import _firewall as fw
from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports


@reports("firewall_rules", fw.FirewallInputError)
def firewall_rules(config: dict[str, Any]) -> dict[str, Any]:
    """The inbound rules and published-port policy of one host, for every backend."""
    return fw.rules(config)


@reports("firewall_ssh_lockout", fw.FirewallInputError)
def firewall_ssh_lockout(ssh_connection: str, ssh_port: int, sources: list[str]) -> str:
    """``''`` when Ansible's own SSH connection stays allowed, else the reason it would be cut."""
    return fw.ssh_lockout(ssh_connection, ssh_port, sources)


@reports("firewall_ufw_commands", fw.FirewallInputError)
def firewall_ufw_commands(rules: list[dict[str, Any]], tuple_lines: list[str], tag: str) -> list[str]:
    """The ufw commands (adds, then deletes) that make ufw's rules match the rules of ``firewall_rules``."""
    return fw.ufw_commands(rules, tuple_lines, tag)


class FilterModule:
    """Firewall filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "firewall_rules": firewall_rules,
            "firewall_ssh_lockout": firewall_ssh_lockout,
            "firewall_ufw_commands": firewall_ufw_commands,
        }
