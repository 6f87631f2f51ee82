#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: firewalld_info
short_description: Read what firewalld runs with and where Docker's bridges are
version_added: 0.5.0
description:
  - Reads whether firewalld runs and starts at boot, its default zone, the settings of zone O(zone) as it runs and as
    configured (a rule removed by hand without C(--permanent) shows up as a difference), Docker's bridges (C(docker0),
    C(docker_gwbridge), C(br-) and a network ID) and the interfaces in the zone C(docker) that Docker makes.
  - The role C(campus.swarm.firewall) reads it with the firewalld backend, whose running state only C(firewall-cmd)
    tells.
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.attributes.READ_ONLY
options:
  zone:
    description: The zone whose settings to read.
    type: str
    required: true
"""

EXAMPLES = r"""
---
- name: Read firewalld and Docker's bridges
  campus.swarm.firewalld_info:
    zone: campus-swarm
  register: firewalld
"""

RETURN = r"""
firewalld:
  description: What firewalld runs with.
  returned: success
  type: dict
  contains:
    active:
      description: firewalld runs.
      type: bool
    enabled:
      description: firewalld starts at boot.
      type: bool
    default_zone:
      description: Its default zone ('' when it does not run).
      type: str
    runtime:
      description: The settings of O(zone) as firewalld runs them (key to value; the interfaces and sources bound to it left out).
      type: dict
    permanent:
      description: The settings of O(zone) as configured.
      type: dict
    in_sync:
      description: Whether RV(firewalld.runtime) and RV(firewalld.permanent) are the same.
      type: bool
    docker_bridges:
      description: Docker's bridges on the host.
      type: list
      elements: str
    docker_zone_interfaces:
      description: The interfaces in the zone C(docker).
      type: list
      elements: str
    docker_active:
      description: The Docker engine runs.
      type: bool
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._commands import module_runner
from ansible_collections.campus.swarm.plugins.module_utils._firewalld_info import read


def main() -> None:
    module = AnsibleModule(argument_spec=dict(zone=dict(type="str", required=True)), supports_check_mode=True)

    module.exit_json(changed=False, firewalld=read(module_runner(module), module.params["zone"]))


if __name__ == "__main__":
    main()
