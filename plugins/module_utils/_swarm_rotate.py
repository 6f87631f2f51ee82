# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Rotate a swarm's join tokens and root CA, keeping the rest of its spec.

Private to campus.swarm.swarm_rotate. Docker replaces the whole swarm spec on
an update: the spec is read and sent back with only ``CAConfig.ForceRotate``
raised (community.docker's docker_swarm sends a spec built from its own
parameters, which resets what it was not given). After a root CA rotation the
swarm says ``RootRotationInProgress`` until every node holds a certificate
from the new root; the wait ends when that is over and every ready node's
``TLSInfo`` names the swarm's new root. No token or key is ever returned.
Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import copy
import hashlib
import time
from typing import Any, Callable, Dict, List

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import ReconcileError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import (
    DockerSwarmClient,
    Node,
    _check_swarm,
    _hostname,
    _state,
)


class RotateError(ReconcileError):
    """A wait that ran out; ``actions`` lists what was already done."""


class RotateClient(DockerSwarmClient):
    """swarm_nodes' client plus the swarm object's read and update."""

    def inspect_swarm(self) -> Dict[str, Any]:
        return self.docker.call("inspect swarm", self.docker.api.inspect_swarm)

    def update_swarm(self, version: int, spec: Dict[str, Any], rotate_worker_token: bool, rotate_manager_token: bool,
                     rotate_unlock_key: bool = False) -> None:
        self.docker.call("update swarm", self.docker.api.update_swarm, version, spec, rotate_worker_token=rotate_worker_token,
                         rotate_manager_token=rotate_manager_token, rotate_manager_unlock_key=rotate_unlock_key)


def fingerprint(pem: str) -> str:
    """A short name for a root certificate: the SHA-256 of its PEM text."""
    return "sha256:" + hashlib.sha256(pem.encode()).hexdigest() if pem else ""


def _root(swarm: Dict[str, Any]) -> str:
    return str((swarm.get("TLSInfo") or {}).get("TrustRoot") or "")


def _node_root(node: Node) -> str:
    return str(((node.get("Description") or {}).get("TLSInfo") or {}).get("TrustRoot") or "")


def lagging(swarm: Dict[str, Any], nodes: List[Node]) -> List[str]:
    """The ready nodes whose certificate is not from the swarm's root, and why the rotation is not over."""
    left = [f"{_hostname(n)} (node id {n['ID']})" for n in nodes if _state(n) == "ready" and _node_root(n) != _root(swarm)]
    if swarm.get("RootRotationInProgress") and not left:
        left.append("the swarm (root rotation in progress)")
    return left


def rotate(client: Any, tokens: bool, ca: bool, check_mode: bool = False, timeout: float = 300,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Rotate the join tokens (``tokens``) and the root CA (``ca``); return the module result."""
    _check_swarm(client.info())
    swarm = client.inspect_swarm()
    before = fingerprint(_root(swarm))
    force = int(((swarm.get("Spec") or {}).get("CAConfig") or {}).get("ForceRotate") or 0)
    actions = (["rotate the worker join token", "rotate the manager join token"] if tokens else [])
    actions += [f"rotate the root CA (ForceRotate {force} -> {force + 1})"] if ca else []
    result: Dict[str, Any] = {"changed": bool(actions), "actions": actions, "root_before": before, "root_after": before}
    if check_mode or not actions:
        return result
    spec = copy.deepcopy(swarm.get("Spec") or {})
    if ca:
        spec.setdefault("CAConfig", {})["ForceRotate"] = force + 1
    client.update_swarm(int((swarm.get("Version") or {}).get("Index", 0)), spec, rotate_worker_token=tokens,
                        rotate_manager_token=tokens)
    if ca:
        deadline = clock() + timeout
        while True:
            swarm = client.inspect_swarm()
            left = lagging(swarm, client.nodes()) if _root(swarm) and fingerprint(_root(swarm)) != before else ["the swarm (no new root yet)"]
            if not left:
                break
            if clock() >= deadline:
                raise RotateError(f"after {int(timeout)} s these hold no certificate from the new root CA yet: {', '.join(left)} "
                                  "(a node that is down gets one when it is back)", actions)
            sleep(2.0)
        result["root_after"] = fingerprint(_root(swarm))
    return result
