# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils import _node_info as ni
from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n'
UBUNTU = 'NAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\nID=ubuntu\n'
IP_ADDR = json.dumps([
    {"ifname": "lo", "flags": ["LOOPBACK", "UP"], "mtu": 65536, "addr_info": [{"family": "inet", "local": "127.0.0.1", "scope": "host"}]},
    {"ifname": "eth0", "flags": ["UP"], "mtu": 1450, "addr_info": [
        {"family": "inet", "local": "172.28.10.21", "scope": "global"},
        {"family": "inet6", "local": "fe80::1", "scope": "link"}]},
])
ROUTES = json.dumps([{"dst": "default", "gateway": "172.28.10.1", "dev": "eth0", "flags": []},
                     {"dst": "172.28.10.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link", "prefsrc": "172.28.10.21"}])
ROUTE_GET = json.dumps([{"dst": "8.8.8.8", "gateway": "172.28.10.1", "dev": "eth0", "prefsrc": "172.28.10.21", "flags": [], "cache": []}])


@pytest.mark.parametrize(("text", "debian_version", "expected"), [
    (OS_RELEASE, "12.8\n", {"distribution": "Debian", "distribution_version": "12.8", "distribution_major_version": "12",
                            "distribution_release": "bookworm"}),
    (OS_RELEASE.replace("12", "13").replace("bookworm", "trixie"), "trixie/sid\n",
     {"distribution": "Debian", "distribution_version": "13", "distribution_major_version": "13", "distribution_release": "trixie"}),
    (UBUNTU, "", {"distribution": "Ubuntu", "distribution_version": "24.04", "distribution_major_version": "24",
                  "distribution_release": "noble"}),
])
def test_os_release(text: str, debian_version: str, expected: dict[str, str]) -> None:
    assert ni.parse_os_release(text, debian_version) == expected


def fake_run(outputs: dict[tuple[str, ...], tuple[int, str, str]]) -> Any:
    calls: list[list[str]] = []

    def run(argv: list[str]) -> tuple[int, str, str]:
        calls.append(argv)
        for prefix, result in outputs.items():
            if tuple(argv[:len(prefix)]) == prefix:
                return result
        return 1, "", "unknown command"

    run.calls = calls  # type: ignore[attr-defined]
    return run


def test_network() -> None:
    run = fake_run({("ip", "-j", "addr"): (0, IP_ADDR, ""), ("ip", "-j", "-4", "route", "show"): (0, ROUTES, ""),
                    ("ip", "-j", "-4", "route", "get"): (0, ROUTE_GET, "")})
    network = ni.read_network(run)
    assert network["interfaces"] == {"eth0": {"mtu": 1450, "addresses": ["172.28.10.21", "fe80::1"]}}
    assert network["ipv4"] == ["172.28.10.21"] and network["ipv6"] == ["fe80::1"]
    assert network["default_ipv4"] == {"address": "172.28.10.21", "interface": "eth0", "gateway": "172.28.10.1"}
    assert network["routes"][1] == {"dst": "172.28.10.0/24", "dev": "eth0", "prefsrc": "172.28.10.21", "protocol": "kernel", "scope": "link"}


def test_no_default_route() -> None:
    run = fake_run({("ip", "-j", "addr"): (0, IP_ADDR, ""), ("ip", "-j", "-4", "route", "show"): (0, "[]", ""),
                    ("ip", "-j", "-4", "route", "get"): (2, "", "RTNETLINK answers: Network is unreachable")})
    assert ni.read_network(run)["default_ipv4"] == {}


def test_ip_failing_is_an_error() -> None:
    with pytest.raises(ni.NodeInfoError, match="ip -j addr show failed"):
        ni.read_network(fake_run({("ip",): (1, "", "no such command")}))


