# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Checks of overlay network declarations (role campus.swarm.networks)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ansible.errors import AnsibleFilterError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Linux accepts 68..65535; VXLAN adds 50 bytes on top of the overlay MTU.
_MTU_RANGE = (68, 9000)


def _check_one(index: int, net: Any) -> tuple[list[str], ipaddress.IPv4Network | ipaddress.IPv6Network | None]:
    if not isinstance(net, dict):
        return [f"item {index} must be a dict with at least 'name', got {net!r}"], None
    name = net.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        return [f"item {index} has no valid 'name' (letters, digits, '_', '.', '-'), got {name!r}"], None
    errors: list[str] = []
    subnet = None
    if "subnet" in net:
        try:
            subnet = ipaddress.ip_network(str(net["subnet"]), strict=True)
        except ValueError as exc:
            errors.append(f"{name}: subnet {net['subnet']!r} is not a network address in CIDR form ({exc})")
    if "gateway" in net:
        try:
            gateway = ipaddress.ip_address(str(net["gateway"]))
        except ValueError:
            errors.append(f"{name}: gateway {net['gateway']!r} is not an IP address")
        else:
            if subnet is None and "subnet" not in net:
                errors.append(f"{name}: gateway {gateway} needs a subnet")
            elif subnet is not None and gateway not in subnet:
                errors.append(f"{name}: gateway {gateway} lies outside subnet {subnet}")
    if "mtu" in net:
        mtu = net["mtu"]
        if isinstance(mtu, bool) or not isinstance(mtu, int) or not _MTU_RANGE[0] <= mtu <= _MTU_RANGE[1]:
            errors.append(f"{name}: mtu {mtu!r} must be an integer from {_MTU_RANGE[0]} to {_MTU_RANGE[1]}")
    for flag in ("attachable", "encrypted", "internal"):
        if flag in net and not isinstance(net[flag], bool):
            errors.append(f"{name}: {flag} must be true or false, got {net[flag]!r}")
    if net.get("state", "present") not in ("present", "absent"):
        errors.append(f"{name}: state must be present or absent, got {net['state']!r}")
    return errors, subnet


def overlay_declaration_errors(networks: Any) -> list[str]:
    """Return one sentence per problem in a ``networks_overlays`` list; [] when it is fine."""
    if not isinstance(networks, list):
        raise AnsibleFilterError(f"overlay_declaration_errors: expected a list of networks, got {type(networks).__name__}")
    errors: list[str] = []
    seen: dict[str, int] = {}
    subnets: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for index, net in enumerate(networks):
        item_errors, subnet = _check_one(index, net)
        errors.extend(item_errors)
        name = net.get("name") if isinstance(net, dict) else None
        if isinstance(name, str):
            if name in seen:
                errors.append(f"{name} is declared twice (items {seen[name]} and {index})")
            seen.setdefault(name, index)
        if subnet is not None and isinstance(name, str) and net.get("state", "present") == "present":
            for other_name, other in subnets:
                if subnet.version == other.version and subnet.overlaps(other):  # type: ignore[arg-type]
                    errors.append(f"{name}: subnet {subnet} overlaps {other} of {other_name}")
            subnets.append((name, subnet))
    return errors


class FilterModule:
    """Network declaration filters."""

    def filters(self) -> dict[str, Any]:
        return {"overlay_declaration_errors": overlay_declaration_errors}
