# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""What removing nodes from a swarm takes, decided before anything changes.

Private to campus.swarm.swarm_remove. ``plan_removal``
takes the swarm's node list as a manager reads it (Docker's node objects) and
the inventory names of the hosts to remove, and returns the steps in a safe
order, or the problems that refuse the removal:

- every swarm entry of a named host goes (a host re-imaged and rejoined has a
  ``down`` entry of its old node ID next to its ``ready`` one);
- the hosts are drained first, so their tasks start elsewhere while quorum is
  untouched;
- managers are demoted unreachable ones first (that shrinks raft without
  losing a vote), the leader last (leadership moves once), each demotion
  checked against quorum as raft is at that moment;
- the removal is refused when it would leave no manager, lose quorum at any
  step, or leave an even number of managers (unless allowed);
- a node that is down (the host is gone or unreachable) is removed with
  ``--force`` and never asked to leave; a named host with no entry is already
  gone, which is not a problem (a re-run after a removal finishes it).

Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import ReconcileError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import (
    DeclaredNode,
    Node,
    _check_swarm,
    _hostname,
    _is_manager,
    _leader,
    _reachable,
    _state,
    not_running,
    quorum,
    reconcile,
    running_services,
    running_tasks,
    task_label,
    wait_until,
)


class RemovalInputError(ValueError):
    """Input of the wrong shape; the message names it."""


class RemovalError(ReconcileError):
    """A refusal or a wait that ran out; ``actions`` lists what was already done."""


def _managers(count: int) -> str:
    return f"{count} manager" if count == 1 else f"{count} managers"


def _nodes_of(listed: Any) -> List[Node]:
    if not isinstance(listed, list) or not all(isinstance(n, dict) and n.get("ID") for n in listed):
        raise RemovalInputError(f"the swarm's nodes must be a list of Docker node objects with an ID, got {listed!r}")
    return listed


