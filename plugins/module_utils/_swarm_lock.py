# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Autolock a swarm's managers, rotate the unlock key, unlock a locked manager.

Private to campus.swarm.swarm_lock. With autolock on, a manager keeps its raft
state and TLS key encrypted at rest: an engine that restarts comes up
``locked`` and takes no part in the swarm until it is given the unlock key.
The swarm spec is read and sent back with only ``EncryptionConfig`` changed
(Docker replaces the whole spec on an update). The key is returned only by
:func:`configure` (its task runs with no_log) and never put into a message.
Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Dict

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApiError, ReconcileError
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import _check_swarm
from ansible_collections.campus.swarm.plugins.module_utils._swarm_rotate import RotateClient


class LockClient(RotateClient):
    """swarm_rotate's client plus the unlock key's read and the unlock."""

    def unlock_key(self) -> str:
        return str((self.docker.call("read the unlock key", self.docker.api.get_unlock_key) or {}).get("UnlockKey") or "")

    def unlock(self, key: str) -> None:
        self.docker.call("unlock the swarm", self.docker.api.unlock_swarm, key)


def autolock_of(swarm: Dict[str, Any]) -> bool:
    """Whether the swarm's managers are locked at rest."""
    return bool(((swarm.get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers"))


def configure(client: Any, autolock: bool, rotate_key: bool, check_mode: bool = False) -> Dict[str, Any]:
    """Set autolock as asked and, on request, rotate the key; with autolock on the result holds ``unlock_key``."""
    _check_swarm(client.info())
    if rotate_key and not autolock:
        raise ReconcileError("the unlock key rotates only with autolock on (swarm_autolock: true)")
    swarm = client.inspect_swarm()
    before = autolock_of(swarm)
    actions = []
    if autolock != before:
        actions.append("turn autolock on (a manager's engine that restarts stays locked until unlocked)" if autolock
                       else "turn autolock off")
    if rotate_key:
        actions.append("rotate the unlock key")
    result: Dict[str, Any] = {"changed": bool(actions), "actions": actions, "autolock": autolock if not check_mode else before}
    if actions and not check_mode:
        spec = copy.deepcopy(swarm.get("Spec") or {})
        spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = autolock
        client.update_swarm(int((swarm.get("Version") or {}).get("Index", 0)), spec, rotate_worker_token=False,
                            rotate_manager_token=False, rotate_unlock_key=rotate_key)
        result["autolock"] = autolock
    if result["autolock"]:
        result["unlock_key"] = client.unlock_key()
    return result


def local_state(client: Any) -> str:
    return str((client.info().get("Swarm") or {}).get("LocalNodeState") or "inactive")


def unlock(client: Any, key: str, check_mode: bool = False, timeout: float = 60,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Dict[str, Any]:
    """Unlock this manager when it is locked, and wait until it is an active member again."""
    state = local_state(client)
    if state != "locked":
        return {"changed": False, "actions": [], "state": state}
    result: Dict[str, Any] = {"changed": True, "actions": ["unlock this manager"], "state": state}
    if check_mode:
        return result
    if not key.strip():
        raise ReconcileError("this manager is locked and the unlock key given is empty")
    try:
        client.unlock(key.strip())
    except DockerApiError as exc:
        raise ReconcileError(f"the manager refused the unlock key ({exc.msg}); a key from before a rotation "
                             "does not open it; a running swarm's key is the one site.yml last wrote") from exc
    deadline = clock() + timeout
    while True:
        state = local_state(client)
        if state == "active":
            break
        if clock() >= deadline:
            raise ReconcileError(f"unlocked, but after {int(timeout)} s the node is {state}, not active", result["actions"])
        sleep(1.0)
    result["state"] = state
    return result
