# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin campus.swarm.plan: the run's plan, on the controller, once (documentation: plugins/modules/plan.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import get_encrypted_password
from ansible.template import trust_as_template
from ansible.utils.display import Display

from ansible_collections.campus.swarm.plugins.plugin_utils._plan import Controller, HostInput, make_plan, without_hosts
from ansible_collections.campus.swarm.plugins.plugin_utils._plan_problems import Problems, check_arguments
from ansible_collections.campus.swarm.plugins.plugin_utils._role_vars import HostView, RoleData, RoleVarError, host_variables

display = Display()


def _file_problem(path: str) -> str:
    if not os.path.isfile(path):
        return f"{path} is not a file on the controller"
    if not os.access(path, os.R_OK):
        return f"{path} on the controller cannot be read"
    return ""


def _folder_problem(path: str) -> str:
    if not os.path.isdir(path):
        return f"{path} is not a folder on the controller"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} on the controller cannot be written"
    return ""


def _hash_problem() -> str:
    """Whether ansible-core here can make the sha512-crypt hashes of the entrance's basic-auth files (it needs passlib
    where Python has no crypt module: 3.13 and newer)."""
    try:
        get_encrypted_password("campus", "sha512", salt="campusswarmplan0", rounds=5000)
    except AnsibleError as exc:
        return str(exc)
    return ""


class ActionModule(ActionBase):
    """Check every role's variables for every host against the nodes, and publish the plan."""

    _requires_connection = False
    TRANSFERS_FILES = False

    def _host_input(self, data: RoleData, task_vars: Mapping[str, Any], host: str, node: Any, in_run: bool,
                    problems: Problems) -> tuple[HostInput, HostView]:
        variables = host_variables(self._task, task_vars, host)
        view = HostView(self._templar, data, variables, task_vars.get("hostvars"), host)
        typed: dict[str, Any] = {}
        for role in data.roles:
            options = data.options[role]
            given: dict[str, Any] = {}
            for name in options:
                if name not in view:
                    continue
                try:
                    given[name] = view.get(name)
                except RoleVarError as exc:
                    problems.add(name, host, str(exc).split(": ", 1)[-1], "fix its value in the inventory")
            # A host outside the run is not changed: only its address is used, its variables are not checked.
            typed.update(check_arguments(role, options, given, host, problems) if in_run else given)
        return HostInput(values=typed, node=node, in_run=in_run, names=list(variables),
                         ansible_host=str(variables.get("ansible_host") or "")), view

    def _composes(self, view: HostView, values: Mapping[str, Any], playbook_dir: str) -> dict[str, Any]:
        """Each stack's compose file, rendered as the stacks role renders it, or why it could not be."""
        composes: dict[str, Any] = {}
        for stack in values.get("stacks_deploy") or []:
            if not isinstance(stack, Mapping) or not isinstance(stack.get("name"), str):
                continue
            compose = stack.get("compose")
            if isinstance(compose, Mapping):
                composes[stack["name"]] = compose
                continue
            if not isinstance(compose, str):
                continue
            candidates = [compose] if os.path.isabs(compose) else [os.path.join(playbook_dir, "templates", compose),
                                                                   os.path.join(playbook_dir, compose)]
            path = next((c for c in candidates if os.path.isfile(c)), "")
            if not path:
                composes[stack["name"]] = (
                    f"compose file {compose} not found on the controller (an absolute path is taken as it is, a relative one is "
                    f"looked for in {playbook_dir}/templates and {playbook_dir}; give an absolute path, for example "
                    "\"{{ inventory_dir }}/stacks/compose.yml\")")
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                if stack.get("template", True):
                    text = view.template_with(trust_as_template(text), dict(stack.get("vars") or {}))
                composes[stack["name"]] = self._loader.load(text, file_name=path)
            except (OSError, RoleVarError, AnsibleError) as exc:
                composes[stack["name"]] = f"compose file {path} does not render: {str(exc).splitlines()[0]}"
        return composes

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        nodes = self._task.args.get("nodes") or {}
        if not isinstance(nodes, Mapping):
            result.update(failed=True, msg="campus.swarm.plan: nodes must map each host to the node of its campus.swarm.node_info result")
            return result
        removed = self._task.args.get("removed") or []
        if not isinstance(removed, list) or not all(isinstance(h, str) for h in removed):
            result.update(failed=True, msg="campus.swarm.plan: removed must be a list of inventory host names")
            return result
        groups = without_hosts(task_vars.get("groups") or {}, removed)
        swarm = groups.get("swarm") or []
        run = [h for h in task_vars.get("ansible_play_hosts") or [] if h in swarm]
        data = RoleData(self._loader)
        problems = Problems()
        hosts: dict[str, HostInput] = {}
        first_view: HostView | None = None
        for host in swarm:
            node = nodes.get(host)
            hosts[host], view = self._host_input(data, task_vars, host, node if isinstance(node, Mapping) else None,
                                                 host in run, problems)
            if first_view is None and host in run:
                first_view = view
        composes = self._composes(first_view, hosts[run[0]].values, str(task_vars.get("playbook_dir", ""))) if first_view is not None and run else {}
        controller = Controller(file_problem=_file_problem, folder_problem=_folder_problem, hash_problem=_hash_problem, composes=composes,
                                known_names=data.known_names)
        plan, found = make_plan(hosts, groups, run, controller)
        problems.extend(found.items)
        for warning in plan.get("warnings") or []:
            display.warning(f"campus.swarm.plan: {warning}")
        if problems:
            lines = problems.render(run)
            result.update(failed=True, problems=lines,
                          msg=f"The plan found {len(lines)} problem{'s' if len(lines) != 1 else ''}; no host was changed:\n- " + "\n- ".join(lines))
            return result
        # Not as a fact: ansible-core 2.20 deprecates reading a module's facts as top-level variables (the role
        # sets campus_swarm_plan from this with set_fact).
        result.update(changed=False, plan=plan)
        return result
