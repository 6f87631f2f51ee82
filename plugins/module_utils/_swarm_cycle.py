# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Take one node out of service and back, for an engine upgrade or a reboot.

Private to campus.swarm.swarm_node_cycle. ``drain`` sets the node's
availability to ``drain`` (its role and labels kept) and waits until no task
is meant to run on it any more (the services started them elsewhere);
``restore`` waits until the node is ``ready`` again (a manager also
``reachable`` in raft) and sets the availability it should have. Both run on a
manager other than the node (the node's engine is about to stop). A manager
that just restarted or rebooted may start a raft election: the calls that raft
refuses meanwhile ("node lost leader status", no leader) are tried again until
the timeout. Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, TypeVar

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import (
    DeclaredNode,
    SwarmNodesError,
    _availability,
    _check_swarm,
    _is_manager,
    _reachable,
    _role,
    _state,
    not_running,
    reconcile,
    running_services,
    running_tasks,
    task_label,
    wait_until,
)

T = TypeVar("T")

# What a manager answers for a few seconds around a raft leader election.
_ELECTION = ("lost leader status", "does not have a leader", "raft: failed to process", "code = Unavailable",
             "code = DeadlineExceeded")


def _in_election(error: DockerApiError) -> bool:
    return any(text in error.msg for text in _ELECTION)


def through_election(call: Callable[[], T], timeout: float, sleep: Callable[[float], None],
                     clock: Callable[[], float]) -> T:
    """``call()``, tried again every 2 s while raft refuses it for an election, until ``timeout``."""
    deadline = clock() + timeout
    while True:
        try:
            return call()
        except DockerApiError as error:
            if not _in_election(error) or clock() >= deadline:
                raise
        sleep(2.0)


def _checked(client: Any, node_id: str, name: str) -> Dict[str, Any]:
    if _check_swarm(client.info()) == node_id:
        raise SwarmNodesError(f"{name} (node id {node_id}) is the node this module runs on: run it on another manager")
    return client.inspect_node(node_id)


def _set(client: Any, node: Dict[str, Any], name: str, availability: str, check_mode: bool, timeout: float,
         sleep: Callable[[float], None], clock: Callable[[], float]) -> Dict[str, Any]:
    declared = [DeclaredNode(node["ID"], name, _role(node), availability)]
    return reconcile(client, declared, check_mode=check_mode, timeout=timeout, sleep=sleep, clock=clock)


def _electing(check: Callable[[], List[str]]) -> Callable[[], List[str]]:
    """``check`` for :func:`wait_until`, where a call raft refuses for an election counts as not done yet."""
    def checked() -> List[str]:
        try:
            return check()
        except DockerApiError as error:
            if not _in_election(error):
                raise
            return [f"the swarm elects a leader ({error.msg})"]
    return checked


def drain(client: Any, node_id: str, name: str, check_mode: bool = False, timeout: float = 300,
          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Drain the node, wait until none of its tasks is meant to run any more, then until the tasks its
    services started elsewhere run (the next node drained must not take a service's last running task)."""
    node = through_election(lambda: _checked(client, node_id, name), timeout, sleep, clock)
    services = through_election(lambda: running_services(client, [node_id]), timeout, sleep, clock)
    result = through_election(lambda: _set(client, node, name, "drain", check_mode, timeout, sleep, clock), timeout, sleep, clock)
    if not check_mode:
        wait_until(f"tasks still run on {name}", _electing(lambda: [task_label(t) for t in running_tasks(client, [node_id])]),
                   timeout, list(result["actions"]), sleep, clock)
        wait_until(f"the tasks moved from {name} do not run", _electing(lambda: not_running(client, services)),
                   timeout, list(result["actions"]), sleep, clock)
    return {"changed": result["changed"], "actions": result["actions"], "availability_before": _availability(node)}


def _not_back(client: Any, node_id: str, name: str) -> List[str]:
    node = client.inspect_node(node_id)
    if _state(node) != "ready":
        return [f"{name} is {_state(node)}"]
    if _is_manager(node) and not _reachable(node):
        return [f"{name} is a manager not reachable in raft"]
    return []


def restore(client: Any, node_id: str, name: str, availability: str = "active", check_mode: bool = False,
            timeout: float = 300, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Wait until the node is ready (a manager also reachable), then give it ``availability``."""
    node = through_election(lambda: _checked(client, node_id, name), timeout, sleep, clock)
    if not check_mode:
        wait_until("the node did not come back", _electing(lambda: _not_back(client, node_id, name)), timeout, [], sleep,
                   clock)
        node = through_election(lambda: client.inspect_node(node_id), timeout, sleep, clock)
    result = through_election(lambda: _set(client, node, name, availability, check_mode, timeout, sleep, clock),
                              timeout, sleep, clock)
    return {"changed": result["changed"], "actions": result["actions"], "availability_before": _availability(node)}
