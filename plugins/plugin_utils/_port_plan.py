# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Pure helpers behind the ``campus.swarm`` port probe filters.

:func:`port_plan` turns the swarm's nodes into what each node listens on,
expects and probes (the options of campus.swarm.swarm_port_probe);
:func:`port_matrix` turns every node's probe results into a matrix, one line
per pair and one sentence per blocked port. Every function raises
:class:`PortPlanError` on input of the wrong shape; the filters turn it into
``AnsibleFilterError`` with the filter's name.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_SWARM_PORT = 2377
DEFAULT_DATA_PATH_PORT = 4789
GOSSIP_PORT = 7946
PROTOCOLS = ("tcp", "udp")
STATUSES = ("open", "refused", "timeout", "held", "error")
BLOCKED = ("refused", "timeout", "error")
# What campus.swarm.swarm_port_probe says for a plain refusal; anything else is worth quoting.
_PLAIN_REFUSALS = ("", "connection refused", "port unreachable (ICMP)")

_NAME = re.compile(r"^\S{1,255}$")
_HELD = re.compile(r"^\s*(\d+)\s*/\s*(tcp|udp)\s*$", re.IGNORECASE)

Endpoint = tuple[int, str]


class PortPlanError(ValueError):
    """Input of the wrong type or shape; the message names the bad value."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _port(what: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not _is_int(value) or not 1 <= value <= 65535:
        raise PortPlanError(f"{what} must be a port number from 1 to 65535, got {value!r}")
    return int(value)


def _items(what: str, value: Any) -> list[Any]:
    """A list (or other non-string iterable, such as the output of ``map``) as a list."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise PortPlanError(f"{what} must be a list, got {value!r}")
    return list(value)


def _address(name: str, value: Any) -> str:
    """An IPv4 or IPv6 address (brackets allowed) in its normal form."""
    if not isinstance(value, str) or not value.strip():
        raise PortPlanError(f"node {name!r}: address must be an IPv4 or IPv6 address, got {value!r}")
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError as exc:
            raise PortPlanError(f"node {name!r}: {value!r} does not hold an IPv6 address between the brackets") from exc
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise PortPlanError(f"node {name!r}: address {value!r} is not an IPv4 or IPv6 address") from exc


def listen_ports(manager: bool, swarm_port: int = DEFAULT_SWARM_PORT,
                 data_path_port: int = DEFAULT_DATA_PATH_PORT) -> list[Endpoint]:
    """What a node must be reachable on: the swarm port (managers only), gossip TCP and UDP, the data path."""
    gossip_and_data = [(GOSSIP_PORT, "tcp"), (GOSSIP_PORT, "udp"), (data_path_port, "udp")]
    return [(swarm_port, "tcp"), *gossip_and_data] if manager else gossip_and_data


def _held_entry(name: str, entry: Any) -> Endpoint:
    if isinstance(entry, str):
        match = _HELD.match(entry)
        if not match:
            raise PortPlanError(f"node {name!r}: held entry {entry!r} is not of the form port/proto, such as 7946/udp")
        return _port(f"node {name!r}: held entry {entry!r}", int(match.group(1))), match.group(2).lower()
    if isinstance(entry, Mapping):
        proto = str(entry.get("proto") or "").lower()
        if proto not in PROTOCOLS:
            raise PortPlanError(f"node {name!r}: held entry {dict(entry)!r} needs proto tcp or udp")
        return _port(f"node {name!r}: held entry {dict(entry)!r}", entry.get("port")), proto
    raise PortPlanError(f"node {name!r}: held entry {entry!r} must be a port/proto string or a {{port, proto}} dict")


class _Node:
    __slots__ = ("address", "held", "listen", "manager", "name")

    def __init__(self, name: str, address: str, manager: bool, listen: list[Endpoint], held: set[Endpoint]) -> None:
        self.name = name
        self.address = address
        self.manager = manager
        self.listen = listen
        self.held = held


