# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Pure helper behind ``campus.swarm.swarm_address_plan_errors``.

Docker on a swarm node uses several address ranges: docker0 (``docker_bip``),
the local bridge pools (``docker_default_address_pools``), docker_gwbridge
(``networks_gwbridge_subnet``), the overlay pools (``swarm_default_addr_pool``),
the ingress network (``networks_ingress_subnet``) and explicit overlay subnets
(``networks_overlays``). :func:`address_plan_errors` checks them against each
other, against the host's routes and against the campus ranges, and returns one
sentence per clash naming both ranges, the variable that sets ours and the fix.

Docker behaviour this relies on (moby sources, engine 23 to 28):

* Unset ``bip``: with no ``default-address-pools`` docker0 keeps its address
  or takes the first free default pool, 172.17.0.0/16. With pools configured
  the daemon deletes docker0 at start and takes its network from those pools
  (``configureNetworking`` / ``initBridgeDriver`` in daemon/daemon_unix.go);
  live-restore would keep the old docker0, but the docker role refuses
  live-restore on swarm nodes.
* Set ``bip``: docker0's network is a static IPAM allocation made again at
  every daemon start, after the networks the daemon already has were reserved.
  A static allocation that overlaps an allocated subnet fails
  (``allocateSubnetL`` in libnetwork/ipams/defaultipam/address_space.go), so
  the daemon does not start (moby/moby#46098).
* Dynamic allocation from a pool skips subnets already allocated and, for
  local (bridge) networks only, the host's nameservers and *on-link* routes;
  routes through a gateway are not avoided since engine 23
  (``InferReservedNetworks`` in libnetwork/netutils/utils_linux.go, moby/moby#42598).
  Swarm-scope (overlay) allocation avoids no host route at all.
* Docker's defaults: local pools 172.17.0.0/16 to 172.31.0.0/16 cut into /16
  and 192.168.0.0/16 cut into /20 (libnetwork/ipamutils); overlay pool
  10.0.0.0/8 cut into /24.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils._swarm_math import (
    IPNetwork,
    SwarmInputError,
    _is_int,
    _reserved_ranges,
    ipv4_network,
)

DOCKER_DEFAULT_BIP = "172.17.0.1/16"
DOCKER_DEFAULT_LOCAL_POOLS = (*(f"172.{octet}.0.0/16" for octet in range(17, 32)), "192.168.0.0/16")
DOCKER_DEFAULT_ADDR_POOL = "10.0.0.0/8"
MAX_LOCAL_POOL_SIZE = 31  # a /32 leaves no address for the gateway
MAX_BIP_PREFIX = 30  # docker0 needs its own address and one for a container

# Devices Docker creates; their routes are Docker's own ranges (on a re-run
# docker0 and docker_gwbridge route exactly the planned bip and gwbridge
# networks), never a clash with the host's networks. User-defined bridges are
# br- and 12 hex digits of the network ID, so a host bridge such as br-mgmt
# still counts as the host's.
_DOCKER_DEVICE = re.compile(r"^(?:docker0|docker_gwbridge|br-[0-9a-f]{12}|veth[0-9a-f]+|vx-.+)$")

_BIP = "bip"
_LOCAL = "local pool"
_GWBRIDGE = "gwbridge"
_POOL = "overlay pool"
_INGRESS = "ingress"
_OVERLAY = "overlay"

# Pairs of kinds that may overlap (order as in the range list).
_MAY_OVERLAP = {
    # The swarm allocator reserves explicit subnets inside its pools and skips
    # them when it hands out subnets, so ingress and declared overlay subnets
    # may lie in swarm_default_addr_pool.
    (_POOL, _INGRESS),
    (_POOL, _OVERLAY),
    # Checked by swarm_address_pool_errors and overlay_declaration_errors.
    (_POOL, _POOL),
    (_OVERLAY, _OVERLAY),
}


@dataclass(frozen=True)
class _Range:
    kind: str
    var: str
    networks: tuple[IPNetwork, ...]
    default: bool = False
    given: str = ""  # docker_bip as written
    owner: str = ""  # overlay network name

    def overlapping(self, others: Iterable[IPNetwork]) -> list[IPNetwork]:
        others = list(others)
        return [net for net in self.networks if any(net.version == o.version and net.overlaps(o) for o in others)]

    def describe(self, nets: Sequence[IPNetwork]) -> str:
        shown = _join(nets)
        if self.kind == _BIP:
            if self.default:
                return f"Docker's default docker0 network {shown} (docker_bip is unset)"
            return f"docker_bip {self.given} (docker0 network {shown})"
        if self.kind == _LOCAL:
            if self.default:
                noun = "pools" if len(nets) > 1 else "pool"
                return f"Docker's default local {noun} {shown} (docker_default_address_pools is unset)"
            return f"docker_default_address_pools base {shown}"
        if self.kind == _GWBRIDGE:
            return f"networks_gwbridge_subnet {shown} (docker_gwbridge)"
        if self.kind == _POOL:
            if self.default:
                return f"Docker's default overlay pool {shown} (swarm_default_addr_pool is unset)"
            return f"swarm_default_addr_pool {shown}"
        if self.kind == _INGRESS:
            return f"networks_ingress_subnet {shown} (ingress)"
        return f"networks_overlays {self.owner} subnet {shown}"

    @property
    def handle(self) -> str:
        """What the user edits to move this range."""
        return f"the subnet of {self.owner} in networks_overlays" if self.kind == _OVERLAY else self.var

    @property
    def verb(self) -> str:
        return "set" if self.default else "change"

    @property
    def target(self) -> str:
        """Start of the fix: the variable and what it should be set to."""
        return {
            _BIP: "set docker_bip to an address",
            _LOCAL: "set docker_default_address_pools to pools",
            _GWBRIDGE: "set networks_gwbridge_subnet to a subnet",
            _POOL: "set swarm_default_addr_pool to pools",
            _INGRESS: "set networks_ingress_subnet to a subnet",
        }.get(self.kind, f"give {self.owner} in networks_overlays a subnet")


@dataclass(frozen=True)
class _Route:
    network: IPNetwork
    text: str
    on_link: bool


def _join(nets: Sequence[IPNetwork]) -> str:
    if len(nets) > 3:
        return f"{nets[0]} to {nets[-1]}"
    return ", ".join(str(net) for net in nets)


def _verb(rng: _Range, nets: Sequence[IPNetwork]) -> str:
    return "overlap" if rng.default and len(nets) > 1 else "overlaps"


def _text(value: Any) -> str:
    """Strip a string variable; '' for unset (missing, None or blank)."""
    return value.strip() if isinstance(value, str) else ""


def _string_var(plan: Mapping[str, Any], var: str, example: str) -> str:
    value = plan.get(var)
    if value is not None and not isinstance(value, str):
        raise SwarmInputError(f"{var} must be a string such as {example} or '', got {value!r}")
    return _text(value)


def _list_var(plan: Mapping[str, Any], var: str, what: str) -> list[Any] | None:
    value = plan.get(var)
    if value is not None and not isinstance(value, list):
        raise SwarmInputError(f"{var} must be a list of {what}, got {value!r}")
    return value


def _bip(text: str, errors: list[str]) -> _Range | None:
    """docker0's range from ``docker_bip``, an interface address in CIDR form (host bits set on purpose)."""
    if "/" not in text:
        errors.append(f"docker_bip {text!r} is not an address in CIDR form such as 172.79.0.1/24")
        return None
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError as exc:
        errors.append(f"docker_bip {text!r} is not an address in CIDR form: {exc}")
        return None
    network = iface.network
    if not isinstance(iface, ipaddress.IPv4Interface):
        errors.append(f"docker_bip {text} is IPv6: docker0's address must be IPv4 such as 172.79.0.1/24")
        return None
    example = f"{network.network_address + 1}/{network.prefixlen}"
    if network.prefixlen > MAX_BIP_PREFIX:
        errors.append(f"docker_bip {text} leaves docker0 no address for containers: use a prefix length of {MAX_BIP_PREFIX} or less")
        return None
    if iface.ip in (network.network_address, network.broadcast_address):
        which = "network" if iface.ip == network.network_address else "broadcast"
        errors.append(
            f"docker_bip {text} is the {which} address of {network}: docker_bip is docker0's own address "
            f"in CIDR form, such as {example}"
        )
        return None
    return _Range(_BIP, "docker_bip", (network,), given=text)


def _local_pools(pools: list[Any], errors: list[str]) -> list[_Range]:
    ranges = []
    for index, entry in enumerate(pools):
        if not isinstance(entry, Mapping):
            raise SwarmInputError(f"docker_default_address_pools item {index} must be a dict with base and size, got {entry!r}")
        base = ipv4_network("docker_default_address_pools base", entry.get("base"), "172.80.0.0/16", errors)
        if base is None:
            continue
        size: Any = entry.get("size")
        if not _is_int(size):
            errors.append(f"docker_default_address_pools base {base} needs an integer size such as 24, got {size!r}")
        elif not base.prefixlen <= size <= MAX_LOCAL_POOL_SIZE:
            errors.append(
                f"docker_default_address_pools size {size} must be between base {base}'s prefix length "
                f"{base.prefixlen} and {MAX_LOCAL_POOL_SIZE}"
            )
        ranges.append(_Range(_LOCAL, "docker_default_address_pools", (base,)))
    return ranges


def _overlay_pools(pools: list[Any] | None) -> list[_Range]:
    if pools is None:
        return [_Range(_POOL, "swarm_default_addr_pool", (ipaddress.IPv4Network(DOCKER_DEFAULT_ADDR_POOL),), default=True)]
    ranges = []
    for pool in pools:
        # Entries that are not IPv4 networks are reported by swarm_address_pool_errors.
        try:
            network = ipaddress.ip_network(pool.strip()) if isinstance(pool, str) else None
        except ValueError:
            network = None
        if isinstance(network, ipaddress.IPv4Network):
            ranges.append(_Range(_POOL, "swarm_default_addr_pool", (network,)))
    return ranges


def _overlays(networks: list[Any]) -> list[_Range]:
    """Declared overlay subnets that will exist; overlay_declaration_errors reports bad declarations."""
    ranges = []
    for net in networks:
        if not isinstance(net, Mapping) or net.get("state", "present") != "present" or not isinstance(net.get("subnet"), str):
            continue
        try:
            subnet = ipaddress.ip_network(net["subnet"].strip())
        except ValueError:
            continue
        ranges.append(_Range(_OVERLAY, "networks_overlays", (subnet,), owner=str(net.get("name"))))
    return ranges


def _routes(routes: Any) -> list[_Route]:
    if routes is None:
        return []
    if not isinstance(routes, list):
        raise SwarmInputError(f"routes must be a list of routes as `ip -j route show` prints them, got {routes!r}")
    found = []
    for route in routes:
        if not isinstance(route, Mapping) or not isinstance(route.get("dst"), str):
            raise SwarmInputError(f"route {route!r} has no dst: routes must be as `ip -j route show` prints them")
        dst = route["dst"].strip()
        dev = str(route.get("dev") or "")
        if dst == "default" or _DOCKER_DEVICE.match(dev):
            continue
        try:
            network = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            # Not chained: ansible-core 2.19 repeats the causes' messages in the filter error.
            raise SwarmInputError(f"route {route!r} has a dst that is neither an address nor a CIDR network") from None
        if network.prefixlen == 0:
            continue
        text = f"the route {dst}"
        if route.get("gateway"):
            text += f" via {route['gateway']}"
        if dev:
            text += f" (dev {dev})"
        elif route.get("type"):
            text += f" ({route['type']})"
        found.append(_Route(network, text, route.get("scope") == "link"))
    return found


def _pair_errors(ranges: list[_Range], bip_set: bool) -> list[str]:
    errors = []
    for index, first in enumerate(ranges):
        for second in ranges[index + 1:]:
            if (first.kind, second.kind) in _MAY_OVERLAP or (first.default and second.default):
                continue
            ours = first.overlapping(second.networks)
            if not ours:
                continue
            theirs = second.overlapping(ours)
            a, b = first.describe(ours), second.describe(theirs)
            overlaps = _verb(first, ours)
            if (first.kind, second.kind) == (_BIP, _LOCAL):
                # Conservative: on a fresh host docker0 is allocated first and the
                # pool skips it, but a network the pool handed out before
                # docker_bip was set or changed makes the daemon fail to start.
                errors.append(
                    f"{a} {overlaps} {b}: Docker allocates docker0 again at every start and does not start when the pool "
                    "has already given that range to another network; move docker_bip outside the local pools"
                    + (" or set docker_default_address_pools" if second.default else "")
                )
            elif (first.kind, second.kind) == (_LOCAL, _GWBRIDGE):
                # docker_gwbridge inside a local pool is fine: it is a static
                # allocation and the pool skips allocated subnets when it hands
                # out networks (a range already handed out makes the network
                # creation fail loudly; the daemon keeps running). Only when
                # docker_bip is unset does docker0 itself come from these pools,
                # at daemon start, before docker_gwbridge exists.
                if bip_set or first.default:
                    continue
                errors.append(
                    f"{b} overlaps {a} while docker_bip is unset: Docker gives docker0 a range from the local pools when it "
                    "starts, before docker_gwbridge exists, and it can be this one; set docker_bip or move "
                    "networks_gwbridge_subnet outside the local pools"
                )
            elif first.handle == second.handle:
                errors.append(f"{a} {overlaps} {b}: change {first.handle} so that its ranges do not overlap")
            else:
                errors.append(
                    f"{a} {overlaps} {b}: {first.verb} {first.handle} or {second.verb} {second.handle} so that they do not overlap"
                )
    return errors


def _route_errors(ranges: list[_Range], routes: list[_Route], host: str) -> list[str]:
    where = f"host {host}" if host else "this host"
    errors = []
    for rng in ranges:
        for route in routes:
            # Docker avoids on-link routes when it picks docker0 or a bridge
            # network from its default pools itself; routes through a gateway it
            # does not avoid (engine 23+), and the overlay pool avoids none.
            if rng.default and rng.kind in (_BIP, _LOCAL) and route.on_link:
                continue
            ours = rng.overlapping([route.network])
            if ours:
                errors.append(
                    f"{rng.describe(ours)} {_verb(rng, ours)} {route.text} of {where}: {rng.target} outside the routes of {where}"
                )
    return errors


def _reserved_errors(ranges: list[_Range], reserved: list[tuple[IPNetwork, str]]) -> list[str]:
    errors = []
    for cidr, name in reserved:
        label = f"campus range {cidr}" + (f" ({name})" if name else "")
        for rng in ranges:
            # swarm_address_pool_errors already reports swarm_default_addr_pool
            # against the campus ranges; only Docker's default pool is ours.
            if rng.kind == _POOL and not rng.default:
                continue
            ours = rng.overlapping([cidr])
            if ours:
                errors.append(f"{rng.describe(ours)} {_verb(rng, ours)} {label}: {rng.target} outside the campus ranges")
    return errors


def address_plan_errors(plan: Any, routes: Any = None, reserved: Any = None, host: Any = "") -> list[str]:
    """Clashes in a swarm node's address plan; one sentence per problem, ``[]`` when fine.

    ``plan`` holds the role variables (``docker_bip``, ``docker_default_address_pools``,
    ``networks_gwbridge_subnet``, ``swarm_default_addr_pool``, ``networks_ingress_subnet``,
    ``networks_overlays``; missing means unset), ``routes`` the host's
    ``ip -j route show``, ``reserved`` the campus ranges (CIDR strings or
    ``{name, cidr}``) and ``host`` the inventory hostname for route sentences.
    """
    if not isinstance(plan, Mapping):
        raise SwarmInputError(f"the plan must be a dict of role variables such as docker_bip, got {plan!r}")
    if not isinstance(host, str):
        raise SwarmInputError(f"host must be the inventory hostname, got {host!r}")
    reserved = [] if reserved is None else reserved
    if not isinstance(reserved, list):
        raise SwarmInputError(f"reserved must be a list of CIDR strings or {{name, cidr}} dicts, got {reserved!r}")
    bip_text = _string_var(plan, "docker_bip", "172.79.0.1/24")
    local_pools = _list_var(plan, "docker_default_address_pools", "{base, size} dicts")
    gwbridge_text = _string_var(plan, "networks_gwbridge_subnet", "172.81.0.0/24")
    addr_pools = _list_var(plan, "swarm_default_addr_pool", "CIDR strings")
    ingress_text = _string_var(plan, "networks_ingress_subnet", "10.201.0.0/24")
    overlays = _list_var(plan, "networks_overlays", "network declarations") or []
    host_routes = _routes(routes)

    errors: list[str] = []
    ranges: list[_Range] = []
    if bip_text:
        bip = _bip(bip_text, errors)
        ranges.extend([bip] if bip else [])
    elif not local_pools:
        # With docker_default_address_pools set, docker0 is cut from those pools instead.
        network = ipaddress.IPv4Interface(DOCKER_DEFAULT_BIP).network
        ranges.append(_Range(_BIP, "docker_bip", (network,), default=True))
    if local_pools:
        ranges.extend(_local_pools(local_pools, errors))
    else:
        defaults = tuple(ipaddress.IPv4Network(pool) for pool in DOCKER_DEFAULT_LOCAL_POOLS)
        ranges.append(_Range(_LOCAL, "docker_default_address_pools", defaults, default=True))
    if gwbridge_text:
        gwbridge = ipv4_network("networks_gwbridge_subnet", gwbridge_text, "172.81.0.0/24", errors)
        ranges.extend([_Range(_GWBRIDGE, "networks_gwbridge_subnet", (gwbridge,))] if gwbridge else [])
    ranges.extend(_overlay_pools(addr_pools or None))  # [] also leaves Docker's default
    if ingress_text:
        ingress = ipv4_network("networks_ingress_subnet", ingress_text, "10.201.0.0/24", errors)
        ranges.extend([_Range(_INGRESS, "networks_ingress_subnet", (ingress,))] if ingress else [])
    ranges.extend(_overlays(overlays))

    # Entries of reserved that are not CIDR ranges are reported by swarm_address_pool_errors.
    campus = _reserved_ranges(reserved, [])
    errors += _pair_errors(ranges, bool(bip_text))
    errors += _route_errors(ranges, host_routes, host)
    errors += _reserved_errors(ranges, campus)
    return list(dict.fromkeys(errors))
