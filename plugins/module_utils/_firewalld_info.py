# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""What firewalld runs with, and where Docker's bridges are: private to campus.swarm.firewalld_info.

The parsers are pure; the commands run through a small runner that tests replace.
Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List

from ansible_collections.campus.swarm.plugins.module_utils._commands import Runner

# The bridges Docker makes: docker0, docker_gwbridge, and br- with 12 hex digits of a network ID.
_DOCKER_BRIDGE = re.compile(r"^(docker0|docker_gwbridge|br-[0-9a-f]{12})$")
# Bound to a zone outside the zone file: not a setting of the zone.
_BINDINGS = ("interfaces", "sources")


def parse_zone(output: str) -> Dict[str, str]:
    """The settings of ``firewall-cmd --zone=Z --list-all`` ("  key: value" lines after the zone's name; rich rules on
    tab-indented lines of their own), without the interfaces and sources bound to it, which live outside the zone file."""
    settings: Dict[str, str] = {}
    rules: List[str] = []
    for line in output.splitlines():
        if line.startswith("\t"):
            rules.append(line.strip())
        elif line.startswith(" "):
            key, sep, value = line.strip().partition(":")
            if sep and key.strip() not in _BINDINGS:
                settings[key.strip()] = " ".join(sorted(value.split()))
    if rules:
        settings["rich rules"] = "\n".join(sorted(rules))
    return settings


def docker_bridges(ip_link_json: str) -> List[str]:
    return sorted(str(link.get("ifname", "")) for link in json.loads(ip_link_json or "[]")
                  if _DOCKER_BRIDGE.match(str(link.get("ifname", ""))))


def read(run: Runner, zone: str) -> Dict[str, Any]:
    """firewalld's state (running, default zone, the zone as it runs and as configured), Docker's bridges and
    the interfaces in Docker's zone."""
    rc, out, _err = run(["systemctl", "is-active", "firewalld"])
    active = rc == 0 and out.strip() == "active"
    rc, out, _err = run(["systemctl", "is-enabled", "firewalld"])
    result: Dict[str, Any] = {"active": active, "enabled": out.strip() == "enabled", "default_zone": "", "runtime": {},
                              "permanent": {}, "in_sync": True, "docker_zone_interfaces": []}
    if active:
        result["default_zone"] = run(["firewall-cmd", "--get-default-zone"])[1].strip()
        result["runtime"] = parse_zone(run(["firewall-cmd", f"--zone={zone}", "--list-all"])[1])
        result["permanent"] = parse_zone(run(["firewall-cmd", "--permanent", f"--zone={zone}", "--list-all"])[1])
        result["in_sync"] = result["runtime"] == result["permanent"]
        rc, out, _err = run(["firewall-cmd", "--zone=docker", "--list-interfaces"])
        result["docker_zone_interfaces"] = sorted(out.split()) if rc == 0 else []
    rc, out, _err = run(["ip", "-j", "link", "show", "type", "bridge"])
    result["docker_bridges"] = docker_bridges(out) if rc == 0 else []
    result["docker_active"] = run(["systemctl", "is-active", "docker"])[1].strip() == "active"
    return result
