#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_nodes
short_description: Make a swarm's node roles, availability and labels match the inventory
version_added: 0.1.0
description:
  - Run on one swarm manager, reconciles every declared node of the swarm in one call.
  - Nodes are matched by their swarm node ID, not by hostname; O(nodes[].name) is the inventory name used in messages,
    results and the diff.
  - Label and availability changes are made first, then promotions, then demotions one at a time.
  - A demotion is refused when afterwards fewer reachable managers would remain than the raft quorum of the managers
    left, or when no manager would remain. The checks run before anything is written, and again against fresh
    node data before each demotion.
  - The module refuses to demote the manager it runs on, to promote a node that is not ready, and to run on a worker.
  - Each node is read again just before it is updated, so the update carries the node's current version.
  - "Swarm nodes that are not declared are left alone and listed in RV(unmanaged_nodes), with one exception: the
    stale entry of a re-imaged host. An entry that is not declared, is not C(ready), and has the hostname of exactly one
    declared node that is C(ready) is the old node ID of a host that joined again. It is removed (a manager's
    demoted first, which only removes an unreachable raft member, and removed once raft let it go), and the
    actions say so."
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.docker
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows, for each declared node by inventory name, its role, availability and labels.
  idempotent:
    support: full
options:
  nodes:
    description:
      - The swarm nodes to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      node_id:
        description:
          - The node's swarm ID, as in C(docker info --format '{{.Swarm.NodeID}}') on that node.
        type: str
        required: true
      name:
        description:
          - The node's inventory hostname, used in messages, results and the diff.
        type: str
        required: true
      role:
        description:
          - The role the node must have.
        type: str
        choices: [manager, worker]
        required: true
      availability:
        description:
          - The availability the node must have. Left alone when omitted.
        type: str
        choices: [active, pause, drain]
      labels:
        description:
          - Node labels to set. Values are turned into strings, booleans into V(true) and V(false).
          - Left alone when omitted. Otherwise merged into the node's labels, or replacing them when
            O(labels_exclusive=true).
        type: dict
  labels_exclusive:
    description:
      - When V(true), labels of a node that declares O(nodes[].labels) are removed unless declared.
      - Nodes without O(nodes[].labels) keep their labels either way.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for a Docker API call.
      - Also the longest wait, after promotions, for the promoted managers to become reachable before demotions,
        and for a demoted stale manager to leave raft.
    type: int
    default: 60
notes:
  - Get the node IDs with M(community.docker.docker_swarm_info) or from each node's C(docker info).
seealso:
  - module: community.docker.docker_node
  - module: community.docker.docker_swarm
"""

EXAMPLES = r"""
---
- name: Make node roles and labels match the inventory
  campus.swarm.swarm_nodes:
    nodes:
      - node_id: 4c2ea8zkfxyvhqj8bdhlr3m5x
        name: campus-lab-m1
        role: manager
      - node_id: 9rxb2bycsz0eeqpo5y7i3dtuh
        name: campus-lab-w1
        role: worker
        availability: active
        labels:
          zone: a
  delegate_to: campus-lab-m1
  run_once: true

- name: Drain a worker and keep only the declared labels
  campus.swarm.swarm_nodes:
    labels_exclusive: true
    nodes:
      - node_id: 9rxb2bycsz0eeqpo5y7i3dtuh
        name: campus-lab-w1
        role: worker
        availability: drain
        labels: {}
  register: __swarm_nodes_result
"""

RETURN = r"""
actions:
  description: What was done, or would be done in check mode, one sentence each.
  returned: always
  type: list
  elements: str
  sample:
    - promote campus-lab-w1 (node id 9rxb2bycsz0eeqpo5y7i3dtuh)
    - "change labels of campus-lab-w1 (node id 9rxb2bycsz0eeqpo5y7i3dtuh): add zone=a"
    - "remove stale entry x2l0c1ckm5ujxaf3bx6mfj0qa of campus-lab-w2 (down; campus-lab-w2 is node 9rxb2bycsz0eeqpo5y7i3dtuh now)"
nodes:
  description:
    - The declared nodes as they are afterwards (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The inventory name.
      type: str
    node_id:
      description: The swarm node ID.
      type: str
    hostname:
      description: The hostname the node reports.
      type: str
    role:
      description: The node's role, V(manager) or V(worker).
      type: str
    availability:
      description: The node's availability, V(active), V(pause) or V(drain).
      type: str
    labels:
      description: The node's labels.
      type: dict
    state:
      description: The node's state, such as V(ready) or V(down).
      type: str
    leader:
      description: Whether the node is the raft leader.
      type: bool
  sample:
    - name: campus-lab-m1
      node_id: 4c2ea8zkfxyvhqj8bdhlr3m5x
      hostname: campus-lab-m1
      role: manager
      availability: active
      labels: {}
      state: ready
      leader: true
unmanaged_nodes:
  description: The swarm nodes not declared in O(nodes), left alone.
  returned: always
  type: list
  elements: dict
  contains:
    node_id:
      description: The swarm node ID.
      type: str
    hostname:
      description: The hostname the node reports.
      type: str
    role:
      description: The node's role.
      type: str
    state:
      description: The node's state.
      type: str
  sample: []
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import run_reconcile
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import (
    DockerSwarmClient,
    declared_nodes,
    reconcile,
)


def run_module(params: dict[str, Any], client: Any, check_mode: bool) -> dict[str, Any]:
    """Reconcile with the module's parameters; raises SwarmNodesError on refusal, DockerApiError on a failed call."""
    return reconcile(
        client,
        declared_nodes(params["nodes"]),
        labels_exclusive=params["labels_exclusive"],
        check_mode=check_mode,
        timeout=params["timeout"],
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            nodes=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    node_id=dict(type="str", required=True),
                    name=dict(type="str", required=True),
                    role=dict(type="str", required=True, choices=["manager", "worker"]),
                    availability=dict(type="str", choices=["active", "pause", "drain"]),
                    labels=dict(type="dict"),
                ),
            ),
            labels_exclusive=dict(type="bool", default=False),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    result = run_reconcile(module, DockerSwarmClient, lambda client: run_module(module.params, client, module.check_mode))
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
