#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_networks
short_description: Make a swarm's overlay networks and its ingress network match their declarations, in one call
version_added: 0.5.0
description:
  - Run on a swarm manager. Reads every overlay network of the swarm once, compares each declared network with it, and
    creates the missing ones, removes those declared absent and, when O(ingress) is given and differs, re-creates the
    C(ingress) network; all in one call.
  - Docker networks cannot change in place. A declared network that exists with other immutable settings (subnet,
    gateway, attachable, encrypted, internal, MTU, labels) is refused before anything is done, naming the differences.
  - The C(ingress) network is re-created only while no service publishes a port in ingress mode; otherwise the module
    refuses, naming those services.
  - Overlay networks that are not declared are left alone.
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
      - The diff lists the swarm's overlay network names before and after.
  idempotent:
    support: full
options:
  networks:
    description: The overlay networks.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Network name.
        type: str
        required: true
      subnet:
        description: Subnet (CIDR); omitted takes one from the swarm's default address pool.
        type: str
      gateway:
        description: Gateway inside O(networks[].subnet).
        type: str
      attachable:
        description: Standalone containers may attach.
        type: bool
        default: true
      encrypted:
        description: IPsec (ESP) on the data path.
        type: bool
        default: false
      internal:
        description: No route out of the network.
        type: bool
        default: false
      mtu:
        description:
          - The underlay MTU the network is planned for (C(com.docker.network.driver.mtu)); 1500, Docker's default, is not
            written out. Omitted leaves Docker's default.
        type: int
      labels:
        description: Network labels.
        type: dict
        default: {}
      state:
        description: V(absent) removes the network.
        type: str
        choices: [present, absent]
        default: present
  ingress:
    description:
      - The C(ingress) network as planned (C(subnet), C(mtu), C(encrypted)); omitted leaves it as Docker made it.
    type: dict
    suboptions:
      subnet:
        description: Subnet (CIDR); empty takes the first one of the swarm's address pool.
        type: str
        default: ""
      mtu:
        description: The underlay MTU it is planned for.
        type: int
        default: 1500
      encrypted:
        description: IPsec (ESP) on the routing mesh's data path.
        type: bool
        default: false
  timeout:
    description: Seconds to wait for a Docker API call, and for the old C(ingress) network to be gone before it is made again.
    type: int
    default: 60
seealso:
  - module: community.docker.docker_network
"""

EXAMPLES = r"""
---
- name: Make the overlay networks
  campus.swarm.swarm_networks:
    networks:
      - {name: proxy, subnet: 10.201.1.0/24, attachable: false, mtu: 1450}
      - {name: rabbitmq, internal: true, mtu: 1450}
      - {name: old, state: absent}
    ingress: {subnet: 10.201.0.0/24, mtu: 1450}
  run_once: true
"""

RETURN = r"""
actions:
  description: What was done, or would be done in check mode, one sentence each.
  returned: always
  type: list
  elements: str
  sample: [create overlay network proxy]
networks:
  description: The swarm's overlay network names afterwards (in check mode, as they would be).
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import run_reconcile
from ansible_collections.campus.swarm.plugins.module_utils._swarm_networks import NetworksClient, reconcile


def main() -> None:
    network = dict(
        name=dict(type="str", required=True),
        subnet=dict(type="str"),
        gateway=dict(type="str"),
        attachable=dict(type="bool", default=True),
        encrypted=dict(type="bool", default=False),
        internal=dict(type="bool", default=False),
        mtu=dict(type="int"),
        labels=dict(type="dict", default={}),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(
        argument_spec=dict(
            networks=dict(type="list", elements="dict", required=True, options=network),
            ingress=dict(type="dict", options=dict(subnet=dict(type="str", default=""), mtu=dict(type="int", default=1500),
                                                   encrypted=dict(type="bool", default=False))),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = run_reconcile(module, NetworksClient,
                           lambda client: reconcile(client, params["networks"], params["ingress"], module.check_mode, params["timeout"]))
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
