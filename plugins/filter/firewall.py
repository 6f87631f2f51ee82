# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Filters for the host firewall (role campus.swarm.firewall)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.plugin_utils import _firewall as fw


def firewall_rules(config: dict[str, Any]) -> dict[str, Any]:
    """The inbound rules and published-port policy of one host, for every backend."""
    try:
        return fw.rules(config)
    except fw.FirewallInputError as exc:
        raise AnsibleFilterError(f"firewall_rules: {exc}") from exc


def firewall_ssh_lockout(ssh_connection: str, ssh_port: int, sources: list[str]) -> str:
    """``''`` when Ansible's own SSH connection stays allowed, else the reason it would be cut."""
    try:
        return fw.ssh_lockout(ssh_connection, ssh_port, sources)
    except fw.FirewallInputError as exc:
        raise AnsibleFilterError(f"firewall_ssh_lockout: {exc}") from exc


def firewall_ufw_commands(rules: list[dict[str, Any]], tuple_lines: list[str], tag: str) -> list[str]:
    """The ufw commands (adds, then deletes) that make ufw's rules match the rules of ``firewall_rules``."""
    try:
        return fw.ufw_commands(rules, tuple_lines, tag)
    except fw.FirewallInputError as exc:
        raise AnsibleFilterError(f"firewall_ufw_commands: {exc}") from exc


class FilterModule:
    """Firewall filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "firewall_rules": firewall_rules,
            "firewall_ssh_lockout": firewall_ssh_lockout,
            "firewall_ufw_commands": firewall_ufw_commands,
        }
