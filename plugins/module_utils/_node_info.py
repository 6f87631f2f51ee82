# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""What a node has, read in one call: private to campus.swarm.node_info.

Each reader takes its input through a small callable (a command runner, a
file reader, the Docker API client), so that tests feed it plain data. Nothing
here changes the host. Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import fnmatch
import glob
import grp
import hashlib
import json
import os
import platform
import pwd
import stat
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.campus.swarm.plugins.module_utils._commands import Runner
from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError

Obj = Dict[str, Any]

# Larger files are reported without a checksum (nothing the collection writes is that big).
MAX_HASHED_BYTES = 4 * 1024 * 1024
# Where an address is looked up the way Ansible's default_ipv4 fact does (a route, no packet sent).
_ROUTE_PROBE = "8.8.8.8"


def parse_os_release(text: str, debian_version: str = "") -> Dict[str, str]:
    """Distribution facts in Ansible's names (``distribution``, ``_version``, ``_major_version``, ``_release``)."""
    fields: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"')
    distro_id = fields.get("ID", "")
    names = {"debian": "Debian", "ubuntu": "Ubuntu"}
    version = fields.get("VERSION_ID", "")
    # Debian's point release (12.8) is in /etc/debian_version; testing says "trixie/sid".
    if distro_id == "debian" and debian_version.strip()[:1].isdigit():
        version = debian_version.strip()
    return {
        "distribution": names.get(distro_id, distro_id.capitalize()),
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0] if version else "",
        "distribution_release": fields.get("VERSION_CODENAME", ""),
    }


def parse_addresses(ip_addr_json: str) -> Obj:
    """Interfaces (MTU, addresses) and all addresses from ``ip -j addr show``; loopback left out."""
    interfaces: Obj = {}
    ipv4: List[str] = []
    ipv6: List[str] = []
    for link in json.loads(ip_addr_json or "[]"):
        name = str(link.get("ifname", ""))
        addresses = []
        for info in link.get("addr_info") or []:
            if info.get("scope") == "host":
                continue
            local = str(info.get("local", ""))
            if not local:
                continue
            addresses.append(local)
            (ipv4 if info.get("family") == "inet" else ipv6).append(local)
        if name and "LOOPBACK" not in (link.get("flags") or []):
            interfaces[name] = {"mtu": link.get("mtu"), "addresses": addresses}
    return {"interfaces": interfaces, "ipv4": ipv4, "ipv6": ipv6}


def parse_routes(ip_route_json: str) -> List[Obj]:
    """The main IPv4 table from ``ip -j route show``, keeping what the address plan compares."""
    keep = ("dst", "dev", "gateway", "prefsrc", "protocol", "scope")
    return [{k: r[k] for k in keep if k in r} for r in json.loads(ip_route_json or "[]")]


def parse_default(ip_route_get_json: str) -> Obj:
    """The address and interface of the default IPv4 route (``ip -j route get``); {} without one."""
    routes = json.loads(ip_route_get_json or "[]")
    if not routes:
        return {}
    route = routes[0]
    return {"address": str(route.get("prefsrc", "")), "interface": str(route.get("dev", "")),
            "gateway": str(route.get("gateway", ""))}


def read_network(run: Runner) -> Obj:
    """Interfaces, addresses, routes and the default route, from iproute2's JSON output."""
    rc, out, err = run(["ip", "-j", "addr", "show"])
    if rc != 0:
        raise NodeInfoError(f"ip -j addr show failed: {err.strip()}")
    network = parse_addresses(out)
    rc, out, err = run(["ip", "-j", "-4", "route", "show"])
    network["routes"] = parse_routes(out) if rc == 0 else []
    rc, out, err = run(["ip", "-j", "-4", "route", "get", _ROUTE_PROBE])
    network["default_ipv4"] = parse_default(out) if rc == 0 else {}
    return network


def ssh_connection(environ: Dict[str, str], parent_of: Callable[[int], Optional[int]],
                   environ_of: Callable[[int], Dict[str, str]], pid: int) -> str:
    """This run's ``SSH_CONNECTION`` ("client port server port"), '' when it is not an SSH connection.

    sudo drops it from the environment; the shell that sshd started, further up the
    process tree, still has it (readable as root, which become gives).
    """
    if environ.get("SSH_CONNECTION"):
        return environ["SSH_CONNECTION"]
    seen = 0
    current: Optional[int] = parent_of(pid)
    while current and current > 1 and seen < 32:
        seen += 1
        value = environ_of(current).get("SSH_CONNECTION")
        if value:
            return value
        current = parent_of(current)
    return ""


