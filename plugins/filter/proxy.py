# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""NO_PROXY for swarm nodes behind an HTTP proxy (role campus.swarm.docker)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

LOOPBACK = ["localhost", "127.0.0.1", "::1"]


def _list(value: Any, label: str) -> list[str]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise AnsibleFilterError(f"swarm_no_proxy: {label} must be a list, got {value!r}")
    return [str(item).strip() for item in value if str(item).strip()]


def swarm_no_proxy(hosts: list[str], hostvars: Any, ranges: list[str] | None = None, extra: list[str] | None = None) -> list[str]:
    """Everything the nodes reach without the proxy: loopback, every node's inventory name,
    ``ansible_host`` and ``swarm_advertise_addr``, the address ranges Docker uses, then the
    user's additions; no duplicates. Inventory only (no facts), and the hosts in the order
    of their names (not of the groups, which swapping a manager and a worker reorders), so
    that every run, limited or not, computes the same list and no engine restarts for nothing."""
    entries = list(LOOPBACK)
    for host in sorted(_list(hosts, "hosts")):
        hv = hostvars[host]
        entries.append(host)
        for value in (hv.get("ansible_host"), hv.get("swarm_advertise_addr")):
            if value:
                entries.append(str(value).strip("[]"))
    entries += _list(ranges or [], "ranges") + _list(extra or [], "extra")
    return list(dict.fromkeys(entries))


class FilterModule:
    """Proxy filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"swarm_no_proxy": swarm_no_proxy}