def test_ssh_connection_through_sudo() -> None:
    # sudo dropped SSH_CONNECTION: it is found in the login shell further up.
    environ = {1000: {}, 999: {"SUDO_USER": "campus"}, 998: {"SSH_CONNECTION": "172.28.10.1 5000 172.28.10.21 22"}}
    parents = {1000: 999, 999: 998, 998: 1}
    assert ni.ssh_connection({}, parents.get, lambda pid: environ.get(pid, {}), 1000) == "172.28.10.1 5000 172.28.10.21 22"
    assert ni.ssh_connection({"SSH_CONNECTION": "a 1 b 2"}, parents.get, lambda pid: {}, 1000) == "a 1 b 2"
    assert ni.ssh_connection({}, {1000: 1}.get, lambda pid: {}, 1000) == ""


def test_this_process_parent_is_read_from_proc() -> None:
    assert ni._proc_parent(os.getpid()) == os.getppid()
    assert "PATH" in ni._proc_environ(os.getpid())


def test_packages_and_holds() -> None:
    output = "docker.io\tinstalled\t20.10.24\tinstall\ndocker-ce\tinstalled\t5:28.5.2\thold\nufw\tnot-installed\t\tunknown\n"
    run = fake_run({("dpkg-query",): (1, output, "dpkg-query: no packages found matching nosuch")})
    assert ni.read_packages(run, ["docker.io", "docker-ce", "ufw", "nosuch"]) == ({"docker.io": "20.10.24", "docker-ce": "5:28.5.2"}, ["docker-ce"])
    assert ni.read_packages(run, []) == ({}, [])


def test_units() -> None:
    output = ("Id=docker.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\nActiveEnterTimestamp=@1796589574\n\n"
              "Id=ufw.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\nActiveEnterTimestamp=\n")
    units = ni.read_units(fake_run({("systemctl",): (0, output, "")}), ["docker.service", "ufw.service", "gone.service"])
    assert units["docker.service"] == {"exists": True, "active": "active", "enabled": "enabled", "since": 1796589574}
    assert units["ufw.service"] == {"exists": False, "active": "inactive", "enabled": "", "since": 0}
    assert units["gone.service"]["exists"] is False
    # No systemd at all: every unit absent.
    assert ni.read_units(fake_run({}), ["docker.service"]) == {"docker.service": {"exists": False, "active": "", "enabled": "", "since": 0}}


