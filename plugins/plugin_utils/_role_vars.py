# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Every campus.swarm role's variables as a host would see them, on the controller.

Used by the action plugins ``node_info`` and ``plan``, which run before any role:
the roles' defaults are then not yet in Ansible's variables. This module loads
each role's ``defaults/main.yml``, ``vars/main.yml`` and the options of its
``meta/argument_specs.yml`` (entry point ``main``) once, and templates a
variable for a host in that host's context: the roles' defaults, under the
host's own variables (inventory, facts, play and extra vars, as Ansible's
variable manager gives them for the running play).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleError
from ansible.template import Templar

# The roles whose variables the plan knows, in the order a run applies them.
ROLES = ("docker", "firewall", "swarm", "networks", "images", "proxy", "certbot", "portainer", "stacks")
ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"


class RoleVarError(Exception):
    """A variable that could not be evaluated; the message names it and the host."""


class RoleData:
    """The roles' argument specs, defaults and private variables, loaded from the collection."""

    def __init__(self, loader: Any, roles: tuple[str, ...] = ROLES, roles_dir: Path = ROLES_DIR) -> None:
        self.roles = roles
        self._loader = loader
        self._roles_dir = roles_dir
        self.defaults: dict[str, Any] = {}
        self.role_vars: dict[str, Any] = {}
        for role in roles:
            self.defaults.update(_load(loader, roles_dir / role / "defaults" / "main.yml", trusted=True) or {})
            self.role_vars.update(_load(loader, roles_dir / role / "vars" / "main.yml", trusted=True) or {})

    @functools.cached_property
    def options(self) -> dict[str, dict[str, Any]]:
        """Each role's options of entry point ``main``; loaded when first asked for (node_info, which runs
        once per host, needs only the defaults and vars, and the specs are the larger half to parse)."""
        result = {}
        for role in self.roles:
            specs = _load(self._loader, self._roles_dir / role / "meta" / "argument_specs.yml", trusted=False) or {}
            options = dict(((specs.get("argument_specs") or {}).get("main") or {}).get("options") or {})
            # The plan itself: what the roles read, not a setting the plan checks.
            options.pop("campus_swarm_plan", None)
            result[role] = options
        return result

    @property
    def known_names(self) -> list[str]:
        """Every option of every role's main entry point."""
        return sorted({name for options in self.options.values() for name in options})

    def role_of(self, name: str) -> str:
        """The role that documents variable ``name`` ('' for none)."""
        return next((role for role, options in self.options.items() if name in options), "")


def _load(loader: Any, path: Path, trusted: bool) -> Any:
    if not path.is_file():
        return None
    return loader.load_from_file(str(path), trusted_as_template=trusted)


def host_variables(task: Any, task_vars: Mapping[str, Any], host: str) -> dict[str, Any]:
    """The variables of ``host`` for this task's play, as Ansible would give that host's tasks.

    For the running host these are ``task_vars``; for the others the variable
    manager is asked the same way the strategy asks it (play and host context).
    """
    if host == task_vars.get("inventory_hostname"):
        return dict(task_vars)
    hostvars = task_vars["hostvars"]
    # HostVars keeps the run's variable manager and inventory; they are the only
    # way to a host's variables with the play's context (play vars included).
    manager = getattr(hostvars, "_variable_manager", None)
    inventory = getattr(hostvars, "_inventory", None)
    if manager is None or inventory is None or inventory.get_host(host) is None:
        raw = hostvars.raw_get(host)
        return dict(raw) if isinstance(raw, Mapping) else {}
    return dict(manager.get_vars(play=task.get_play(), host=inventory.get_host(host), task=task, include_hostvars=False))


class HostView:
    """One host's view of the roles' variables: defaults below the host's own, templated on access."""

    def __init__(self, templar: Templar, data: RoleData, variables: Mapping[str, Any], hostvars: Any, host: str) -> None:
        self.host = host
        self.data = data
        context = {**data.defaults, **data.role_vars, **variables, "hostvars": hostvars}
        self._context = context
        self._templar = templar.copy_with_new_env(available_variables=context)
        self._cache: dict[str, Any] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._context

    def get(self, name: str, default: Any = None) -> Any:
        """The templated value of ``name``, ``default`` when no role or the host defines it."""
        if name not in self._context:
            return default
        if name not in self._cache:
            try:
                self._cache[name] = self._templar.template(self._context[name])
            except AnsibleError as exc:
                raise RoleVarError(f"{name} on host {self.host} cannot be evaluated: {_first_line(exc)}") from None
        return self._cache[name]

    def template_with(self, value: Any, extra: Mapping[str, Any]) -> Any:
        """Template ``value`` (trusted) in this host's context with ``extra`` variables on top."""
        templar = self._templar.copy_with_new_env(available_variables={**self._context, **extra})
        try:
            return templar.template(value)
        except AnsibleError as exc:
            raise RoleVarError(f"host {self.host}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
