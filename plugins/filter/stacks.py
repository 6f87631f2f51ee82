# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Application stacks (role campus.swarm.stacks): versioned secret and config names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports

# Swarm's own rules: a stack's name is the first part of its services' and networks' names, which
# must be DNS labels (no '.', at most 63 characters); secret and config names allow '.', up to 64.
# (Swarm's own pattern, ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$, backtracks exponentially in
# Python's re on a long name with a '.'; this one accepts the same names in linear time.)
_DNS_LABEL = re.compile(r"[A-Za-z0-9]+(?:[-_]+[A-Za-z0-9]+)*")
_OBJECT = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?")
_DNS_LABEL_RULE = "letters and digits, joined by '-' or '_' (no '.'; Docker uses it in DNS names)"
_OBJECT_RULE = "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
# PBKDF2 rounds behind a secret's version digits (about 0.1 s per secret and evaluation).
SECRET_ROUNDS = 200_000
KINDS = ("secret", "config")


class StackError(ValueError):
    """Input the stack filters cannot use."""


def _seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _declared(stack: Mapping[str, Any], key: str) -> Any:
    """A list key of a stack declaration; absent or null is an empty list."""
    value = stack.get(key)
    return [] if value is None else value


def _versioned_objects(objects: Any, stack: str, kind: str = "secret") -> list[dict[str, Any]]:
    """Each secret or config (``name`` and ``data``) with ``versioned_name``: STACK_NAME_ plus 12 hex
    digits that follow its data. Swarm secrets and configs cannot change; a new content gets a new
    name, so the services that use it are updated to the new version.

    A config's digits are the start of the SHA-256 of its data. A secret's name reaches logs (CI
    logs too), so a fast hash of a password there would let anyone confirm guesses offline: its
    digits come from PBKDF2-HMAC-SHA256 (SECRET_ROUNDS rounds, salted with stack and name). The
    role creates secrets with ``docker secret create``, which stores no hash of the data either
    (community.docker.docker_secret would keep an unsalted SHA-224 in a label). Error messages
    name the object, never its data."""
    if not isinstance(stack, str) or len(stack) > 63 or not _DNS_LABEL.fullmatch(stack):
        raise StackError(f"the stack name must be {_DNS_LABEL_RULE}, got {stack!r}")
    objects = [] if objects is None else objects
    if not _seq(objects):
        raise StackError(f"the {kind}s of stack {stack} must be a list, got {type(objects).__name__}")
    result, seen = [], set()
    for index, item in enumerate(objects):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not _OBJECT.fullmatch(item["name"]):
            raise StackError(f"{kind} {index} of stack {stack} needs a name of {_OBJECT_RULE}")
        name = item["name"]
        if name in seen:
            raise StackError(f"{kind} {name} of stack {stack} is declared twice")
        seen.add(name)
        data = item.get("data")
        if not isinstance(data, str) or not data:
            raise StackError(f"{kind} {name} of stack {stack} needs data, a string that is not empty "
                             "(from a file: lookup('file', ...))")
        if kind == "secret":
            salt = f"campus.swarm/{stack}/{name}".encode()
            digest = hashlib.pbkdf2_hmac("sha256", data.encode(), salt, SECRET_ROUNDS).hex()[:12]
        else:
            digest = hashlib.sha256(data.encode()).hexdigest()[:12]
        versioned = f"{stack}_{name}_{digest}"
        if len(versioned) > 64:
            raise StackError(f"{kind} {name} of stack {stack}: {versioned} is longer than Docker's 64 characters")
        result.append({**item, "versioned_name": versioned})
    return result


stack_versioned_objects = reports("stack_versioned_objects", StackError)(_versioned_objects)

_STACK_KEYS = {"name", "compose", "template", "vars", "secrets", "configs", "networks", "images", "prune",
               "wait_timeout", "resolve_image"}
_RESOLVE = ("always", "changed", "never")


