# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The host firewall's rules as data, the same for every backend.

``rules()`` turns the firewall role's variables for one host into a list of
inbound rules (protocol, ports, IPv4 and IPv6 sources) and the policy for
ports that containers publish. The nftables template, the ufw commands and
the firewalld zone are all rendered from this one model, so the three
backends cannot drift apart. ``ssh_lockout()`` says whether the connection
Ansible itself uses would survive the rules. Errors in the input raise
:class:`FirewallInputError`; the filters turn it into ``AnsibleFilterError``.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PROTOCOLS = ("tcp", "udp")
# Swarm gossip (memberlist) uses one port for both protocols.
GOSSIP_PORT = 7946


class FirewallInputError(ValueError):
    """Input of the wrong type or shape; the message names the variable and the bad value."""


def _port(value: Any, label: str) -> int:
    if isinstance(value, bool):
        raise FirewallInputError(f"{label} must be a port number from 1 to 65535, got {value!r}")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= 65535:
        raise FirewallInputError(f"{label} must be a port number from 1 to 65535, got {value!r}")
    return value


def _networks(values: Any, label: str) -> list[IPNetwork]:
    """CIDR strings or bare addresses (a /32 or /128), host bits allowed; anything else raises."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise FirewallInputError(f"{label} must be a list of addresses or CIDR ranges, got {values!r}")
    networks: list[IPNetwork] = []
    for value in values:
        text = str(value).strip().strip("[]") if isinstance(value, str) else value
        if not isinstance(text, str) or not text:
            raise FirewallInputError(f"{label}: {value!r} is not an address or CIDR range such as 192.0.2.0/24")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise FirewallInputError(f"{label}: {value!r} is not an address or CIDR range such as 192.0.2.0/24 ({exc})") from exc
    return networks


def _family_sources(networks: list[IPNetwork]) -> dict[str, list[str] | None]:
    """Split sources by family; ``None`` means any address of that family, ``[]`` none."""
    out: dict[str, list[str] | None] = {}
    for version, key in ((4, "v4"), (6, "v6")):
        of_family = sorted({n for n in networks if n.version == version}, key=lambda n: (int(n.network_address), n.prefixlen))
        if any(n.prefixlen == 0 for n in of_family):
            out[key] = None
        else:
            out[key] = [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in _collapse(of_family)]
    return out


def _collapse(networks: list[IPNetwork]) -> list[IPNetwork]:
    """Drop networks that lie inside another one (nftables refuses overlapping set elements)."""
    kept: list[IPNetwork] = []
    for net in networks:
        if not any(net != other and net.subnet_of(other) for other in networks):  # type: ignore[arg-type]
            kept.append(net)
    return kept


def _rule(name: str, proto: str, ports: list[int], networks: list[IPNetwork]) -> dict[str, Any]:
    return {"name": name, "proto": proto, "ports": sorted(set(ports)), **_family_sources(networks)}


def _extra_rules(extra: Any) -> list[dict[str, Any]]:
    if isinstance(extra, (str, bytes, Mapping)) or not isinstance(extra, Sequence):
        raise FirewallInputError(f"firewall_extra_rules must be a list of {{name, port, proto, sources}} dicts, got {extra!r}")
    rules = []
    for index, item in enumerate(extra):
        if not isinstance(item, Mapping):
            raise FirewallInputError(f"firewall_extra_rules item {index} must be a dict with port, proto and sources, got {item!r}")
        name = str(item.get("name") or f"extra {index}")
        proto = item.get("proto", "tcp")
        if proto not in PROTOCOLS:
            raise FirewallInputError(f"firewall_extra_rules {name}: proto must be tcp or udp, got {proto!r}")
        if "sources" not in item:
            raise FirewallInputError(f"firewall_extra_rules {name}: sources is missing (use [0.0.0.0/0, ::/0] for anywhere)")
        port = _port(item.get("port"), f"firewall_extra_rules {name}: port")
        rules.append(_rule(name, proto, [port], _networks(item["sources"], f"firewall_extra_rules {name}: sources")))
    return rules


def rules(config: Any) -> dict[str, Any]:
    """The inbound rules and the published-port policy of one host.

    ``config`` keys: ``ssh_port``, ``ssh_sources``, ``edge`` (bool), ``public_ports``,
    ``public_sources``, ``manager`` (bool), ``swarm_port``, ``data_path_port``,
    ``members`` (addresses of every cluster node), ``esp`` (bool: an encrypted overlay
    exists), ``published_sources``, ``extra_rules``.

    Returns ``{"input": [rule, ...], "published": {...}}``. A rule is
    ``{name, proto (tcp|udp|esp), ports, v4, v6}`` where ``v4``/``v6`` is a list of
    sources, ``None`` for any address, or ``[]`` for none of that family.
    ``published`` holds ``members``, ``public_ports`` (edge hosts only, else []),
    ``public`` and ``extra`` sources in the same ``{v4, v6}`` form.
    """
    if not isinstance(config, Mapping):
        raise FirewallInputError(f"expected a dict of firewall settings, got {config!r}")
    missing = [key for key in ("ssh_port", "ssh_sources", "members", "swarm_port", "data_path_port") if key not in config]
    if missing:
        raise FirewallInputError(f"firewall settings lack {', '.join(missing)}")
    ssh_port = _port(config["ssh_port"], "firewall_ssh_port")
    swarm_port = _port(config["swarm_port"], "swarm_port")
    data_path_port = _port(config["data_path_port"], "swarm_data_path_port")
    members = _networks(config["members"], "cluster member addresses")
    if not members:
        raise FirewallInputError("cluster member addresses: the list is empty (is group 'swarm' empty?)")
    edge = bool(config.get("edge", False))
    public_ports = [_port(p, "firewall_public_ports") for p in config.get("public_ports", [])]
    public_sources = _networks(config.get("public_sources", []), "firewall_public_sources")
    published_sources = _networks(config.get("published_sources", []), "firewall_published_sources")

    inbound = [_rule("ssh", "tcp", [ssh_port], _networks(config["ssh_sources"], "firewall_ssh_sources"))]
    if edge and public_ports:
        inbound.append(_rule("public", "tcp", public_ports, public_sources))
    if config.get("manager", False):
        inbound.append(_rule("swarm control", "tcp", [swarm_port], members))
    inbound.append(_rule("swarm gossip", "tcp", [GOSSIP_PORT], members))
    inbound.append(_rule("swarm gossip and data path", "udp", [GOSSIP_PORT, data_path_port], members))
    if config.get("esp", False):
        inbound.append(_rule("encrypted overlay (ESP)", "esp", [], members))
    inbound.extend(_extra_rules(config.get("extra_rules", [])))
    return {
        "input": inbound,
        "published": {
            "members": _family_sources(members),
            "public_ports": sorted(set(public_ports)) if edge else [],
            "public": _family_sources(public_sources),
            "extra": _family_sources(published_sources),
        },
    }


def covers(sources: Any, address: str) -> bool:
    """Whether ``address`` lies in one of ``sources`` (addresses or CIDR ranges)."""
    try:
        ip = ipaddress.ip_address(str(address).strip("[]"))
    except ValueError:
        return False
    try:
        networks = _networks(sources, "sources")
    except FirewallInputError:
        return True  # reported where the sources are checked
    return any(ip.version == net.version and ip in net for net in networks)


def ssh_lockout(ssh_connection: Any, ssh_port: Any, sources: Any) -> str:
    """``''`` when the SSH connection Ansible uses stays allowed, else why not.

    ``ssh_connection`` is the node's ``$SSH_CONNECTION`` ("client port server port");
    empty (not connected over SSH) needs no check.
    """
    if not isinstance(ssh_connection, str) or not ssh_connection.strip():
        return ""
    parts = ssh_connection.split()
    if len(parts) != 4:
        raise FirewallInputError(f"SSH_CONNECTION {ssh_connection!r} is not 'client port server port'")
    client, server_port = parts[0], parts[3]
    port = _port(ssh_port, "firewall_ssh_port")
    problems = []
    if int(server_port) != port:
        problems.append(f"Ansible reaches this host on SSH port {server_port} but firewall_ssh_port is {port}")
    try:
        address = ipaddress.ip_address(client.split("%")[0])
    except ValueError as exc:
        raise FirewallInputError(f"SSH_CONNECTION client {client!r} is not an IP address") from exc
    allowed = _networks(sources, "firewall_ssh_sources")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not any(address.version == net.version and address in net for net in allowed):
        problems.append(f"Ansible connects from {address}, which firewall_ssh_sources ({', '.join(map(str, allowed)) or 'empty'}) does not allow")
    return "; ".join(problems)


# ufw refuses a rule with more than 15 ports ("ufw allow ... port 1,2,...").
UFW_MAX_PORTS = 15
UFW_ANYWHERE = (("v4", "0.0.0.0/0"), ("v6", "::/0"))
# A tuple line as read from /etc/ufw/user.rules (prefixed "v4 ") and user6.rules ("v6 "):
# family action proto dport dst sport src direction[_interface] [comment=<hex>];
# application rules carry two more fields (dapp sapp) before the direction.
_UFW_TUPLE_FIELDS = 8


def _ufw_wanted(rules: Any, tag: str) -> list[tuple[str, str]]:
    """``(tuple line, add command)`` for each rule, family, source and group of ports, in rule order."""
    if isinstance(rules, (str, bytes, Mapping)) or not isinstance(rules, Sequence):
        raise FirewallInputError(f"rules must be the list of rules of firewall_rules (its 'input'), got {rules!r}")
    wanted = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or any(key not in rule for key in ("name", "proto", "ports", "v4", "v6")):
            raise FirewallInputError(f"rule {index} must be a dict with name, proto, ports, v4 and v6, got {rule!r}")
        name, proto, ports = str(rule["name"]), rule["proto"], rule["ports"]
        if not isinstance(proto, str) or not proto or " " in proto:
            raise FirewallInputError(f"rule {name}: proto must be a protocol name such as tcp, got {proto!r}")
        if isinstance(ports, (str, bytes, Mapping)) or not isinstance(ports, Sequence):
            raise FirewallInputError(f"rule {name}: ports must be a list of port numbers, got {ports!r}")
        numbers = [str(_port(port, f"rule {name}: ports")) for port in ports]
        groups = [",".join(numbers[i : i + UFW_MAX_PORTS]) for i in range(0, len(numbers), UFW_MAX_PORTS)] or [""]
        comment = tag + name
        for family, anywhere in UFW_ANYWHERE:
            sources = rule[family]
            if sources is None:
                sources = [anywhere]
            elif isinstance(sources, (str, bytes, Mapping)) or not isinstance(sources, Sequence):
                raise FirewallInputError(f"rule {name}: {family} must be a list of sources or None (anywhere), got {sources!r}")
            for source in map(str, sources):
                for group in groups:
                    line = f"{family} allow {proto} {group or 'any'} {anywhere} any {source} in comment={comment.encode('utf-8').hex()}"
                    add = f"ufw allow proto {proto} from {source} to {anywhere}{f' port {group}' if group else ''} comment {shlex.quote(comment)}"
                    wanted.append((line, add))
    return wanted


def _ufw_tuple_line(line: Any) -> str:
    """A tuple line as it is; anything else raises."""
    if not isinstance(line, str) or not line.startswith(("v4 ", "v6 ")) or len(line.split(" comment=")[0].split(" ")) < _UFW_TUPLE_FIELDS:
        raise FirewallInputError(
            f"ufw tuple line {line!r} is not 'v4|v6 action proto dport dst sport src direction [comment=hex]' "
            "(a '### tuple ###' line of /etc/ufw/user.rules or user6.rules)"
        )
    return line


def _ufw_delete(line: str) -> str:
    """The ``ufw --force delete`` command that removes the rule of one tuple line."""
    fields = line.split(" comment=")[0].split(" ")
    if len(fields) != _UFW_TUPLE_FIELDS:
        raise FirewallInputError(f"ufw tuple line {line!r} carries our tag but is not a plain port rule (an application rule?): remove it by hand")
    action, proto, dport, dst, sport, src, direction = fields[1:]
    on = direction.split("_")
    return (
        f"ufw --force delete {action} {on[0]}"
        + (f" on {on[1]}" if len(on) > 1 else "")
        + (f" proto {proto}" if proto != "any" else "")
        + f" from {src}"
        + (f" port {sport}" if sport != "any" else "")
        + f" to {dst}"
        + (f" port {dport}" if dport != "any" else "")
    )


def ufw_commands(rules: Any, tuple_lines: Any, tag: Any) -> list[str]:
    """The ufw commands that make ufw's rules match ``rules`` (the ``input`` of :func:`rules`).

    ``tuple_lines`` are ufw's "### tuple ###" lines, prefixed ``v4 `` (user.rules) or
    ``v6 `` (user6.rules) instead. Each rule becomes one ufw rule per family, source and
    group of at most 15 ports (``None`` sources: anywhere, ``0.0.0.0/0`` or ``::/0``; ``[]``:
    none), commented ``tag + name``. Returns the adds of the missing rules, then the
    deletes of rules carrying ``tag`` that are no longer wanted, in the order of
    ``tuple_lines``. Rules without ``tag`` stay; a wanted rule present with another
    comment is added again (ufw then updates its comment), not deleted.
    """
    if not isinstance(tag, str) or not tag:
        raise FirewallInputError(f"tag must be the non-empty comment prefix of our ufw rules, got {tag!r}")
    if isinstance(tuple_lines, (str, bytes, Mapping)) or not isinstance(tuple_lines, Sequence):
        raise FirewallInputError(f"tuple_lines must be a list of ufw tuple lines, got {tuple_lines!r}")
    have = [_ufw_tuple_line(line) for line in tuple_lines]
    wanted = _ufw_wanted(rules, tag)
    want = {pair[0] for pair in wanted}
    want_matches = {line.split(" comment=")[0] for line in want}
    ours = " comment=" + tag.encode("utf-8").hex()
    present = set(have)
    adds = [add for line, add in wanted if line not in present]
    stale = [line for line in have if ours in line and line not in want and line.split(" comment=")[0] not in want_matches]
    return adds + [_ufw_delete(line) for line in dict.fromkeys(stale)]
