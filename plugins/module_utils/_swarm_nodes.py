# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Reconcile swarm node roles, availability and labels with the inventory.

Private to campus.swarm.swarm_nodes. The logic is pure; the Docker API sits
behind :class:`DockerSwarmClient` (over the collection's
:class:`~._docker_api.DockerApi`, whose failures raise ``DockerApiError``),
which tests replace with a fake offering the same five methods (``info``,
``nodes``, ``inspect_node``, ``update_node``, ``remove_node``).

A host re-imaged under the same name joins as a new node and leaves its old
entry ``down`` for ever. Such a stale entry (not declared, not ``ready``, with
the hostname of a declared node that is ``ready``) is removed, a manager's first
demoted, with the quorum checked as for any demotion. Runs on the managed host:
Python 3.8+.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApi, DockerApiError, ReconcileError

ROLES = ("manager", "worker")
AVAILABILITIES = ("active", "pause", "drain")

Node = Dict[str, Any]


class SwarmNodesError(ReconcileError):
    """A refusal (bad input, an unsafe plan); ``actions`` lists what was already done."""


class DockerSwarmClient:
    """The Docker API calls of the node modules (the reconciler uses the first five); a failed call raises
    DockerApiError."""

    def __init__(self, docker: DockerApi) -> None:
        self.docker = docker

    def info(self) -> Dict[str, Any]:
        return self.docker.call("info", self.docker.api.info)

    def nodes(self) -> List[Node]:
        return self.docker.call("list nodes", self.docker.api.nodes)

    def inspect_node(self, node_id: str) -> Node:
        return self.docker.call(f"inspect node {node_id}", self.docker.api.inspect_node, node_id)

    def update_node(self, node_id: str, version: int, node_spec: Dict[str, Any]) -> None:
        self.docker.call(f"update node {node_id}", self.docker.api.update_node, node_id, version, node_spec)

    def remove_node(self, node_id: str, force: bool) -> None:
        self.docker.call(f"remove node {node_id}", self.docker.api.remove_node, node_id, force=force)

    def tasks(self, filters: Dict[str, Any]) -> List[Dict[str, Any]]:
        return self.docker.call("list tasks", self.docker.api.tasks, filters=filters)


class DeclaredNode:
    """One entry of the module's ``nodes`` option."""

    __slots__ = ("availability", "labels", "name", "node_id", "role")

    def __init__(self, node_id: str, name: str, role: str,
                 availability: Optional[str] = None, labels: Optional[Dict[str, str]] = None) -> None:
        self.node_id = node_id
        self.name = name
        self.role = role
        self.availability = availability
        self.labels = labels

    def describe(self) -> str:
        return f"{self.name} (node id {self.node_id})"