def _stack_errors(stack: Mapping[str, Any], name: str) -> list[str]:
    errors: list[str] = []
    unknown = sorted(set(stack) - _STACK_KEYS)
    if unknown:
        errors.append(f"stack {name}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_STACK_KEYS))})")
    if not isinstance(stack.get("compose"), (str, Mapping)) or not stack.get("compose"):
        errors.append(f"stack {name}: compose must be the path of a compose file or template, or a mapping")
    if not isinstance(stack.get("vars", {}), Mapping):
        errors.append(f"stack {name}: vars must be a mapping")
    for kind in KINDS:
        try:
            _stack_objects(stack, kind)
        except StackError as exc:
            errors.append(str(exc))
    networks = _declared(stack, "networks")
    if not _seq(networks) or not all(isinstance(n, Mapping) and isinstance(n.get("name"), str) for n in networks):
        errors.append(f"stack {name}: networks must be a list of overlay declarations with a name "
                      "(as in networks_overlays; created as STACK_NAME)")
    else:
        for net in networks:
            full = f"{name}_{net['name']}"
            if len(full) > 63 or not _DNS_LABEL.fullmatch(net["name"]):
                errors.append(f"stack {name}: network {net['name']!r} needs a name of {_DNS_LABEL_RULE}, "
                              f"and {full} must be 63 characters or fewer")
    images = _declared(stack, "images")
    if not _seq(images) or not all(isinstance(i, Mapping) and isinstance(i.get("name"), str) for i in images):
        errors.append(f"stack {name}: images must be a list of {{name, source, hosts}} as in images_list")
    timeout = stack.get("wait_timeout", 1)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        errors.append(f"stack {name}: wait_timeout must be a whole number of seconds, 1 or more")
    if stack.get("resolve_image", "changed") not in _RESOLVE:
        errors.append(f"stack {name}: resolve_image must be one of {', '.join(_RESOLVE)}")
    for flag in ("prune", "template"):
        if not isinstance(stack.get(flag, False), bool):
            errors.append(f"stack {name}: {flag} must be true or false")
    return errors


@reports("stack_declaration_errors", StackError, TypeError)
def stack_declaration_errors(stacks: Any, reserved: Any = ()) -> list[str]:
    """What is wrong with ``stacks_deploy``, one sentence per problem naming the stack and the key;
    an empty list when every stack can be deployed. ``reserved``: stack names the collection's own
    roles deploy (Portainer's). Never shows secret or config data."""
    if not _seq(stacks):
        return [f"stacks_deploy must be a list of stacks, got {type(stacks).__name__}"]
    errors: list[str] = []
    seen: set[str] = set()
    for index, stack in enumerate(stacks):
        if not isinstance(stack, Mapping):
            errors.append(f"stacks_deploy[{index}] must be a mapping with name and compose, got {type(stack).__name__}")
            continue
        name = stack.get("name")
        if not isinstance(name, str) or len(name) > 63 or not _DNS_LABEL.fullmatch(name):
            errors.append(f"stacks_deploy[{index}] needs a name of {_DNS_LABEL_RULE}, 63 characters at most")
            continue
        if name in seen:
            errors.append(f"stack {name} is declared twice in stacks_deploy")
        if name in reserved:
            errors.append(f"stack {name}: the name belongs to a stack of the collection's own roles; choose another")
        seen.add(name)
        errors += _stack_errors(stack, name)
    return errors


def _refs(entries: Any) -> set[str]:
    """The names a service's secrets, configs or networks entry refers to (short or long syntax)."""
    if isinstance(entries, Mapping):  # networks: {name: {aliases: ...}}
        return {str(k) for k in entries}
    if not _seq(entries):
        return set()
    return {str(e["source"]) if isinstance(e, Mapping) else str(e) for e in entries
            if isinstance(e, (str, Mapping)) and (not isinstance(e, Mapping) or "source" in e)}


