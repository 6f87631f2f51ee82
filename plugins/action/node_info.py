# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of campus.swarm.node_info: what to read, from the roles' watch lists, when not given."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.campus.swarm.plugins.plugin_utils._role_vars import HostView, RoleData, RoleVarError, host_variables

WATCH_KEYS = ("packages", "units", "files", "contents", "nft_tables", "certificates")


def role_watch(view: HostView) -> dict[str, list[str]]:
    """The union of every role's ``__ROLE_watch`` (what the plan reads on a node for that role)."""
    watch: dict[str, list[str]] = {key: [] for key in WATCH_KEYS}
    for role in view.data.roles:
        declared = view.get(f"__{role}_watch") or {}
        for key in WATCH_KEYS:
            for item in declared.get(key) or []:
                if item and item not in watch[key]:
                    watch[key].append(str(item))
    return watch


class ActionModule(ActionBase):
    """Run campus.swarm.node_info with the roles' watch lists filled in."""

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if not any(key in args for key in WATCH_KEYS):
            host = task_vars.get("inventory_hostname", "")
            try:
                view = HostView(self._templar, RoleData(self._loader), host_variables(self._task, task_vars, host),
                                task_vars.get("hostvars"), host)
                args.update(role_watch(view))
            except RoleVarError as exc:
                result.update(failed=True, msg=f"campus.swarm.node_info: {exc}")
                return result
        result.update(self._execute_module(module_name="campus.swarm.node_info", module_args=args, task_vars=task_vars))
        return result
