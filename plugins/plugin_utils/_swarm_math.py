# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Pure helpers behind the ``campus.swarm`` swarm filters.

Raft arithmetic, join addresses, address pool checks, misspelt variable
detection and overlay network comparison. Every function raises
:class:`SwarmInputError` on input of the wrong shape; the filters turn it
into ``AnsibleFilterError`` with the filter's name.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_USEFUL_MANAGERS = 7
MAX_SWARM_SUBNET_SIZE = 29
DEFAULT_SWARM_PORT = 2377
# What an overlay without that option is planned for: Docker's default underlay MTU.
DEFAULT_UNDERLAY_MTU = 1500

_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SwarmInputError(ValueError):
    """Input of the wrong type or shape; the message names the bad value."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _manager_count(managers: Any, minimum: int) -> int:
    if not _is_int(managers):
        raise SwarmInputError(f"the manager count must be an integer, got {managers!r}")
    if managers < minimum:
        raise SwarmInputError(f"the manager count must be at least {minimum}, got {managers}")
    return int(managers)


def quorum(managers: Any) -> int:
    """Raft majority of ``managers`` managers: ``floor(n/2) + 1``."""
    return _manager_count(managers, 1) // 2 + 1


def fault_tolerance(managers: Any) -> int:
    """How many of ``managers`` managers may fail while the swarm keeps quorum."""
    return (_manager_count(managers, 1) - 1) // 2


def _failures(count: int) -> str:
    return f"{count} failure" if count == 1 else f"{count} failures"


def manager_count_problem(managers: Any) -> str:
    """Return ``''`` for a sound manager count (odd, 1 to 7), else a sentence saying why not."""
    count = _manager_count(managers, 0)
    if count == 0:
        return "no managers: a swarm needs at least one manager, and three to survive the loss of one"
    if count > MAX_USEFUL_MANAGERS:
        return (
            f"{count} managers: more than {MAX_USEFUL_MANAGERS} managers slow down raft consensus "
            "(every write goes to a majority) without a useful gain in fault tolerance: use 3, 5 or 7 managers"
        )
    if count % 2 == 0:
        return (
            f"{count} managers tolerate {_failures(fault_tolerance(count))}, the same as {count - 1}, "
            f"and need {quorum(count)} for quorum: use an odd number of managers"
        )
    return ""


def _valid_hostname(name: str) -> bool:
    name = name[:-1] if name.endswith(".") else name
    return 0 < len(name) <= 253 and all(_HOSTNAME_LABEL.match(label) for label in name.split("."))


def join_addr(addr: Any, port: Any = DEFAULT_SWARM_PORT) -> str:
    """Return ``host:port`` for ``docker swarm join``; IPv6 addresses are bracketed.

    ``addr`` is an IPv4 or IPv6 address (bracketed or not) or a hostname; an
    existing ``:port`` is dropped when unambiguous (IPv4, hostname, bracketed
    IPv6) and replaced by ``port``.
    """
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if not _is_int(port) or not 1 <= port <= 65535:
        raise SwarmInputError(f"port must be an integer between 1 and 65535, got {port!r}")
    if not isinstance(addr, str) or not addr.strip():
        raise SwarmInputError(f"the address must be a non-empty string, got {addr!r}")
    text = addr.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            raise SwarmInputError(f"{addr!r} is not a bracketed IPv6 address such as [2001:db8::1] or [2001:db8::1]:2377")
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise SwarmInputError(f"{addr!r} does not hold an IPv6 address between the brackets") from exc
        return f"[{host}]:{port}"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    host = text
    if text.count(":") == 1:
        host, old_port = text.split(":")
        if not old_port.isdigit():
            raise SwarmInputError(f"{addr!r} has a port that is not a number")
    elif ":" in text:
        raise SwarmInputError(f"{addr!r} is neither an IPv4/IPv6 address nor a hostname")
    if not _valid_hostname(host):
        raise SwarmInputError(f"{addr!r} is neither an IPv4/IPv6 address nor a hostname")
    return f"{host}:{port}"


def _reserved_ranges(reserved: Iterable[Any], errors: list[str]) -> list[tuple[IPNetwork, str]]:
    ranges: list[tuple[IPNetwork, str]] = []
    for entry in reserved:
        name = ""
        cidr = entry
        if isinstance(entry, Mapping):
            cidr = entry.get("cidr")
            name = str(entry.get("name") or "")
        label = f"campus range {cidr!r}" + (f" ({name})" if name else "")
        if not isinstance(cidr, str) or "/" not in cidr:
            errors.append(f"{label} is not a CIDR range such as 10.20.0.0/16")
            continue
        try:
            ranges.append((ipaddress.ip_network(cidr.strip(), strict=False), name))
        except ValueError as exc:
            errors.append(f"{label} is not a CIDR range: {exc}")
    return ranges


def ipv4_network(label: str, value: Any, example: str, errors: list[str], ipv6_reason: str = "") -> ipaddress.IPv4Network | None:
    """An IPv4 network without host bits, else ``None`` and a sentence naming ``label``."""
    if not isinstance(value, str) or "/" not in value:
        errors.append(f"{label} {value!r} is not a CIDR network such as {example}")
        return None
    try:
        network = ipaddress.ip_network(value.strip())
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            errors.append(f"{label} {value!r} is not a CIDR network: {exc}")
        else:
            errors.append(f"{label} {value.strip()} has host bits set: the network is {loose}")
        return None
    if not isinstance(network, ipaddress.IPv4Network):
        errors.append(f"{label} {network} is IPv6: {ipv6_reason or 'it must be an IPv4 network such as ' + example}")
        return None
    return network


def _pool(pool: Any, errors: list[str]) -> ipaddress.IPv4Network | None:
    return ipv4_network("swarm_default_addr_pool", pool, "10.0.0.0/8", errors, "swarm address pools must be IPv4")


def address_pool_errors(pools: Any, subnet_size: Any, reserved: Any = None) -> list[str]:
    """Validate swarm ``default_addr_pool`` and ``subnet_size``; return one sentence per problem."""
    if not isinstance(pools, list):
        raise SwarmInputError(f"the pools must be a list of CIDR strings, got {pools!r}")
    reserved = [] if reserved is None else reserved
    if not isinstance(reserved, list):
        raise SwarmInputError(f"reserved must be a list of CIDR strings or {{name, cidr}} dicts, got {reserved!r}")
    errors: list[str] = []
    networks: list[ipaddress.IPv4Network] = []
    for pool in pools:
        network = _pool(pool, errors)
        if network is not None:
            networks.append(network)
    size_ok = _is_int(subnet_size)
    if not size_ok:
        errors.append(f"swarm_subnet_size must be an integer prefix length such as 24, got {subnet_size!r}")
    for network in networks:
        if size_ok and not network.prefixlen <= subnet_size <= MAX_SWARM_SUBNET_SIZE:
            errors.append(
                f"swarm_subnet_size {subnet_size} must be between swarm_default_addr_pool {network}'s prefix length "
                f"{network.prefixlen} and {MAX_SWARM_SUBNET_SIZE}"
            )
    for index, network in enumerate(networks):
        for other in networks[index + 1:]:
            if network.overlaps(other):
                errors.append(f"swarm_default_addr_pool {network} overlaps swarm_default_addr_pool {other}")
    for cidr, name in _reserved_ranges(reserved, errors):
        for network in networks:
            if cidr.version == network.version and network.overlaps(cidr):
                errors.append(f"swarm_default_addr_pool {network} overlaps campus range {cidr}" + (f" ({name})" if name else ""))
    return errors


def unknown_vars(names: Any, known: Any, prefixes: Any) -> list[dict[str, str]]:
    """Names carrying one of ``prefixes`` that are not ``known``, each with the closest known name."""
    for label, value in (("names", names), ("known", known), ("prefixes", prefixes)):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise SwarmInputError(f"{label} must be a list of strings, got {value!r}")
    known_names = [str(name) for name in known]
    known_set = set(known_names)
    prefix_tuple = tuple(str(prefix) for prefix in prefixes)
    if not prefix_tuple:
        return []
    found = []
    for name in sorted({str(name) for name in names}):
        if name.startswith("__") or not name.startswith(prefix_tuple) or name in known_set:
            continue
        close = difflib.get_close_matches(name, known_names, n=1)
        found.append({"name": name, "suggestion": close[0] if close else ""})
    return found
