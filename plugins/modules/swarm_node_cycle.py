#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_node_cycle
short_description: Take one swarm node out of service and back (engine upgrade, reboot)
version_added: 0.5.0
description:
  - Run on a swarm manager other than the node.
  - O(state=drained) sets the node's availability to C(drain), its role and labels kept, and waits until no task is
    meant to run on it any more, then until the tasks its services started on other nodes run (so the next node
    drained does not take a service's last running task), or fails after O(timeout) naming the tasks.
  - "A service keeps answering through a rolling upgrade or reboot only if its replicas run on different nodes: give
    it C(replicas_max_per_node: 1) or a spread placement preference."
  - Calls that raft refuses for a moment during a leader election are tried again until O(timeout).
  - O(state=restored) waits until the node is C(ready) again, a manager also C(reachable) in raft, or fails after
    O(timeout) naming the node and its state (the node then stays drained); then it sets O(availability).
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.docker
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is waited for.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  node_id:
    description: The node's swarm ID.
    type: str
    required: true
  name:
    description: The node's inventory name, used in messages.
    type: str
    required: true
  state:
    description: V(drained) or V(restored).
    type: str
    choices: [drained, restored]
    required: true
  availability:
    description: The availability the node gets back (O(state=restored)).
    type: str
    choices: [active, pause, drain]
    default: active
  timeout:
    description: Seconds to wait for a Docker API call, for the tasks to move, and for the node to come back.
    type: int
    default: 300
seealso:
  - module: campus.swarm.swarm_nodes
"""

EXAMPLES = r"""
---
- name: Drain campus-w1 before its engine is upgraded
  campus.swarm.swarm_node_cycle:
    node_id: 9rxb2bycsz0eeqpo5y7i3dtuh
    name: campus-w1
    state: drained
  delegate_to: campus-m1

- name: Bring it back once its engine answers again
  campus.swarm.swarm_node_cycle:
    node_id: 9rxb2bycsz0eeqpo5y7i3dtuh
    name: campus-w1
    state: restored
    availability: active
  delegate_to: campus-m1
"""

RETURN = r"""
actions:
  description: What was done, or would be done in check mode.
  returned: always
  type: list
  elements: str
  sample: ["set availability of campus-w1 (node id 9rxb2bycsz0eeqpo5y7i3dtuh) to drain (was active)"]
availability_before:
  description: The node's availability before.
  returned: always
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import run_reconcile
from ansible_collections.campus.swarm.plugins.module_utils._swarm_cycle import drain, restore
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import DockerSwarmClient


def run_module(params: dict[str, Any], client: Any, check_mode: bool) -> dict[str, Any]:
    """Drain or restore; raises SwarmNodesError (refused, or a wait ran out) or DockerApiError."""
    if params["state"] == "drained":
        return drain(client, params["node_id"], params["name"], check_mode=check_mode, timeout=params["timeout"])
    return restore(client, params["node_id"], params["name"], params["availability"], check_mode=check_mode,
                   timeout=params["timeout"])


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            node_id=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", required=True, choices=["drained", "restored"]),
            availability=dict(type="str", default="active", choices=["active", "pause", "drain"]),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run_reconcile(module, DockerSwarmClient, lambda client: run_module(module.params, client, module.check_mode)))


if __name__ == "__main__":
    main()
