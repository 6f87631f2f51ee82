# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The plan's own decisions, for the roles that must take them again later in a run (role campus.swarm.swarm
reads the engines again when the plan ran before this run installed them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.plugin_utils import _plan
from ansible_collections.campus.swarm.plugins.plugin_utils._plan_problems import Problems


def swarm_state(reads: Any, managers: Sequence[str], workers: Sequence[str], wanted_init: Mapping[str, Any]) -> dict[str, Any]:
    """The swarm as the engines describe it (``reads``: host to node_info's ``docker``), as the plan works it out:
    the manager that leads, who must join, node IDs; ``problems`` lists what stops the run (a node of another
    swarm, a changed init-only setting, managers of two swarms)."""
    if not isinstance(reads, Mapping):
        raise AnsibleFilterError(f"swarm_state: give a dict of host to node_info docker, got {type(reads).__name__}")
    problems = Problems()
    state = _plan.swarm_state(reads, list(managers), list(workers), dict(wanted_init), problems)
    return {**state, "problems": problems.render(list(reads))}


def swarm_gwbridge(docker: Any, subnet: str, mtu: int) -> dict[str, Any]:
    """docker_gwbridge as planned for a node (``docker``: its node_info ``docker``): ``create`` or ``remove``
    before it joins; ``problems`` when a member's bridge has another subnet."""
    problems = Problems()
    result = _plan.gwbridge_plan({"networks_gwbridge_subnet": subnet}, {"docker": docker or {}}, int(mtu), "", problems)
    return {**result, "problems": problems.render([])}


def swarm_node_decls(plan: Any, hosts: Sequence[str], node_ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """The declarations of ``hosts`` for module swarm_nodes: each host's ``node`` of the plan with its node ID
    (``node_ids``); hosts without an ID are left out."""
    if not isinstance(plan, Mapping) or "hosts" not in plan:
        raise AnsibleFilterError("swarm_node_decls: give campus_swarm_plan")
    unplanned = [h for h in hosts if node_ids.get(h) and h not in plan["hosts"]]
    if unplanned:
        raise AnsibleFilterError(f"swarm_node_decls: {', '.join(unplanned)} not in the plan: run the plan role on them first")
    return [{**plan["hosts"][h]["node"], "node_id": node_ids[h]} for h in hosts if node_ids.get(h)]


class FilterModule:
    """Plan filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"swarm_state": swarm_state, "swarm_gwbridge": swarm_gwbridge, "swarm_node_decls": swarm_node_decls}
