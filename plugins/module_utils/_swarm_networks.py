# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Make a swarm's overlay networks (and its ingress network) match their declarations, in one call.

Private to campus.swarm.swarm_networks; :func:`network_diff` is also the plan's
check of existing networks (plugin_utils._plan). The logic is pure; the Docker
API sits behind :class:`NetworksClient`, which tests replace with a fake offering
the same methods. Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApi, DockerApiError, ReconcileError

MTU_OPTION = "com.docker.network.driver.mtu"
ENCRYPTED_OPTION = "encrypted"
# What an overlay without the MTU option is planned for: Docker's default underlay MTU.
DEFAULT_MTU = 1500

Obj = Dict[str, Any]


class NetworksError(ReconcileError):
    """A refusal; ``actions`` lists what was already done."""


class NetworksClient:
    """The Docker API calls the module needs."""

    def __init__(self, api: DockerApi) -> None:
        self.api = api

    def overlays(self) -> List[Obj]:
        return self.api.call("list overlay networks", self.api.api.networks, filters={"driver": "overlay"})

    def create(self, name: str, spec: Obj) -> None:
        self.api.call(f"create network {name}", self.api.api.create_network, name, **spec)

    def remove(self, name: str) -> None:
        self.api.call(f"remove network {name}", self.api.api.remove_network, name)

    def services(self) -> List[Obj]:
        return self.api.call("list services", self.api.api.services)


def _normal_net(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        return value.strip()


def _normal_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip().split("/")[0]))
    except ValueError:
        return value.strip()


