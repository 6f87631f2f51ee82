#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_remove
short_description: Take hosts out of a swarm safely, in two steps around their leaving
version_added: 0.5.0
description:
  - Run on one swarm manager that stays. Every swarm entry of each host in O(nodes) goes, a stale C(down) entry
    of a re-imaged host too.
  - O(step=prepare) refuses, before changing anything, a removal that would leave no manager, that finds the
    swarm without quorum or would lose it at a demotion, or that would leave an even number of managers
    (unless O(allow_even_managers=true)), naming the numbers. Otherwise it drains every entry, demotes the
    managers among them one at a time with quorum checked before each (unreachable ones first), and waits until
    no task runs on them and the tasks their services started elsewhere run (a service whose tasks can run
    nowhere else, for example one constrained to a removed node, stops the step at O(timeout), naming its tasks).
  - Between the steps the hosts that answer leave the swarm themselves (M(community.docker.docker_swarm)
    O(community.docker.docker_swarm#module:state=absent)).
  - O(step=remove) removes their entries from the node list; an entry still up after O(timeout) seconds (a host
    that could not leave) goes by force. A host with no entry is already gone, which is no error.
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
    support: full
options:
  nodes:
    description: The inventory names of the hosts to remove.
    type: list
    elements: str
    required: true
  node_ids:
    description:
      - Inventory name to the node ID its engine reported, for hosts that answered; otherwise a host's entries are
        those whose hostname is its inventory name.
    type: dict
    default: {}
  step:
    description: V(prepare) (check, drain, demote, wait) or V(remove) (take the entries off the node list).
    type: str
    choices: [prepare, remove]
    required: true
  allow_even_managers:
    description: Accept a removal that leaves an even number of managers.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for a Docker API call, for the drained nodes' tasks to stop and to run elsewhere
        (O(step=prepare)), and for the hosts that left to be listed C(down) (O(step=remove)).
    type: int
    default: 300
seealso:
  - module: campus.swarm.swarm_nodes
  - module: community.docker.docker_swarm
"""

EXAMPLES = r"""
---
- name: Drain and demote campus-w2 and campus-m3
  campus.swarm.swarm_remove:
    nodes: [campus-w2, campus-m3]
    step: prepare
    allow_even_managers: false
  delegate_to: campus-m1
  run_once: true
"""

RETURN = r"""
actions:
  description: What was done, or would be done in check mode, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["set availability of campus-w2 (node id 9rxb2bycsz0eeqpo5y7i3dtuh) to drain (was active)"]
leave:
  description: The hosts whose engine is still a ready member and should leave the swarm itself (O(step=prepare)).
  returned: success
  type: list
  elements: str
gone:
  description: The hosts with no entry in the swarm.
  returned: success
  type: list
  elements: str
managers_after:
  description: The managers the swarm keeps (O(step=prepare)).
  returned: success
  type: int
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import run_reconcile
from ansible_collections.campus.swarm.plugins.module_utils._swarm_nodes import DockerSwarmClient
from ansible_collections.campus.swarm.plugins.module_utils._swarm_removal import (
    RemovalInputError,
    prepare,
    remove,
)


def run_module(params: dict[str, Any], client: Any, check_mode: bool) -> dict[str, Any]:
    """One step; raises RemovalInputError, ReconcileError (refusals) or DockerApiError."""
    if params["step"] == "prepare":
        return prepare(client, params["nodes"], params["node_ids"], params["allow_even_managers"],
                       check_mode=check_mode, timeout=params["timeout"])
    return remove(client, params["nodes"], params["node_ids"], check_mode=check_mode, timeout=params["timeout"])


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            nodes=dict(type="list", elements="str", required=True),
            node_ids=dict(type="dict", default={}),
            step=dict(type="str", required=True, choices=["prepare", "remove"]),
            allow_even_managers=dict(type="bool", default=False),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    result = run_reconcile(module, DockerSwarmClient, lambda client: run_module(module.params, client, module.check_mode),
                           input_errors=(RemovalInputError,))
    module.exit_json(**{k: v for k, v in result.items() if k in ("changed", "actions", "leave", "gone", "managers_after")})


if __name__ == "__main__":
    main()