def _proc_parent(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            # The command name (field 2) may hold spaces and brackets: split after the last ')'.
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _proc_environ(pid: int) -> Dict[str, str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return {}
    env = {}
    for item in data.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def read_ssh_connection() -> str:
    return ssh_connection(dict(os.environ), _proc_parent, _proc_environ, os.getpid())


DPKG_FORMAT = "${Package}\\t${db:Status-Status}\\t${Version}\\t${db:Status-Want}\\n"


def parse_dpkg(output: str) -> Tuple[Dict[str, str], List[str]]:
    """``{package: version}`` of the installed packages, and those on hold, from ``dpkg-query -W -f=DPKG_FORMAT``."""
    versions: Dict[str, str] = {}
    held: List[str] = []
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1] == "installed":
            versions[fields[0]] = fields[2]
            if len(fields) > 3 and fields[3] == "hold":
                held.append(fields[0])
    return versions, held


def read_packages(run: Runner, names: List[str]) -> Tuple[Dict[str, str], List[str]]:
    if not names:
        return {}, []
    # rc 1 only says that some package is unknown to dpkg: the others are listed.
    _rc, out, _err = run(["dpkg-query", "-W", f"-f={DPKG_FORMAT}", *sorted(set(names))])
    return parse_dpkg(out)


def parse_units(output: str) -> Dict[str, Obj]:
    """``systemctl show -p Id,LoadState,ActiveState,UnitFileState,ActiveEnterTimestamp --timestamp=unix`` per unit."""
    units: Dict[str, Obj] = {}
    for block in output.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if not fields.get("Id"):
            continue
        since = fields.get("ActiveEnterTimestamp", "").lstrip("@")
        units[fields["Id"]] = {
            "exists": fields.get("LoadState") not in ("not-found", ""),
            "active": fields.get("ActiveState", ""),
            "enabled": fields.get("UnitFileState", ""),
            "since": int(since) if since.isdigit() else 0,
        }
    return units


def read_units(run: Runner, names: List[str]) -> Dict[str, Obj]:
    if not names:
        return {}
    rc, out, _err = run(["systemctl", "show", "-p", "Id,LoadState,ActiveState,UnitFileState,ActiveEnterTimestamp",
                         "--timestamp=unix", *names])
    if rc != 0 and not out:
        # No systemd (a container without it): every unit is absent.
        return {name: {"exists": False, "active": "", "enabled": "", "since": 0} for name in names}
    units = parse_units(out)
    for name in names:
        units.setdefault(name, {"exists": False, "active": "", "enabled": "", "since": 0})
    return units


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def file_state(path: str, with_content: bool = False) -> Optional[Obj]:
    """What ``path`` is: type, mode, owner, group, mtime, ctime, and the SHA-1 of a file or a link's target.
    ``ctime`` tells when the file was put there (dpkg renames an upgraded file into place, keeping the package's mtime)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    state: Obj = {"mode": f"{stat.S_IMODE(st.st_mode):04o}", "owner": _owner(st.st_uid), "group": _group(st.st_gid),
                  "uid": st.st_uid, "gid": st.st_gid, "mtime": int(st.st_mtime), "ctime": int(st.st_ctime), "size": st.st_size}
    if stat.S_ISLNK(st.st_mode):
        state.update(type="link", target=os.readlink(path))
        # A link to a file (certbot's live/ links to archive/): the checksum of what it points at.
        if os.path.isfile(path) and os.path.getsize(path) <= MAX_HASHED_BYTES:
            state["checksum"] = _checksum(path)[0]
    elif stat.S_ISDIR(st.st_mode):
        state["type"] = "directory"
    elif stat.S_ISREG(st.st_mode):
        state["type"] = "file"
        if st.st_size <= MAX_HASHED_BYTES:
            state["checksum"], data = _checksum(path)
            if with_content:
                state["content"] = data.decode("utf-8", "replace")
    else:
        state["type"] = "other"
    return state


def _checksum(path: str) -> Tuple[str, bytes]:
    """SHA-1 of a file (what Ansible's copy compares, not a secret) and its bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        data = b""
    return hashlib.sha1(data).hexdigest(), data


def read_files(patterns: List[str], contents: List[str]) -> Dict[str, Obj]:
    """The state of every path that ``patterns`` or ``contents`` (paths or shell globs) name and that exists;
    files that ``contents`` names with their content."""
    found: Dict[str, Obj] = {}
    for pattern in list(patterns) + list(contents):
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        for path in paths:
            if path in found and "content" in found[path]:
                continue
            state = file_state(path, with_content=any(fnmatch.fnmatchcase(path, c) for c in contents))
            if state is not None:
                found[path] = state
    return found


def parse_certificate(output: str) -> Obj:
    """What ``openssl x509 -noout -serial -enddate -fingerprint -sha256 -ext subjectAltName`` says of a certificate."""
    result: Obj = {"serial": "", "not_after": "", "fingerprint": "", "names": []}
    lines = output.splitlines()
    for index, line in enumerate(lines):
        key, sep, value = line.partition("=")
        if sep and key == "serial":
            result["serial"] = value.strip()
        elif sep and key == "notAfter":
            result["not_after"] = value.strip()
        elif sep and key.endswith("Fingerprint"):
            result["fingerprint"] = value.strip()
        elif "Subject Alternative Name" in line and index + 1 < len(lines):
            result["names"] = sorted(part.strip()[4:] for part in lines[index + 1].split(",") if part.strip().startswith("DNS:"))
    return result


def read_certificates(run: Runner, patterns: List[str]) -> Dict[str, Obj]:
    """Serial, expiry, fingerprint and DNS names of each PEM certificate that ``patterns`` name (openssl reads them)."""
    found: Dict[str, Obj] = {}
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]:
            if path in found or not os.path.isfile(path):
                continue
            rc, out, _err = run(["openssl", "x509", "-in", path, "-noout", "-serial", "-enddate", "-fingerprint", "-sha256",
                                 "-ext", "subjectAltName"])
            if rc == 0:
                found[path] = parse_certificate(out)
    return found


def read_nft_tables(run: Runner, tables: List[str]) -> Dict[str, str]:
    """SHA-256 of ``nft -s list table inet NAME`` for each table; '' when it is not loaded."""
    result = {}
    for table in tables:
        rc, out, _err = run(["nft", "-s", "list", "table", "inet", table])
        result[table] = hashlib.sha256(out.encode()).hexdigest() if rc == 0 and out.strip() else ""
    return result


class NodeInfoError(Exception):
    """A read that must not fail did."""


_NODE_KEYS = ("ID", "Spec", "Status", "ManagerStatus")


def _trim_node(node: Obj) -> Obj:
    description = node.get("Description") or {}
    trimmed = {k: node[k] for k in _NODE_KEYS if k in node}
    trimmed["Description"] = {"Hostname": description.get("Hostname", ""),
                              "Engine": {"EngineVersion": (description.get("Engine") or {}).get("EngineVersion", "")}}
    return trimmed


def _trim_network(net: Obj) -> Obj:
    keep = ("Name", "Id", "Driver", "Scope", "Attachable", "Internal", "Ingress", "Labels", "Options", "IPAM", "Containers")
    trimmed = {k: net[k] for k in keep if k in net}
    if "Containers" in trimmed:
        trimmed["Containers"] = sorted((trimmed["Containers"] or {}).keys())
    return trimmed


def read_docker(client_factory: Callable[[], Any]) -> Obj:
    """The engine as the swarm sees it: version, swarm membership, and on a manager the swarm's
    settings (never its join tokens), nodes and overlay networks; docker_gwbridge; the images."""
    try:
        client = client_factory()
        info = client.call("info", client.api.info)
    except DockerApiError as exc:
        return {"ready": False, "error": exc.msg}
    swarm = info.get("Swarm") or {}
    result: Obj = {
        "ready": True,
        "error": "",
        "version": str(info.get("ServerVersion", "")),
        "swarm": {
            "state": str(swarm.get("LocalNodeState") or "inactive"),
            "node_id": str(swarm.get("NodeID") or ""),
            "manager": bool(swarm.get("ControlAvailable")),
            "cluster_id": str((swarm.get("Cluster") or {}).get("ID") or ""),
            "error": str(swarm.get("Error") or ""),
            "remote_managers": [str(m.get("Addr", "")) for m in swarm.get("RemoteManagers") or []],
        },
    }
    try:
        if result["swarm"]["manager"]:
            cluster = client.call("inspect swarm", client.api.inspect_swarm)
            cluster.pop("JoinTokens", None)
            result["cluster"] = {
                "id": str(cluster.get("ID", "")),
                "data_path_port": int(cluster.get("DataPathPort") or 4789),
                "default_addr_pool": list(cluster.get("DefaultAddrPool") or ["10.0.0.0/8"]),
                "subnet_size": int(cluster.get("SubnetSize") or 24),
                "spec": cluster.get("Spec") or {},
            }
            result["nodes"] = [_trim_node(n) for n in client.call("list nodes", client.api.nodes)]
            result["networks"] = [_trim_network(n) for n in client.call(
                "list networks", client.api.networks, filters={"driver": "overlay"})]
        gwbridge = client.find("inspect docker_gwbridge", client.api.inspect_network, "docker_gwbridge")
        result["gwbridge"] = _trim_network(gwbridge) if gwbridge else None
        result["images"] = [{"Id": i.get("Id", ""), "RepoTags": list(i.get("RepoTags") or [])}
                            for i in client.call("list images", client.api.images)]
    except DockerApiError as exc:
        result["error"] = exc.msg
    return result


def read_host(run: Runner, read_text: Callable[[str], str], packages: List[str], units: List[str],
              files: List[str], contents: List[str], nft_tables: List[str],
              docker_factory: Optional[Callable[[], Any]], certificates: Optional[List[str]] = None) -> Obj:
    """Everything at once; ``docker_factory`` is None when the Docker SDK is not there."""
    node: Obj = {
        "hostname": platform.node(),
        "architecture": platform.machine(),
        "python": platform.python_version(),
        "os": parse_os_release(read_text("/etc/os-release"), read_text("/etc/debian_version")),
        "network": read_network(run),
        "ssh_connection": read_ssh_connection(),
        "packages": {},
        "held": [],
        "units": read_units(run, units),
        "files": read_files(files, contents),
        "nft_tables": read_nft_tables(run, nft_tables) if nft_tables else {},
        "certificates": read_certificates(run, certificates or []),
    }
    node["packages"], node["held"] = read_packages(run, packages)
    node["docker"] = read_docker(docker_factory) if docker_factory else {"ready": False, "error": "no Docker SDK for Python"}
    return node