@reports("stack_compose_errors", StackError, TypeError)
def stack_compose_errors(compose: Any, stack: Any) -> list[str]:
    """What would make ``docker stack deploy`` refuse the stack's compose file (rendered, as a
    mapping), checked before any host changes: no services; a network declared both in the stack and
    in the file; a service referring to a secret, config or network declared in neither."""
    name = stack["name"]
    if not isinstance(compose, Mapping) or not isinstance(compose.get("services"), Mapping) or not compose["services"]:
        return [f"stack {name}: the compose file must be a mapping with services"]
    errors: list[str] = []
    stack_networks = {n["name"] for n in _declared(stack, "networks")}
    both = sorted(stack_networks & set(compose.get("networks") or {}))
    if both:
        errors.append(f"stack {name}: network(s) {', '.join(both)} declared in networks and in the compose file: "
                      "declare each in one place")
    known = {
        "secrets": {o["name"] for o in _declared(stack, "secrets")} | set(compose.get("secrets") or {}),
        "configs": {o["name"] for o in _declared(stack, "configs")} | set(compose.get("configs") or {}),
        "networks": stack_networks | set(compose.get("networks") or {}) | {"default"},
    }
    for service, spec in sorted(compose["services"].items()):
        if not isinstance(spec, Mapping):
            errors.append(f"stack {name}: service {service} must be a mapping")
            continue
        for key, names in known.items():
            missing = sorted(_refs(spec.get(key)) - names)
            if missing:
                errors.append(f"stack {name}: service {service} uses {key} {', '.join(missing)}, declared neither "
                              f"in the stack's {key} nor in the compose file")
    return errors


def _stack_objects(stack: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """The secrets or configs (``kind``) a stack declares, each with its ``versioned_name``."""
    return _versioned_objects(_declared(stack, kind + "s"), stack["name"], kind)


def _networks(stack: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{**net, "name": f"{stack['name']}_{net['name']}"} for net in _declared(stack, "networks")]


@reports("stack_networks", StackError, KeyError, TypeError)
def stack_networks(stacks: Any) -> list[dict[str, Any]]:
    """The overlay declarations of every stack, each network named STACK_NAME (for the networks role)."""
    return [net for stack in stacks for net in _networks(stack)]


@reports("stack_references", StackError, KeyError, TypeError)
def stack_references(stack: Any, compose: Any = None) -> dict[str, Any]:
    """A second compose file for ``docker stack deploy``: the top-level declarations of the stack's
    secrets and configs (external, under their versioned names) and networks (external, STACK_NAME),
    so the stack's own compose file refers to them by their short names. It carries the ``version``
    of the stack's own compose file ``compose`` (none when that has none): Docker refuses compose
    files of different versions in one deploy."""
    refs: dict[str, Any] = {}
    if isinstance(compose, Mapping) and "version" in compose:
        refs["version"] = compose["version"]
    for kind in KINDS:
        items = _stack_objects(stack, kind)
        if items:
            refs[kind + "s"] = {i["name"]: {"external": True, "name": i["versioned_name"]} for i in items}
    if _declared(stack, "networks"):
        refs["networks"] = {short["name"]: {"external": True, "name": full["name"]}
                            for short, full in zip(stack["networks"], _networks(stack), strict=True)}
    return refs


def _listed(listed: Any, kind: str) -> set[str]:
    return set((listed or {}).get(kind) or [])


@reports("stack_missing_versions", StackError, KeyError, TypeError)
def stack_missing_versions(listed: Any, stack: Any, kind: str) -> list[dict[str, Any]]:
    """The declared secrets or configs (``kind``) of ``stack`` whose current version is not among
    the names found on the swarm (``listed``: kind -> names), with ``versioned_name``: to create."""
    found = _listed(listed, kind)
    return [i for i in _stack_objects(stack, kind) if i["versioned_name"] not in found]


@reports("stack_stale_versions", StackError, KeyError, TypeError)
def stack_stale_versions(listed: Any, stack: Any, in_use: Any = None) -> list[dict[str, str]]:
    """The secrets and configs of ``stack`` (``listed``: kind -> names found with the stack's label)
    that are neither the current version of one of its declared objects nor named in ``in_use``
    (kind -> names the services' current and previous specs refer to: ``docker service rollback``
    needs the previous ones), sorted, as {kind, name}."""
    stale = []
    for kind in KINDS:
        current = {i["versioned_name"] for i in _stack_objects(stack, kind)}
        keep = current | _listed(in_use, kind)
        stale += [{"kind": kind, "name": n} for n in sorted(_listed(listed, kind) - keep)]
    return stale


class FilterModule:
    """Stack filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "stack_versioned_objects": stack_versioned_objects,
            "stack_declaration_errors": stack_declaration_errors,
            "stack_networks": stack_networks,
            "stack_compose_errors": stack_compose_errors,
            "stack_references": stack_references,
            "stack_missing_versions": stack_missing_versions,
            "stack_stale_versions": stack_stale_versions,
        }