def _node(index: int, entry: Any, swarm_port: int, data_path_port: int) -> _Node:
    if not isinstance(entry, Mapping):
        raise PortPlanError(f"node {index} must be a dict with name, address and manager, got {entry!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise PortPlanError(f"node {index} needs a name without spaces, got {name!r}")
    manager = entry.get("manager", False)
    if not isinstance(manager, bool):
        raise PortPlanError(f"node {name!r}: manager must be true or false, got {manager!r}")
    address = _address(name, entry.get("address"))
    listen = listen_ports(manager, swarm_port, data_path_port)
    held_value = entry.get("held")
    held = {_held_entry(name, item) for item in _items(f"node {name!r}: held", held_value)} if held_value else set()
    extra = sorted(held - set(listen))
    if extra:
        raise PortPlanError(f"node {name!r}: held {', '.join(f'{p}/{t}' for p, t in extra)} is not among the ports "
                            f"the node listens on ({', '.join(f'{p}/{t}' for p, t in listen)})")
    return _Node(name, address, manager, listen, held)


def _check_ports(swarm_port: Any, data_path_port: Any) -> tuple[int, int]:
    swarm = _port("swarm_port", swarm_port)
    data_path = _port("data_path_port", data_path_port)
    if swarm == GOSSIP_PORT:
        raise PortPlanError(f"swarm_port {swarm} is the gossip port {GOSSIP_PORT}: choose another")
    if data_path in (GOSSIP_PORT, swarm):
        raise PortPlanError(f"data_path_port {data_path} must differ from the gossip port {GOSSIP_PORT} "
                            f"and from swarm_port {swarm}")
    return swarm, data_path


def _endpoint(endpoint: Endpoint) -> dict[str, Any]:
    return {"port": endpoint[0], "proto": endpoint[1]}


def port_plan(nodes: Any, data_path_port: Any = DEFAULT_DATA_PATH_PORT,
              swarm_port: Any = DEFAULT_SWARM_PORT) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per node name: the ports to ``listen`` on, the probes to ``expect``, the ``targets`` to probe."""
    swarm, data_path = _check_ports(swarm_port, data_path_port)
    parsed = [_node(index, entry, swarm, data_path) for index, entry in enumerate(_items("nodes", nodes))]
    seen: dict[str, str] = {}
    for node in parsed:
        if node.name in seen:
            raise PortPlanError(f"node name {node.name!r} is given twice")
        if node.address in seen.values():
            other = next(name for name, address in seen.items() if address == node.address)
            raise PortPlanError(f"address {node.address} is given for both {other!r} and {node.name!r}")
        seen[node.name] = node.address
    ordered = sorted(parsed, key=lambda n: n.name)
    plan: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for node in parsed:
        others = [other for other in ordered if other.name != node.name]
        plan[node.name] = {
            "listen": [_endpoint(e) for e in node.listen],
            # A probe towards a held port reaches its holder (or is not made, for UDP): not this node's listener.
            "expect": [{"source": other.name, **_endpoint(e)} for other in others
                       for e in node.listen if e not in node.held],
            "targets": [{"name": other.name, "address": other.address, **_endpoint(e), "held": e in other.held}
                        for other in others for e in other.listen],
        }
    return plan


def _text(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise PortPlanError(f"{what} must be a non-empty string, got {value!r}")
    return value


class _Result:
    __slots__ = ("address", "detail", "key", "seconds", "source", "status", "target")

    def __init__(self, source: str, where: str, entry: Any) -> None:
        if not isinstance(entry, Mapping):
            raise PortPlanError(f"{where} must be a dict, got {entry!r}")
        self.source = source
        self.target = _text(f"{where}.name", entry.get("name"))
        self.address = str(entry.get("address") or "")
        proto = entry.get("proto")
        if proto not in PROTOCOLS:
            raise PortPlanError(f"{where}.proto must be tcp or udp, got {proto!r}")
        self.key = f"{_port(f'{where}.port', entry.get('port'))}/{proto}"
        status = entry.get("status")
        if status not in STATUSES:
            raise PortPlanError(f"{where}.status must be one of {', '.join(STATUSES)}, got {status!r}")
        self.status = str(status)
        self.detail = str(entry.get("detail") or "")
        seconds = entry.get("seconds")
        self.seconds = float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None

    def what(self) -> str:
        if self.status == "timeout":
            within = f" within {round(self.seconds, 1):g} s" if self.seconds is not None else ""
            return f"no answer{within} (dropped by a firewall on the way or on {self.target})"
        if self.status == "refused":
            if self.detail in _PLAIN_REFUSALS:
                return "refused (a firewall rejects it, or nothing listens)"
            return f"refused: {self.detail}"
        return f"error: {self.detail or 'no detail'}"


def _named(name: str, address: str) -> str:
    return f"{name} ({address})" if address else name


def port_matrix(results: Any) -> dict[str, Any]:
    """Matrix, one line per source -> target pair, and one sentence per blocked port, sorted by source and target."""
    by_source: dict[str, list[_Result]] = {}
    for index, item in enumerate(_items("results", results)):
        if not isinstance(item, Mapping) or not isinstance(item.get("source"), str) or not item.get("source"):
            raise PortPlanError(f"item {index} must be a probe result with a source and results "
                                f"(was the probe skipped or failed on that host?), got {item!r}")
        source = str(item["source"])
        if source in by_source:
            raise PortPlanError(f"source {source!r} is given twice")
        entries = _items(f"the results of {source!r}", item.get("results"))
        by_source[source] = [_Result(source, f"results of {source!r}[{i}]", e) for i, e in enumerate(entries)]
    addresses: dict[str, str] = {}
    for source in sorted(by_source):
        for result in by_source[source]:
            addresses.setdefault(result.target, result.address)
    matrix: dict[str, dict[str, dict[str, str]]] = {}
    pairs: dict[tuple[str, str], list[_Result]] = {}
    for source in sorted(by_source):
        matrix[source] = {}
        for result in by_source[source]:
            matrix[source].setdefault(result.target, {})[result.key] = result.status
            pairs.setdefault((source, result.target), []).append(result)
    lines: list[str] = []
    blocked: list[str] = []
    for source, target in sorted(pairs):
        found = pairs[(source, target)]
        lines.append(f"{source} -> {_named(target, found[0].address)}: "
                     + ", ".join(f"{r.key} {r.status}" for r in found))
        blocked.extend(
            f"{_named(source, addresses.get(source, ''))} cannot reach {_named(target, r.address)} on {r.key}: {r.what()}"
            for r in found if r.status in BLOCKED
        )
    return {"matrix": matrix, "blocked": blocked, "lines": lines}