def _label_value(name: str, key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise SwarmNodesError(f"{name}: label {key!r} must be a string, number or boolean, got {value!r}")


def declared_nodes(entries: List[Dict[str, Any]]) -> List[DeclaredNode]:
    """Check the ``nodes`` option and turn it into DeclaredNode objects."""
    result: List[DeclaredNode] = []
    seen_ids: Dict[str, str] = {}
    seen_names = set()
    for entry in entries:
        node_id = str(entry.get("node_id") or "").strip()
        name = str(entry.get("name") or "").strip()
        role = entry.get("role")
        availability = entry.get("availability")
        labels = entry.get("labels")
        if not node_id or not name:
            raise SwarmNodesError(f"every node needs a node_id and a name, got {entry!r}")
        if node_id in seen_ids:
            raise SwarmNodesError(f"{name}: node id {node_id} is declared twice (also for {seen_ids[node_id]})")
        if name in seen_names:
            raise SwarmNodesError(f"{name} is declared twice")
        if role not in ROLES:
            raise SwarmNodesError(f"{name}: role must be one of {', '.join(ROLES)}, got {role!r}")
        if availability is not None and availability not in AVAILABILITIES:
            raise SwarmNodesError(f"{name}: availability must be one of {', '.join(AVAILABILITIES)}, got {availability!r}")
        if labels is not None:
            if not isinstance(labels, dict):
                raise SwarmNodesError(f"{name}: labels must be a dict, got {labels!r}")
            labels = {str(k): _label_value(name, str(k), v) for k, v in labels.items()}
        seen_ids[node_id] = name
        seen_names.add(name)
        result.append(DeclaredNode(node_id, name, str(role), availability, labels))
    return result


def quorum(managers: int) -> int:
    """Raft majority; the same arithmetic as the campus.swarm.swarm_quorum filter."""
    return managers // 2 + 1


def _spec(node: Node) -> Dict[str, Any]:
    return node.get("Spec") or {}


def _role(node: Node) -> str:
    return str(_spec(node).get("Role") or "worker")


def _availability(node: Node) -> str:
    return str(_spec(node).get("Availability") or "active")


def _labels(node: Node) -> Dict[str, str]:
    return dict(_spec(node).get("Labels") or {})


def _state(node: Node) -> str:
    return str((node.get("Status") or {}).get("State") or "unknown")


def _hostname(node: Node) -> str:
    return str((node.get("Description") or {}).get("Hostname") or "")


def _is_manager(node: Node) -> bool:
    return _role(node) == "manager" or bool(node.get("ManagerStatus"))


def _reachable(node: Node) -> bool:
    return (node.get("ManagerStatus") or {}).get("Reachability") == "reachable"


def _leader(node: Node) -> bool:
    return bool((node.get("ManagerStatus") or {}).get("Leader"))


def _target_labels(declared: DeclaredNode, current: Dict[str, str], exclusive: bool) -> Dict[str, str]:
    if declared.labels is None:
        return dict(current)
    if exclusive:
        return dict(declared.labels)
    merged = dict(current)
    merged.update(declared.labels)
    return merged


def _target_spec(declared: DeclaredNode, node: Node, exclusive: bool) -> Dict[str, Any]:
    spec = dict(_spec(node))
    spec["Role"] = declared.role
    spec["Availability"] = declared.availability or _availability(node)
    spec["Labels"] = _target_labels(declared, _labels(node), exclusive)
    return spec


def _label_changes(before: Dict[str, str], after: Dict[str, str]) -> str:
    parts = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            parts.append(f"remove {key}")
        elif key not in before:
            parts.append(f"add {key}={after[key]}")
        elif before[key] != after[key]:
            parts.append(f"set {key}={after[key]} (was {before[key]})")
    return ", ".join(parts)


class Change:
    """What to change on one declared node."""

    def __init__(self, declared: DeclaredNode, node: Node, exclusive: bool) -> None:
        self.declared = declared
        self.exclusive = exclusive
        self.before = node
        self.target = _target_spec(declared, node, exclusive)

    @property
    def kind(self) -> str:
        if _role(self.before) == self.target["Role"]:
            return "update"
        return "promote" if self.target["Role"] == "manager" else "demote"

    def actions(self) -> List[str]:
        who = self.declared.describe()
        result = []
        if self.kind != "update":
            result.append(f"{self.kind} {who}")
        if _availability(self.before) != self.target["Availability"]:
            result.append(f"set availability of {who} to {self.target['Availability']} (was {_availability(self.before)})")
        labels = _label_changes(_labels(self.before), self.target["Labels"])
        if labels:
            result.append(f"change labels of {who}: {labels}")
        return result


def _manager_reachability(nodes: List[Node]) -> Dict[str, bool]:
    return {n["ID"]: _reachable(n) for n in nodes if _is_manager(n)}


def _quorum_problem(managers: Dict[str, bool], change: Change) -> Optional[str]:
    """Why demoting ``change``'s node from ``managers`` (id -> reachable) is unsafe, or None."""
    remaining = {k: v for k, v in managers.items() if k != change.declared.node_id}
    who = change.declared.describe()
    if not remaining:
        return f"refusing to demote {who}: no manager would remain"
    reachable = sum(1 for ok in remaining.values() if ok)
    need = quorum(len(remaining))
    if reachable < need:
        return (
            f"refusing to demote {who}: {len(remaining)} managers would remain of which {reachable} "
            f"are reachable, fewer than the {need} needed for quorum"
        )
    return None


def _node_result(declared: DeclaredNode, node: Node) -> Dict[str, Any]:
    return {
        "name": declared.name,
        "node_id": declared.node_id,
        "hostname": _hostname(node),
        "role": _role(node),
        "availability": _availability(node),
        "labels": _labels(node),
        "state": _state(node),
        "leader": _leader(node),
    }


def _view(node: Node) -> Dict[str, Any]:
    return {"role": _role(node), "availability": _availability(node), "labels": _labels(node)}


class Stale:
    """An old entry of a re-imaged host: not declared, not ``ready``, the hostname of a declared ``ready`` node.
    Right after a leader election an entry that will never answer again is ``unknown``, not yet ``down``.
    A manager's entry that a new cluster left out of the raft (force-new-cluster: restore.yml, recover.yml)
    has no ManagerStatus: Docker refuses to demote it ("can't find manager in raft memberlist") and removes
    it by force."""

    def __init__(self, node: Node, successor: DeclaredNode) -> None:
        self.node = node
        self.successor = successor
        self.manager = _is_manager(node)
        self.in_raft = bool(node.get("ManagerStatus"))

    def actions(self) -> List[str]:
        who = f"stale entry {self.node['ID']} of {_hostname(self.node)}"
        why = f"{_state(self.node)}; {self.successor.name} is node {self.successor.node_id} now"
        return ([f"demote {who}"] if self.in_raft else []) + [f"remove {who} ({why})"]


class _Plan:
    def __init__(self, updates: List[Change], promotions: List[Change], demotions: List[Change],
                 stale: Optional[List[Stale]] = None) -> None:
        self.updates = updates
        self.promotions = promotions
        self.demotions = demotions
        self.stale = stale or []

    @property
    def changes(self) -> List[Any]:
        return self.updates + self.promotions + self.demotions + self.stale

    def actions(self) -> List[str]:
        return [a for c in self.changes for a in c.actions()]


def stale_entries(nodes: List[Node], declared: List[DeclaredNode]) -> List[Stale]:
    """The old entries of re-imaged hosts, by hostname; a hostname two declared nodes share is left alone."""
    by_id = {n["ID"]: n for n in nodes}
    live: Dict[str, List[DeclaredNode]] = {}
    for d in declared:
        node = by_id.get(d.node_id)
        if node is not None:
            live.setdefault(_hostname(node), []).append(d)
    declared_ids = {d.node_id for d in declared}
    return [
        Stale(n, live[_hostname(n)][0]) for n in sorted(nodes, key=lambda n: (_hostname(n), n["ID"]))
        if n["ID"] not in declared_ids and _state(n) != "ready" and len(live.get(_hostname(n), [])) == 1
        and _state(by_id[live[_hostname(n)][0].node_id]) == "ready"
    ]


def _check_swarm(info: Dict[str, Any]) -> str:
    swarm = info.get("Swarm") or {}
    node_id = str(swarm.get("NodeID") or "")
    if swarm.get("LocalNodeState") != "active" or not node_id:
        raise SwarmNodesError(
            f"this host is not part of a swarm (local node state {swarm.get('LocalNodeState') or 'unknown'}): "
            "run swarm_nodes on a swarm manager"
        )
    if not swarm.get("ControlAvailable"):
        raise SwarmNodesError(f"this host (node id {node_id}) is a swarm worker: run swarm_nodes on a swarm manager")
    return node_id


def make_plan(local_id: str, nodes: List[Node], declared: List[DeclaredNode], exclusive: bool) -> _Plan:
    """Order the changes (updates, promotions, demotions) and refuse unsafe ones."""
    by_id = {n["ID"]: n for n in nodes}
    missing = [d for d in declared if d.node_id not in by_id]
    if missing:
        known = ", ".join(f"{n['ID']} ({_hostname(n)})" for n in nodes)
        raise SwarmNodesError(
            "; ".join(f"{d.describe()} is not in the swarm" for d in missing) + f". Swarm nodes: {known}"
        )
    changes = [Change(d, by_id[d.node_id], exclusive) for d in declared]
    changes = [c for c in changes if c.actions()]
    updates = sorted((c for c in changes if c.kind == "update"), key=lambda c: c.declared.name)
    promotions = sorted((c for c in changes if c.kind == "promote"), key=lambda c: c.declared.name)
    demotions = [c for c in changes if c.kind == "demote"]
    problems = [
        f"cannot promote {c.declared.describe()}: its state is {_state(c.before)}, not ready"
        for c in promotions if _state(c.before) != "ready"
    ]
    problems += [
        f"refusing to demote {c.declared.describe()}: the module runs on it; run on a manager that stays a manager"
        for c in demotions if c.declared.node_id == local_id
    ]
    if problems:
        raise SwarmNodesError("; ".join(problems))
    managers = _manager_reachability(nodes)
    managers.update({c.declared.node_id: True for c in promotions})
    # Demote unreachable managers first: that only ever helps the quorum.
    demotions.sort(key=lambda c: (managers.get(c.declared.node_id, False), c.declared.name))
    for change in demotions:
        problem = _quorum_problem(managers, change)
        if problem:
            raise SwarmNodesError(problem)
        managers.pop(change.declared.node_id, None)
    stale = stale_entries(nodes, declared)
    for entry in stale:
        # A stale manager is unreachable: demoting it only ever helps the quorum, unless none would be left.
        if entry.manager:
            managers.pop(entry.node["ID"], None)
    return _Plan(updates, promotions, demotions, stale)


def _update(client: Any, node_id: str, target: Callable[[Node], Dict[str, Any]], attempts: int = 5) -> None:
    """Update the node to ``target(its fresh inspect)``. The swarm bumps a node's version on its own (its
    status and description after a restart, its certificate): when it did between the inspect and the update,
    the update is refused "out of sequence" and made again from a new inspect."""
    for attempt in range(attempts):
        fresh = client.inspect_node(node_id)
        try:
            client.update_node(node_id, int((fresh.get("Version") or {}).get("Index", 0)), target(fresh))
            return
        except DockerApiError as error:
            if "update out of sequence" not in error.msg or attempt == attempts - 1:
                raise


def _apply(client: Any, change: Change) -> None:
    _update(client, change.declared.node_id, lambda fresh: _target_spec(change.declared, fresh, change.exclusive))


def _wait_for_reachable(client: Any, node_ids: List[str], timeout: float,
                        sleep: Callable[[float], None], clock: Callable[[], float]) -> List[Node]:
    deadline = clock() + timeout
    while True:
        nodes = client.nodes()
        by_id = {n["ID"]: n for n in nodes}
        if all(_reachable(by_id.get(i) or {}) for i in node_ids) or clock() >= deadline:
            return nodes
        sleep(1.0)


def _remove_stale(client: Any, entry: Stale, done: List[str], timeout: float, sleep: Callable[[float], None],
                  clock: Callable[[], float]) -> None:
    """Demote a stale manager and wait until raft let it go (Docker refuses to remove a manager), then remove it."""
    node_id = entry.node["ID"]
    if entry.in_raft:
        _update(client, node_id, lambda fresh: dict(_spec(fresh), Role="worker"))
        wait_until("the demoted stale entry is still a manager", lambda: [
            f"{node_id} of {_hostname(entry.node)}"] if _is_manager(client.inspect_node(node_id)) else [], timeout, done, sleep, clock)
    # Docker removes only a node that is down without force; one still unknown, or a manager's entry
    # outside the raft, goes by force.
    fresh = client.inspect_node(node_id)
    client.remove_node(node_id, force=_state(fresh) != "down" or _is_manager(fresh))


def running_tasks(client: Any, node_ids: List[str]) -> List[Dict[str, Any]]:
    """The tasks meant to run on the nodes ``node_ids`` (desired state running)."""
    return [t for i in node_ids for t in client.tasks({"node": i, "desired-state": "running"})]


def running_services(client: Any, node_ids: List[str]) -> List[str]:
    """The IDs of the services with a task meant to run on the nodes ``node_ids``."""
    return sorted({str(t.get("ServiceID", "")) for t in running_tasks(client, node_ids)} - {""})


def not_running(client: Any, service_ids: List[str]) -> List[str]:
    """The tasks of ``service_ids`` meant to run that do not run yet (a moved task still starting)."""
    return [f"{task_label(t)} is {t.get('Status', {}).get('State', '?')}"
            for service_id in service_ids for t in client.tasks({"service": service_id, "desired-state": "running"})
            if t.get("Status", {}).get("State") != "running"]


def task_label(task: Dict[str, Any]) -> str:
    """A task as messages name it: SERVICE.SLOT (a global service's task: SERVICE.NODE_ID)."""
    return f"{task.get('ServiceID', '?')}.{task.get('Slot', task.get('NodeID', ''))}"


def wait_until(what: str, check: Callable[[], List[str]], timeout: float, done: List[str],
               sleep: Callable[[float], None], clock: Callable[[], float],
               error: Callable[[str, List[str]], Exception] = SwarmNodesError) -> None:
    """Wait until ``check`` returns nothing; else raise ``error`` naming what it returned last and what was done."""
    deadline = clock() + timeout
    while True:
        left = check()
        if not left:
            return
        if clock() >= deadline:
            raise error(f"{what} after {int(timeout)} s: {', '.join(left)} (done so far: {'; '.join(done) or 'nothing'})", done)
        sleep(2.0)


def reconcile(client: Any, declared: List[DeclaredNode], labels_exclusive: bool = False, check_mode: bool = False,
              timeout: float = 60, sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Make the swarm's nodes match ``declared``; return the module result (without ``diff`` trimming)."""
    local_id = _check_swarm(client.info())
    nodes = client.nodes()
    plan = make_plan(local_id, nodes, declared, labels_exclusive)
    actions = plan.actions()
    done: List[str] = []
    if not check_mode:
        for change in plan.updates + plan.promotions:
            _apply(client, change)
            done.extend(change.actions())
        if plan.demotions:
            promoted = [c.declared.node_id for c in plan.promotions]
            current = _wait_for_reachable(client, promoted, timeout, sleep, clock) if promoted else client.nodes()
            for change in plan.demotions:
                problem = _quorum_problem(_manager_reachability(current), change)
                if problem:
                    raise SwarmNodesError(f"{problem} (done so far: {'; '.join(done) or 'nothing'})", done)
                _apply(client, change)
                done.extend(change.actions())
                current = client.nodes()
        for entry in plan.stale:
            _remove_stale(client, entry, done, timeout, sleep, clock)
            done.extend(entry.actions())
    stale_ids = {e.node["ID"] for e in plan.stale}
    by_id = {n["ID"]: n for n in nodes}
    planned = {c.declared.node_id: c.target for c in plan.changes if isinstance(c, Change)}
    predicted = {i: dict(n, Spec=planned[i]) if i in planned else n for i, n in by_id.items() if i not in stale_ids}
    final = {n["ID"]: n for n in client.nodes()} if actions and not check_mode else predicted
    declared_ids = {d.node_id for d in declared}
    return {
        "changed": bool(actions),
        "actions": actions,
        "nodes": [_node_result(d, final.get(d.node_id) or predicted[d.node_id]) for d in declared],
        "unmanaged_nodes": [
            {"node_id": n["ID"], "hostname": _hostname(n), "role": _role(n), "state": _state(n)}
            for n in sorted(final.values(), key=_hostname) if n["ID"] not in declared_ids
        ],
        "diff": {
            "before": {d.name: _view(by_id[d.node_id]) for d in declared},
            "after": {d.name: _view(predicted[d.node_id]) for d in declared},
        },
    }