def host_names(names: Any) -> List[str]:
    """The host names of ``-e nodes=a,b`` (a list, or a comma-separated string), trimmed, once each, in order."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RemovalInputError(f"nodes must be host names, as a list or comma-separated, got {names!r}")
    result = [n for n in dict.fromkeys(names) if n]
    if not result:
        raise RemovalInputError("nodes names no host: say which, e.g. -e nodes=campus-w2,campus-m3")
    return result


def plan_removal(listed: Any, names: Any, node_ids: Optional[Mapping[str, str]] = None,
                 allow_even_managers: bool = False) -> Dict[str, Any]:
    """The steps that remove the hosts ``names`` from the swarm whose nodes are ``listed``.

    ``node_ids`` maps an inventory name to the node ID its engine reported, where
    the host answered; otherwise a host's entries are those with its name as
    hostname. Returns ``problems`` (empty when the removal may go ahead) and, in
    order, ``drain`` (node IDs), ``demote`` (node IDs), ``leave`` (names of hosts
    whose engine is still a ready member), ``remove`` (``{id, hostname, name,
    force}``), ``gone`` (names with no entry), ``executor`` (the node ID of a
    manager that stays and runs the swarm commands) and ``managers_after``.
    """
    nodes = _nodes_of(listed)
    wanted = host_names(names)
    ids = dict(node_ids or {})
    by_name = {name: [n for n in nodes if n["ID"] == ids.get(name, "") or _hostname(n) == name] for name in wanted}
    doomed = {n["ID"] for found in by_name.values() for n in found}
    problems: List[str] = []

    managers = [n for n in nodes if _is_manager(n)]
    staying = [n for n in managers if n["ID"] not in doomed]
    leaving = [n for n in managers if n["ID"] in doomed]
    votes = sum(1 for n in managers if _reachable(n))
    if managers and votes < quorum(len(managers)):
        problems.append(
            f"the swarm has lost quorum: {votes} of its {_managers(len(managers))} are reachable and raft needs "
            f"{quorum(len(managers))}; nothing can be demoted or removed until it is recovered (README, \"Quorum loss\")")
    if leaving and not staying:
        problems.append(f"removing {', '.join(sorted(_hostname(n) for n in leaving))} would leave the swarm without a manager; "
                        "promote a worker first (put it in swarm_managers and run site.yml)")

    # Demote unreachable managers first, then reachable ones, the leader last:
    # check quorum after each step as raft then is.
    order = sorted(leaving, key=lambda n: (_reachable(n), _leader(n), _hostname(n)))
    members = len(managers)
    if not problems:
        for node in order:
            members, votes = members - 1, votes - (1 if _reachable(node) else 0)
            if members and votes < quorum(members):
                problems.append(
                    f"demoting {_hostname(node)} would leave {votes} reachable of {_managers(members)}, "
                    f"below the quorum of {quorum(members)}; bring the unreachable managers back or remove them first")
                break
    if leaving and staying and len(staying) % 2 == 0 and not allow_even_managers:
        problems.append(
            f"removing {', '.join(sorted(_hostname(n) for n in leaving))} leaves {_managers(len(staying))}, which tolerate "
            f"{(len(staying) - 1) // 2} failure(s) as {len(staying) - 1} would; promote a worker (swarm_managers) or "
            "remove one more manager, or accept it with -e allow_even_managers=true")

    reachable_staying = [n for n in staying if _reachable(n)]
    executor = next((n for n in reachable_staying if _leader(n)), reachable_staying[0] if reachable_staying else None)
    if staying and executor is None and not problems:
        problems.append("no manager that stays is reachable to run the removal from")
    doomed_nodes = [n for n in nodes if n["ID"] in doomed]
    name_of = {n["ID"]: name for name, found in by_name.items() for n in found}
    return {
        "problems": problems,
        "executor": executor["ID"] if executor else "",
        "drain": [n["ID"] for n in doomed_nodes],
        "demote": [n["ID"] for n in order],
        "leave": [name for name, found in by_name.items() if any(_state(n) == "ready" for n in found)],
        "remove": [{"id": n["ID"], "hostname": _hostname(n), "name": name_of[n["ID"]], "force": _state(n) != "ready"}
                   for n in doomed_nodes],
        "gone": [name for name, found in by_name.items() if not found],
        "managers_after": len(staying),
    }


def prepare(client: Any, names: Any, node_ids: Optional[Mapping[str, str]] = None, allow_even_managers: bool = False,
            check_mode: bool = False, timeout: float = 300, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Refuse an unsafe removal, else drain every entry of the hosts, demote their managers and wait until
    no task runs on them and the tasks their services started elsewhere run. The module runs on a manager
    that stays (refused otherwise)."""
    local_id = _check_swarm(client.info())
    plan = plan_removal(client.nodes(), names, node_ids, allow_even_managers)
    if local_id in plan["drain"]:
        plan["problems"].append("the module runs on a node being removed: run it on a manager that stays")
    if plan["problems"]:
        raise RemovalError("; ".join(plan["problems"]))
    nodes = {n["ID"]: n for n in client.nodes()}
    names_of = {r["id"]: r["name"] for r in plan["remove"]}
    listed = [i for i in plan["drain"] if i in nodes]
    declared = [DeclaredNode(i, names_of[i], "worker", "drain") for i in listed]
    services = running_services(client, listed)
    result = reconcile(client, declared, check_mode=check_mode, timeout=timeout, sleep=sleep, clock=clock)
    done = list(result["actions"]) if not check_mode else []
    if not check_mode:
        wait_until("tasks still run on the drained nodes", lambda: [
            f"{task_label(t)} on {names_of.get(t.get('NodeID', ''), t.get('NodeID', ''))}"
            for t in running_tasks(client, plan["drain"])], timeout, done, sleep, clock, RemovalError)
        wait_until("the tasks moved from the drained nodes do not run", lambda: not_running(client, services),
                   timeout, done, sleep, clock, RemovalError)
    return dict(plan, changed=bool(result["actions"]), actions=result["actions"])


def remove(client: Any, names: Any, node_ids: Optional[Mapping[str, str]] = None, check_mode: bool = False,
           timeout: float = 60, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Remove every entry of the hosts from the node list: a node that left is ``down`` within seconds
    (waited for up to ``timeout``); one still ``ready`` then (unreachable, never left) goes with ``force``."""
    _check_swarm(client.info())
    plan = plan_removal(client.nodes(), names, node_ids, allow_even_managers=True)
    managers = [r["hostname"] for r in plan["remove"] if r["id"] in plan["demote"]]
    if managers:
        raise RemovalError(f"{', '.join(managers)} still manage the swarm: run the removal's first step (prepare) before this one")
    ids = [r["id"] for r in plan["remove"]]
    actions: List[str] = []
    if check_mode or not ids:
        return {"changed": bool(ids), "actions": [f"remove {r['name']} (node id {r['id']})" for r in plan["remove"]],
                "gone": plan["gone"]}

    def still_ready() -> List[str]:
        return [f"{_hostname(n)} (node id {n['ID']})" for n in client.nodes() if n["ID"] in ids and _state(n) != "down"]

    with contextlib.suppress(RemovalError):  # a host that never left (unreachable) goes by force below
        wait_until("still listed as up", still_ready, timeout, actions, sleep, clock, RemovalError)
    states = {n["ID"]: _state(n) for n in client.nodes()}
    for entry in plan["remove"]:
        if entry["id"] not in states:
            continue
        force = states[entry["id"]] != "down"
        client.remove_node(entry["id"], force=force)
        actions.append(f"remove {entry['name']} (node id {entry['id']}){' by force' if force else ''}")
    return {"changed": bool(actions), "actions": actions, "gone": plan["gone"]}