def _label_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _labels_text(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={labels[key]}" for key in sorted(labels)) or "none"


def _flag(desired: Mapping[str, Any], key: str, default: bool) -> bool:
    value = desired.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise NetworksError(f"network {desired.get('name')!r}: {key} must be a boolean, got {value!r}")
    return value


def _word(value: bool) -> str:
    return "true" if value else "false"


def network_diff(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> List[str]:
    """Differences in immutable properties between a Docker network and its declaration.

    ``existing`` is a network inspect dict (``Name``, ``Driver``, ``Attachable``,
    ``Internal``, ``Labels``, ``Options``, ``IPAM.Config``); ``desired`` is the
    declaration (``name``, ``subnet``, ``gateway``, ``attachable``, ``encrypted``,
    ``internal``, ``mtu``, ``labels``, ``driver``). One sentence per difference.
    """
    if not isinstance(existing, Mapping):
        raise NetworksError(f"existing must be a Docker network inspect dict, got {existing!r}")
    if not isinstance(desired, Mapping) or not desired.get("name"):
        raise NetworksError(f"desired must be a network declaration with a name, got {desired!r}")
    options = existing.get("Options") or {}
    ipam_config = (existing.get("IPAM") or {}).get("Config") or []
    diffs: List[str] = []

    have_driver = str(existing.get("Driver") or "")
    want_driver = str(desired.get("driver") or "overlay")
    if have_driver != want_driver:
        diffs.append(f"driver is {have_driver or 'unset'}, wanted {want_driver}")

    subnet = desired.get("subnet")
    if subnet:
        have = [_normal_net(str(c["Subnet"])) for c in ipam_config if c.get("Subnet")]
        if have != [_normal_net(str(subnet))]:
            diffs.append(f"subnet is {', '.join(have) or 'unset'}, wanted {_normal_net(str(subnet))}")
    gateway = desired.get("gateway")
    if gateway:
        have = [_normal_ip(str(c["Gateway"])) for c in ipam_config if c.get("Gateway")]
        if have != [_normal_ip(str(gateway))]:
            diffs.append(f"gateway is {', '.join(have) or 'unset'}, wanted {_normal_ip(str(gateway))}")

    for key, have_flag, default in (
        ("attachable", bool(existing.get("Attachable")), True),
        ("encrypted", ENCRYPTED_OPTION in options, False),
        ("internal", bool(existing.get("Internal")), False),
    ):
        want_flag = _flag(desired, key, default)
        if have_flag != want_flag:
            diffs.append(f"{key} is {_word(have_flag)}, wanted {_word(want_flag)}")

    mtu = desired.get("mtu")
    if mtu is not None:
        if isinstance(mtu, bool) or not str(mtu).strip().isdigit():
            raise NetworksError(f"network {desired['name']!r}: mtu must be an integer, got {mtu!r}")
        have_mtu = str(options.get(MTU_OPTION, DEFAULT_MTU)).strip()
        if have_mtu != str(int(str(mtu).strip())):
            diffs.append(f"mtu is {have_mtu}, wanted {int(str(mtu).strip())}")

    want_labels = desired.get("labels") or {}
    if not isinstance(want_labels, Mapping):
        raise NetworksError(f"network {desired['name']!r}: labels must be a dict, got {want_labels!r}")
    have_labels = {str(k): _label_value(v) for k, v in (existing.get("Labels") or {}).items()}
    want_str = {str(k): _label_value(v) for k, v in want_labels.items()}
    if have_labels != want_str:
        diffs.append(f"labels are {_labels_text(have_labels)}, wanted {_labels_text(want_str)}")
    return diffs


def _options(decl: Mapping[str, Any]) -> Dict[str, str]:
    options: Dict[str, str] = {}
    if decl.get("encrypted"):
        options[ENCRYPTED_OPTION] = ""
    mtu = decl.get("mtu")
    if mtu is not None and int(mtu) != DEFAULT_MTU:
        options[MTU_OPTION] = str(int(mtu))
    return options


def create_spec(decl: Mapping[str, Any], ingress: bool = False) -> Obj:
    """The arguments of ``APIClient.create_network`` for a declaration."""
    pool: Obj = {}
    if decl.get("subnet"):
        pool["Subnet"] = str(decl["subnet"])
        if decl.get("gateway"):
            pool["Gateway"] = str(decl["gateway"])
    spec: Obj = {
        "driver": "overlay",
        "scope": "swarm",
        "options": _options(decl),
        "ipam": {"Driver": "default", "Config": [pool] if pool else [], "Options": {}},
        "check_duplicate": True,
        "labels": {str(k): _label_value(v) for k, v in (decl.get("labels") or {}).items()},
    }
    if ingress:
        spec["ingress"] = True
    else:
        spec["attachable"] = _flag(decl, "attachable", True)
        spec["internal"] = _flag(decl, "internal", False)
    return spec


def _publishers(services: List[Obj]) -> List[str]:
    """Services that publish a port through the routing mesh (ingress mode)."""
    names = []
    for service in services:
        ports = ((service.get("Endpoint") or {}).get("Ports") or [])
        if any((p.get("PublishMode") or "ingress") == "ingress" for p in ports):
            names.append(str((service.get("Spec") or {}).get("Name") or service.get("ID", "")))
    return sorted(names)


def make_plan(existing: List[Obj], networks: Sequence[Mapping[str, Any]], ingress: Optional[Mapping[str, Any]]) -> Obj:
    """What to create, remove and re-create, and what is refused (immutable differences)."""
    by_name = {str(n.get("Name")): n for n in existing}
    create, remove, refused = [], [], []
    seen = set()
    for decl in networks:
        name = str(decl.get("name") or "")
        if not name or name in seen:
            raise NetworksError(f"every network needs a name, declared once; got {name!r}")
        seen.add(name)
        state = decl.get("state") or "present"
        if state == "absent":
            if name in by_name:
                remove.append(name)
            continue
        if name not in by_name:
            create.append(decl)
            continue
        diffs = network_diff(by_name[name], decl)
        if diffs:
            refused.append(f"overlay network {name} exists with other settings than declared: {'; '.join(diffs)}")
    recreate_ingress: List[str] = []
    if ingress is not None:
        current = next((n for n in existing if n.get("Ingress")), None)
        wanted = {"name": "ingress", "attachable": False, "internal": False, "encrypted": bool(ingress.get("encrypted")),
                  "mtu": ingress.get("mtu"), "subnet": ingress.get("subnet") or None}
        recreate_ingress = ["missing"] if current is None else [d for d in network_diff(current, wanted) if not d.startswith("labels")]
    return {"create": create, "remove": remove, "refused": refused, "ingress": recreate_ingress}


def _wait_ingress_gone(client: Any, timeout: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
    """Swarm removes a network from every node in the background: wait until ingress is gone before making it again."""
    deadline = clock() + timeout
    while any(n.get("Ingress") for n in client.overlays()):
        if clock() >= deadline:
            raise NetworksError(f"the old ingress network was still there {timeout:.0f} s after its removal")
        sleep(0.5)


def reconcile(client: Any, networks: Sequence[Mapping[str, Any]], ingress: Optional[Mapping[str, Any]], check_mode: bool,
              timeout: float = 60, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Obj:
    """Read all, diff, apply; the module's result (``diff`` included)."""
    existing = client.overlays()
    plan = make_plan(existing, networks, ingress)
    if plan["refused"]:
        raise NetworksError(
            "; ".join(plan["refused"]) + ". Docker networks cannot be changed in place: declare them as they are, give the new "
            "settings a new name, or remove them (stop the services attached, docker network rm NAME) and run again")
    actions: List[str] = []
    if plan["ingress"]:
        users = _publishers(client.services()) if plan["ingress"] != ["missing"] else []
        if users:
            raise NetworksError(
                f"the ingress network differs from the plan ({'; '.join(plan['ingress'])}) but it can only be re-created while no "
                f"service publishes a port in ingress mode, and {', '.join(users)} do. Remove those ports (or services), run again, "
                "and publish them again; or set networks_ingress_* to what it is")
        actions.append(f"re-create the ingress network ({'; '.join(plan['ingress'])})")
    actions += [f"create overlay network {d['name']}" for d in plan["create"]]
    actions += [f"remove overlay network {name}" for name in plan["remove"]]
    done: List[str] = []
    if not check_mode:
        try:
            if plan["ingress"]:
                if plan["ingress"] != ["missing"]:
                    client.remove("ingress")
                    done.append("remove the ingress network")
                    _wait_ingress_gone(client, timeout, sleep, clock)
                client.create("ingress", create_spec({"name": "ingress", **(ingress or {})}, ingress=True))
                done.append("create the ingress network as planned")
            for decl in plan["create"]:
                client.create(str(decl["name"]), create_spec(decl))
                done.append(f"create overlay network {decl['name']}")
            for name in plan["remove"]:
                client.remove(name)
                done.append(f"remove overlay network {name}")
        except (DockerApiError, NetworksError) as exc:
            raise NetworksError(f"{exc.msg} (done so far: {'; '.join(done) or 'nothing'})", done) from exc
    before = sorted(str(n.get("Name")) for n in existing)
    after = sorted((set(before) | {str(d["name"]) for d in plan["create"]}) - set(plan["remove"]))
    return {"changed": bool(actions), "actions": actions, "networks": after, "diff": {"before": before, "after": after}}
