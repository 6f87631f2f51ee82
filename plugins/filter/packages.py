# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Filters for installing the Docker engine packages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError


def dpkg_missing(wanted: list[str], installed: str | Mapping[str, str]) -> list[str]:
    """Return the apt specs of ``wanted`` that the installed packages do not satisfy.

    ``wanted`` holds ``name`` or ``name=version`` specs; ``installed`` is either
    ``{package: version}`` (as campus.swarm.node_info reads it) or the output of
    ``dpkg-query -W -f='${Package}\\t${db:Status-Status}\\t${Version}\\n'``.
    """
    if not isinstance(wanted, list) or not all(isinstance(w, str) and w for w in wanted):
        raise AnsibleFilterError(f"dpkg_missing: wanted must be a list of package specs, got {wanted!r}")
    if isinstance(installed, Mapping):
        installed = {str(k): str(v) for k, v in installed.items()}
    elif isinstance(installed, str):
        installed = dpkg_versions(installed)
    else:
        raise AnsibleFilterError(f"dpkg_missing: installed must be a dict of versions or dpkg-query output, got {type(installed).__name__}")
    missing = []
    for spec in wanted:
        name, sep, version = spec.partition("=")
        del sep
        have = installed.get(name)
        if have is None or (version and have != version):
            missing.append(spec)
    return missing


def dpkg_versions(dpkg_output: str) -> dict[str, str]:
    """Return {package: version} of the installed packages in ``dpkg-query`` output (format as for dpkg_missing)."""
    if not isinstance(dpkg_output, str):
        raise AnsibleFilterError(f"dpkg_versions: dpkg_output must be a string, got {type(dpkg_output).__name__}")
    versions: dict[str, str] = {}
    for line in dpkg_output.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[1] == "installed":
            versions[fields[0]] = fields[2]
    return versions


_VERSION = re.compile(r"(?:^|version |^[0-9]+:)([0-9]+\.[0-9]+\.[0-9]+)")
ENGINE_PACKAGES = ("docker-ce", "docker.io", "moby-engine")


def docker_engine_version(dpkg_output: str, dockerd_version: str = "") -> str:
    """Return the engine release (``20.10.24``), or ``0`` when no engine is installed.

    ``dockerd_version`` (output of ``dockerd --version``) wins when given; otherwise the
    version of the installed engine package in ``dpkg_output`` is used.
    """
    if not isinstance(dockerd_version, str):
        raise AnsibleFilterError(f"docker_engine_version: dockerd_version must be a string, got {dockerd_version!r}")
    candidates = [dockerd_version] if dockerd_version else []
    installed = dpkg_versions(dpkg_output)
    candidates += [installed[name] for name in ENGINE_PACKAGES if name in installed]
    for text in candidates:
        match = _VERSION.search(text)
        if match:
            return match.group(1)
    return "0"


def docker_apt_version(version: str, facts: Mapping[str, Any]) -> str:
    """Return the apt version string of a Docker CE release for this distribution.

    ``27.5.1`` on Debian 12 is ``5:27.5.1-1~debian.12~bookworm``; on Ubuntu
    24.04 it is ``5:27.5.1-1~ubuntu.24.04~noble``.
    """
    if not isinstance(version, str) or not version.count(".") == 2 or not version.replace(".", "").isdigit():
        raise AnsibleFilterError(f"docker_apt_version: version must look like 27.5.1, got {version!r}")
    try:
        distro = str(facts["distribution"]).lower()
        codename = str(facts["distribution_release"])
        number = str(facts["distribution_version"] if distro == "ubuntu" else facts["distribution_major_version"])
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(
            f"docker_apt_version: facts need distribution, distribution_release and distribution_(major_)version: {exc}"
        ) from exc
    if distro not in ("debian", "ubuntu"):
        raise AnsibleFilterError(f"docker_apt_version: Docker's apt repository has no {distro!r} packages")
    return f"5:{version}-1~{distro}.{number}~{codename}"


class FilterModule:
    """Package filters."""

    def filters(self) -> dict[str, Any]:
        return {"dpkg_missing": dpkg_missing, "dpkg_versions": dpkg_versions,
                "docker_engine_version": docker_engine_version, "docker_apt_version": docker_apt_version}
