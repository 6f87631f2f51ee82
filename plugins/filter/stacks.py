# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Application stacks (role campus.swarm.stacks): versioned secret and config names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# PBKDF2 rounds behind a secret's version digits (about 0.1 s per secret and evaluation).
SECRET_ROUNDS = 200_000


class StackError(ValueError):
    """Input the stack filters cannot use."""


def _seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _versioned_objects(objects: Any, stack: str, kind: str = "secret") -> list[dict[str, Any]]:
    """Each secret or config (``name`` and ``data``) with ``versioned_name``: STACK_NAME_ plus 12 hex
    digits that follow its data. Swarm secrets and configs cannot change; a new content gets a new
    name, so the services that use it are updated to the new version.

    A config's digits are the start of the SHA-256 of its data. A secret's name reaches logs (CI
    logs too), so a fast hash of a password there would let anyone confirm guesses offline: its
    digits come from PBKDF2-HMAC-SHA256 (SECRET_ROUNDS rounds, salted with stack and name)."""
    if not isinstance(stack, str) or not _NAME.match(stack):
        raise StackError(f"the stack name must be letters, digits, '_', '.' and '-', got {stack!r}")
    if not _seq(objects):
        raise StackError(f"the {kind}s of stack {stack} must be a list, got {objects!r}")
    result, seen = [], set()
    for index, item in enumerate(objects):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not _NAME.match(item["name"]):
            raise StackError(f"{kind} {index} of stack {stack} needs a name of letters, digits, '_', '.' and '-'")
        name = item["name"]
        if name in seen:
            raise StackError(f"{kind} {name} of stack {stack} is declared twice")
        seen.add(name)
        data = item.get("data")
        if not isinstance(data, str):
            raise StackError(f"{kind} {name} of stack {stack} needs data (a string; from a file: lookup('file', ...))")
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

_STACK_KEYS = {"name", "compose", "vars", "secrets", "configs", "networks", "images", "prune", "wait_timeout",
               "resolve_image"}
_RESOLVE = ("always", "changed", "never")


@reports("stack_declaration_errors", StackError)
def stack_declaration_errors(stacks: Any) -> list[str]:
    """What is wrong with ``stacks_deploy``, one sentence per problem naming the stack and the key;
    an empty list when every stack can be deployed. Never shows secret or config data."""
    if not _seq(stacks):
        return [f"stacks_deploy must be a list of stacks, got {type(stacks).__name__}"]
    errors: list[str] = []
    seen: set[str] = set()
    for index, stack in enumerate(stacks):
        if not isinstance(stack, Mapping):
            errors.append(f"stacks_deploy[{index}] must be a mapping with name and compose, got {type(stack).__name__}")
            continue
        name = stack.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(f"stacks_deploy[{index}] needs a name of letters, digits, '_', '.' and '-'")
            continue
        if name in seen:
            errors.append(f"stack {name} is declared twice in stacks_deploy")
        seen.add(name)
        unknown = sorted(set(stack) - _STACK_KEYS)
        if unknown:
            errors.append(f"stack {name}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_STACK_KEYS))})")
        if not isinstance(stack.get("compose"), (str, Mapping)) or not stack.get("compose"):
            errors.append(f"stack {name}: compose must be the path of a compose file or template, or a mapping")
        for key in ("vars",):
            if not isinstance(stack.get(key, {}), Mapping):
                errors.append(f"stack {name}: {key} must be a mapping")
        for kind in ("secret", "config"):
            try:
                _versioned_objects(stack.get(kind + "s", []), name, kind)
            except StackError as exc:
                errors.append(str(exc))
        networks = stack.get("networks", [])
        if not _seq(networks) or not all(isinstance(n, Mapping) and isinstance(n.get("name"), str)
                                         and _NAME.match(n["name"]) for n in networks):
            errors.append(f"stack {name}: networks must be a list of overlay declarations with a name "
                          "(as in networks_overlays; created as STACK_NAME)")
        elif isinstance(stack.get("compose"), Mapping):
            both = sorted({n["name"] for n in networks} & set(stack["compose"].get("networks") or {}))
            if both:
                errors.append(f"stack {name}: network(s) {', '.join(both)} declared in networks and in the compose "
                              "file: declare each in one place")
        images = stack.get("images", [])
        if not _seq(images) or not all(isinstance(i, Mapping) and isinstance(i.get("name"), str) for i in images):
            errors.append(f"stack {name}: images must be a list of {{name, source, hosts}} as in images_list")
        timeout = stack.get("wait_timeout", 1)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            errors.append(f"stack {name}: wait_timeout must be a whole number of seconds, 1 or more")
        if stack.get("resolve_image", "changed") not in _RESOLVE:
            errors.append(f"stack {name}: resolve_image must be one of {', '.join(_RESOLVE)}")
        if not isinstance(stack.get("prune", False), bool):
            errors.append(f"stack {name}: prune must be true or false")
    return errors


def _networks(stack: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{**net, "name": f"{stack['name']}_{net['name']}"} for net in stack.get("networks") or []]


@reports("stack_networks", StackError, KeyError, TypeError)
def stack_networks(stacks: Any) -> list[dict[str, Any]]:
    """The overlay declarations of every stack, each network named STACK_NAME (for the networks role)."""
    return [net for stack in stacks for net in _networks(stack)]


@reports("stack_references", StackError, KeyError, TypeError)
def stack_references(stack: Any) -> dict[str, Any]:
    """A second compose file for ``docker stack deploy``: the top-level declarations of the stack's
    secrets and configs (external, under their versioned names) and networks (external, STACK_NAME),
    so the stack's own compose file refers to them by their short names."""
    name = stack["name"]
    refs: dict[str, Any] = {"version": "3.8"}
    for kind in ("secret", "config"):
        items = _versioned_objects(stack.get(kind + "s") or [], name, kind)
        if items:
            refs[kind + "s"] = {i["name"]: {"external": True, "name": i["versioned_name"]} for i in items}
    if stack.get("networks"):
        refs["networks"] = {short["name"]: {"external": True, "name": full["name"]}
                            for short, full in zip(stack["networks"], _networks(stack), strict=True)}
    return refs


@reports("stack_stale_versions", StackError, KeyError, TypeError)
def stack_stale_versions(listed: Any, stack: Any) -> list[dict[str, str]]:
    """The secrets and configs of ``stack`` (``listed``: kind -> names found with the stack's label)
    that are not the current version of any of its declared objects, sorted, as {kind, name}."""
    stale = []
    for kind in ("secret", "config"):
        current = {i["versioned_name"] for i in _versioned_objects(stack.get(kind + "s") or [], stack["name"], kind)}
        stale += [{"kind": kind, "name": n} for n in sorted(set(listed.get(kind) or []) - current)]
    return stale


class FilterModule:
    """Stack filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "stack_versioned_objects": stack_versioned_objects,
            "stack_declaration_errors": stack_declaration_errors,
            "stack_networks": stack_networks,
            "stack_references": stack_references,
            "stack_stale_versions": stack_stale_versions,
        }
