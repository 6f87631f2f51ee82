# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.packages import docker_apt_version, docker_engine_version, dpkg_missing, dpkg_versions

DPKG = (
    "docker.io\tinstalled\t20.10.24+dfsg1-1+b3\n"
    "python3-docker\tconfig-files\t5.0.3-1\n"
    "docker-ce\tinstalled\t5:27.5.1-1~debian.12~bookworm\n"
)


@pytest.mark.parametrize(
    ("wanted", "output", "expected"),
    [
        (["docker.io"], DPKG, []),
        (["docker.io", "python3-docker"], DPKG, ["python3-docker"]),  # removed, config files left
        (["containerd.io"], DPKG, ["containerd.io"]),  # unknown to dpkg
        (["docker-ce=5:27.5.1-1~debian.12~bookworm"], DPKG, []),
        (["docker-ce=5:28.0.0-1~debian.12~bookworm"], DPKG, ["docker-ce=5:28.0.0-1~debian.12~bookworm"]),
        (["docker.io"], "", ["docker.io"]),
        ([], DPKG, []),
    ],
)
def test_dpkg_missing(wanted: list[str], output: str, expected: list[str]) -> None:
    assert dpkg_missing(wanted, output) == expected


@pytest.mark.parametrize(("wanted", "output"), [("docker.io", DPKG), ([""], DPKG), (["docker.io"], None)])
def test_dpkg_missing_bad_input(wanted: Any, output: Any) -> None:
    with pytest.raises(AnsibleFilterError, match="dpkg_missing"):
        dpkg_missing(wanted, output)


DEBIAN12 = {"distribution": "Debian", "distribution_release": "bookworm",
            "distribution_major_version": "12", "distribution_version": "12.7"}
UBUNTU24 = {"distribution": "Ubuntu", "distribution_release": "noble",
            "distribution_major_version": "24", "distribution_version": "24.04"}


@pytest.mark.parametrize(
    ("version", "facts", "expected"),
    [
        ("27.5.1", DEBIAN12, "5:27.5.1-1~debian.12~bookworm"),
        ("27.5.1", UBUNTU24, "5:27.5.1-1~ubuntu.24.04~noble"),
    ],
)
def test_docker_apt_version(version: str, facts: dict[str, str], expected: str) -> None:
    assert docker_apt_version(version, facts) == expected


@pytest.mark.parametrize(
    ("version", "facts", "message"),
    [
        ("27.5", DEBIAN12, "look like"),
        ("latest", DEBIAN12, "look like"),
        ("27.5.1", {"distribution": "Debian"}, "facts need"),
        ("27.5.1", {**DEBIAN12, "distribution": "Fedora"}, "no 'fedora' packages"),
    ],
)
def test_docker_apt_version_bad_input(version: str, facts: dict[str, str], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        docker_apt_version(version, facts)


def test_dpkg_versions() -> None:
    assert dpkg_versions(DPKG) == {
        "docker.io": "20.10.24+dfsg1-1+b3",
        "docker-ce": "5:27.5.1-1~debian.12~bookworm",
    }
    assert dpkg_versions("") == {}


def test_dpkg_versions_bad_input() -> None:
    with pytest.raises(AnsibleFilterError, match="dpkg_versions"):
        dpkg_versions(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("dpkg", "dockerd", "expected"),
    [
        ("docker.io\tinstalled\t20.10.24+dfsg1-1+b3\n", "", "20.10.24"),
        ("docker-ce\tinstalled\t5:27.5.1-1~debian.12~bookworm\n", "", "27.5.1"),
        ("docker.io\tinstalled\t26.1.5+dfsg1-9+b9\n", "", "26.1.5"),
        ("docker.io\tinstalled\t20.10.24+dfsg1-1+b3\n", "Docker version 26.1.5+dfsg1, build a72d7cd", "26.1.5"),
        ("docker.io\tconfig-files\t20.10.24+dfsg1-1+b3\n", "", "0"),
        ("", "", "0"),
    ],
)
def test_docker_engine_version(dpkg: str, dockerd: str, expected: str) -> None:
    assert docker_engine_version(dpkg, dockerd) == expected


def test_docker_engine_version_bad_input() -> None:
    with pytest.raises(AnsibleFilterError, match="docker_engine_version"):
        docker_engine_version("", None)  # type: ignore[arg-type]
