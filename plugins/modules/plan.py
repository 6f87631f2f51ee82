#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: plan
short_description: Check every role's settings for every host against the nodes, and publish the run's plan
version_added: 0.5.0
description:
  - An action plugin that runs on the controller, once (C(run_once)), after M(campus.swarm.node_info) read every node.
    The role C(campus.swarm.plan) runs it; every playbook of the collection starts with that role.
  - For every host of group C(swarm) in the play it takes each campus.swarm role's variables as the host sees them
    (the roles' defaults under the host's inventory, play and extra vars) and checks them against the roles' argument
    specs (types, choices, required keys) and their real domains, against the other hosts and against what the nodes
    have. All problems found are reported at once, one line each naming the variable, the hosts (V(every host) when
    it is all of them) and the fix; the run then stops before any host changes.
  - Otherwise it returns the plan as RV(plan); the role C(campus.swarm.plan) sets it as the variable
    C(campus_swarm_plan) on every host of the play (not cached between runs), which the roles read. Its shape is in
    the documentation of the role C(campus.swarm.plan). The plan holds no secret
    (passwords, keys, proxy URLs with credentials, secret data of stacks).
  - Hosts of group C(swarm) outside the play (C(--limit)) are not checked; only their address is used (for the
    firewall rules), from C(swarm_advertise_addr) or a read of their network.
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.attributes.READ_ONLY
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: none
options:
  nodes:
    description:
      - What M(campus.swarm.node_info) read on each node, by inventory name (its C(node) result). A host of group
        C(swarm) without an entry is taken as outside the run.
    type: dict
    required: true
  removed:
    description:
      - Inventory hosts that are leaving the swarm (C(playbooks/remove_node.yml) gives those it removed). The plan
        takes them as if the inventory had them in no group, so no firewall rule of the other hosts admits their
        addresses any more.
    type: list
    elements: str
    default: []
seealso:
  - module: campus.swarm.node_info
"""

EXAMPLES = r"""
---
- name: Read every node
  campus.swarm.node_info:
  register: node

- name: Plan the run
  campus.swarm.plan:
    nodes: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['node', 'node']))) }}"
  run_once: true
"""

RETURN = r"""
problems:
  description: One line per problem, when the plan found any (the run then fails).
  returned: failure
  type: list
  elements: str
  sample:
    - "swarm_data_path_port (every host): 99 is outside 1024-49151, the range Docker takes. Fix: choose a UDP port in that range."
plan:
  description:
    - The run's plan (see the role C(campus.swarm.plan), which sets it as C(campus_swarm_plan) on every host of the play
      with M(ansible.builtin.set_fact)).
  returned: success
  type: dict
"""
