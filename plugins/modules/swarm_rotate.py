#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_rotate
short_description: Rotate a swarm's join tokens and root CA, and wait until every node holds the new root's certificate
version_added: 0.5.0
description:
  - Run on a swarm manager. Reads the swarm and sends its own spec back with only C(CAConfig.ForceRotate) raised,
    so nothing else of the swarm's settings changes (M(community.docker.docker_swarm) sends a spec made of its own
    parameters).
  - With O(tokens=true) the worker and the manager join tokens are replaced; nodes that joined keep working, a join
    with an old token is refused.
  - With O(ca=true) the swarm makes a new root CA and re-issues every node's certificate; the module waits until the
    rotation is over and every C(ready) node's certificate names the new root, or fails after O(timeout) naming the
    nodes that lag. A node that is C(down) gets its certificate when it is back.
  - Never returns a token or a key; the roots are named by the SHA-256 of their certificate.
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
    support: none
    details:
      - Every run that asks for a rotation rotates.
options:
  tokens:
    description: Replace the worker and manager join tokens.
    type: bool
    default: true
  ca:
    description: Replace the swarm's root CA and wait until every ready node holds a certificate from it.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for a Docker API call, and for the nodes' new certificates.
    type: int
    default: 300
seealso:
  - module: community.docker.docker_swarm
"""

EXAMPLES = r"""
---
- name: New join tokens and a new root CA
  campus.swarm.swarm_rotate:
    tokens: true
    ca: true
  delegate_to: campus-m1
  run_once: true
"""

RETURN = r"""
actions:
  description: What was done, or would be done in check mode.
  returned: always
  type: list
  elements: str
  sample: ["rotate the worker join token", "rotate the manager join token", "rotate the root CA (ForceRotate 0 -> 1)"]
root_before:
  description: The SHA-256 of the root CA certificate before.
  returned: always
  type: str
root_after:
  description: The SHA-256 of the root CA certificate every ready node holds a certificate from afterwards.
  returned: always
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import run_reconcile
from ansible_collections.campus.swarm.plugins.module_utils._swarm_rotate import RotateClient, rotate


def run_module(params: dict[str, Any], client: Any, check_mode: bool) -> dict[str, Any]:
    """Rotate as asked; raises ReconcileError (a wait ran out) or DockerApiError."""
    return rotate(client, params["tokens"], params["ca"], check_mode=check_mode, timeout=params["timeout"])


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            tokens=dict(type="bool", default=True),
            ca=dict(type="bool", default=False),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    result = run_reconcile(module, RotateClient, lambda client: run_module(module.params, client, module.check_mode))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
