#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_lock
short_description: Lock a swarm's managers at rest (autolock), rotate the unlock key, unlock a locked manager
version_added: 0.5.0
description:
  - With O(state=configured), run on a swarm manager. Sets the swarm's autolock to O(autolock), sending the swarm's
    own spec back with only C(EncryptionConfig.AutoLockManagers) changed, and with O(rotate_key=true) replaces the
    unlock key. With autolock on it returns the current unlock key in RV(unlock_key), so run the task with
    C(no_log) and keep the key only in a file of mode 0600 on the controller.
  - With autolock on, a manager whose engine restarts comes up C(locked) and takes no part in the swarm until it is
    unlocked; a backup of its state is encrypted with the key in force when it was made.
  - With O(state=unlocked), run on each manager. A manager that is C(locked) is unlocked with O(unlock_key), and the
    module waits until it is an active member again; any other manager is left alone. The key is never printed.
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.docker
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - O(rotate_key=true) rotates on every run.
options:
  state:
    description: V(configured) sets autolock on the swarm; V(unlocked) unlocks this manager when it is locked.
    type: str
    choices: [configured, unlocked]
    default: configured
  autolock:
    description: Whether managers are locked at rest (O(state=configured)).
    type: bool
    default: false
  rotate_key:
    description: Replace the unlock key (O(state=configured), autolock on). A backup made before opens only with the old key.
    type: bool
    default: false
  unlock_key:
    description: The unlock key (O(state=unlocked)), read from the controller's key file.
    type: str
    default: ""
  timeout:
    description: Seconds to wait for a Docker API call, and for an unlocked manager to be active.
    type: int
    default: 60
seealso:
  - module: campus.swarm.swarm_rotate
"""

EXAMPLES = r"""
---
- name: Lock the managers at rest
  campus.swarm.swarm_lock:
    autolock: true
  register: lock
  no_log: true  # the result holds the unlock key
  delegate_to: campus-m1
  run_once: true

- name: Unlock the managers whose engine restarted
  campus.swarm.swarm_lock:
    state: unlocked
    unlock_key: "{{ lookup('ansible.builtin.file', '/root/vault/campus-unlock-key') }}"
"""

RETURN = r"""
actions:
  description: What was done, or would be done in check mode.
  returned: always
  type: list
  elements: str
  sample: ["turn autolock on (a manager's engine that restarts stays locked until unlocked)"]
autolock:
  description: Whether autolock is on afterwards (O(state=configured)).
  returned: when O(state=configured)
  type: bool
unlock_key:
  description: The swarm's unlock key after the change; a secret.
  returned: when O(state=configured) and autolock is on
  type: str
state:
  description: This node's local swarm state afterwards (O(state=unlocked)), for example V(active) or V(locked).
  returned: when O(state=unlocked)
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import run_reconcile
from ansible_collections.campus.swarm.plugins.module_utils._swarm_lock import LockClient, configure, unlock


def run_module(params: dict[str, Any], client: Any, check_mode: bool) -> dict[str, Any]:
    """Configure or unlock as asked; raises ReconcileError or DockerApiError."""
    if params["state"] == "unlocked":
        return unlock(client, params["unlock_key"], check_mode=check_mode, timeout=params["timeout"])
    return configure(client, params["autolock"], params["rotate_key"], check_mode=check_mode)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="configured", choices=["configured", "unlocked"]),
            autolock=dict(type="bool", default=False),
            rotate_key=dict(type="bool", default=False, no_log=False),
            unlock_key=dict(type="str", default="", no_log=True),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    result = run_reconcile(module, LockClient, lambda client: run_module(module.params, client, module.check_mode))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