def test_files_links_directories_globs_and_contents(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "etc" / "a.conf"
    conf.write_text("one\n")
    conf.chmod(0o640)
    (tmp_path / "etc" / "b.conf").write_text("two\n")
    (tmp_path / "current").symlink_to("generations/abc")
    found = ni.read_files([str(tmp_path / "etc"), str(tmp_path / "etc" / "*.conf"), str(tmp_path / "current"), str(tmp_path / "missing")],
                          [str(tmp_path / "etc" / "b.conf")])
    assert found[str(tmp_path / "etc")]["type"] == "directory"
    assert found[str(conf)]["checksum"] == hashlib.sha1(b"one\n").hexdigest()
    assert found[str(conf)]["mode"] == "0640"
    assert "content" not in found[str(conf)]
    assert found[str(tmp_path / "etc" / "b.conf")]["content"] == "two\n"
    assert found[str(tmp_path / "current")] == {**found[str(tmp_path / "current")], "type": "link", "target": "generations/abc"}
    assert str(tmp_path / "missing") not in found


def test_files_ctime_tells_when_a_file_with_an_old_mtime_was_put_in_place(tmp_path: Path) -> None:
    # dpkg unpacks an upgraded binary with the package's mtime; only ctime says it is newer than a running engine.
    binary = tmp_path / "dockerd"
    binary.write_text("new\n")
    os.utime(binary, (1000, 1000))
    state = ni.read_files([str(binary)], [])[str(binary)]
    assert state["mtime"] == 1000
    assert state["ctime"] > 1000


def test_nft_tables() -> None:
    run = fake_run({("nft", "-s", "list", "table", "inet", "campus_swarm"): (0, "table inet campus_swarm {\n}\n", ""),
                    ("nft", "-s", "list", "table", "inet", "other"): (1, "", "No such file or directory")})
    assert ni.read_nft_tables(run, ["campus_swarm", "other"]) == {
        "campus_swarm": hashlib.sha256(b"table inet campus_swarm {\n}\n").hexdigest(), "other": ""}


class FakeApi:
    def __init__(self, info: dict[str, Any], gwbridge: dict[str, Any] | None = None) -> None:
        self._info = info
        self._gwbridge = gwbridge

    def info(self) -> dict[str, Any]:
        return self._info

    def inspect_swarm(self) -> dict[str, Any]:
        return {"ID": "c1", "DataPathPort": 4790, "DefaultAddrPool": ["10.201.0.0/16"], "SubnetSize": 26, "Spec": {"Name": "default"},
                "JoinTokens": {"Worker": "SWMTKN-worker", "Manager": "SWMTKN-manager"}}

    def nodes(self) -> list[dict[str, Any]]:
        return [{"ID": "n1", "Spec": {"Role": "manager"}, "Status": {"State": "ready"}, "ManagerStatus": {"Leader": True},
                 "Description": {"Hostname": "m1", "Engine": {"EngineVersion": "20.10.24", "Plugins": ["lots"]}, "Resources": {}}}]

    def networks(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        assert filters == {"driver": "overlay"}
        return [{"Name": "proxy", "Driver": "overlay", "Containers": {}, "Peers": ["x"]}]

    def inspect_network(self, name: str) -> dict[str, Any]:
        assert name == "docker_gwbridge"
        if self._gwbridge is None:
            raise LookupError(name)
        return self._gwbridge

    def images(self) -> list[dict[str, Any]]:
        return [{"Id": "sha256:abc", "RepoTags": ["campus-probe:1"], "Size": 1}]


class FakeClient:
    def __init__(self, api: FakeApi) -> None:
        self.api = api

    def call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    def find(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LookupError:
            return None


def test_docker_on_a_manager_never_reads_the_join_tokens() -> None:
    info = {"ServerVersion": "20.10.24", "Swarm": {"LocalNodeState": "active", "NodeID": "n1", "ControlAvailable": True,
                                                   "Cluster": {"ID": "c1"}, "RemoteManagers": [{"Addr": "172.28.10.11:2377"}]}}
    docker = ni.read_docker(lambda: FakeClient(FakeApi(info, {"Name": "docker_gwbridge", "Containers": {"x": {}}, "Junk": 1})))
    assert docker["ready"] and docker["error"] == ""
    assert docker["swarm"] == {"state": "active", "node_id": "n1", "manager": True, "cluster_id": "c1", "error": "",
                               "remote_managers": ["172.28.10.11:2377"]}
    assert docker["cluster"] == {"id": "c1", "data_path_port": 4790, "default_addr_pool": ["10.201.0.0/16"], "subnet_size": 26,
                                 "spec": {"Name": "default"}}
    assert "SWMTKN" not in json.dumps(docker)
    assert docker["nodes"][0]["Description"] == {"Hostname": "m1", "Engine": {"EngineVersion": "20.10.24"}}
    assert docker["networks"] == [{"Name": "proxy", "Driver": "overlay", "Containers": []}]
    assert docker["gwbridge"] == {"Name": "docker_gwbridge", "Containers": ["x"]}
    assert docker["images"] == [{"Id": "sha256:abc", "RepoTags": ["campus-probe:1"]}]


def test_docker_on_a_node_outside_a_swarm() -> None:
    docker = ni.read_docker(lambda: FakeClient(FakeApi({"ServerVersion": "26.1.5", "Swarm": {"LocalNodeState": "inactive"}})))
    assert docker["swarm"]["state"] == "inactive" and not docker["swarm"]["manager"]
    assert "cluster" not in docker and "nodes" not in docker
    assert docker["gwbridge"] is None


def test_no_engine() -> None:
    def broken() -> Any:
        raise DockerApiError("cannot talk to the Docker daemon at unix:///var/run/docker.sock: no such file")
    assert ni.read_docker(broken) == {"ready": False, "error": "cannot talk to the Docker daemon at unix:///var/run/docker.sock: no such file"}
