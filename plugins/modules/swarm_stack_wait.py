#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_stack_wait
short_description: Wait until the services of a swarm stack (or named services) converged, or say which task did not start
version_added: 0.4.0
description:
  - Run on a swarm manager after C(docker stack deploy) (M(community.docker.docker_stack)). Reads the stack's services
    (label C(com.docker.stack.namespace)), their tasks and the nodes every 2 seconds until each service has converged.
    With O(services) instead of O(stack), the services of those names (after
    M(community.docker.docker_swarm_service)).
  - A replicated service has converged when its replica count of tasks run the service's current container spec
    (image, command, environment, secrets, configs) for at least O(min_running) seconds, and no update is under way,
    paused or rolled back. A global service, likewise, on every node the orchestrator gave a task. Jobs are not
    waited for.
  - A task's running time is the longer of what its node's timestamp says and how long this host has seen it
    running, so a node whose clock runs ahead cannot hold the wait up.
  - When Docker pauses a service's update or rolls it back (the update's failure action), the module fails at once, since
    the deployed spec will not run without a new deployment.
  - When O(timeout) passes first, the module fails naming each service short of its tasks, how many run of how many
    wanted, and the task that did not start with Docker's reason (for example C(No such image), C(no suitable node),
    a non-zero exit code).
  - The module only reads; it never changes the swarm.
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.attributes.READ_ONLY
  - campus.swarm.docker
attributes:
  check_mode:
    details:
      - It reads and waits in check mode too; skip it there when the deployment itself was only predicted.
options:
  stack:
    description:
      - The stack's name, as given to C(docker stack deploy).
      - One of O(stack) and O(services) is required.
    type: str
  services:
    description:
      - The names of the services to wait for, when they are not a stack.
    type: list
    elements: str
  timeout:
    description:
      - Seconds to wait for convergence before failing.
    type: int
    default: 300
  min_running:
    description:
      - Seconds a task must have been running to count, so that a container that crashes within them does not
        pass as converged. A container that crashes later is not caught; use a health check in the compose file
        (a task becomes running only once healthy) for that.
    type: int
    default: 5
  api_timeout:
    description:
      - Seconds to wait for one Docker API call.
    type: int
    default: 60
seealso:
  - module: community.docker.docker_stack
  - module: community.docker.docker_stack_task_info
"""

EXAMPLES = r"""
---
- name: Deploy the stack
  community.docker.docker_stack:
    name: demo
    compose: [/srv/demo/compose.yml]

- name: Wait until its services run
  campus.swarm.swarm_stack_wait:
    stack: demo
    timeout: 180

- name: Wait until a service made with docker_swarm_service runs
  campus.swarm.swarm_stack_wait:
    services: [campus_proxy]
"""

RETURN = r"""
services:
  description: Each service waited for, sorted by name, as it stood at the last read.
  returned: when the Docker daemon could be read
  type: list
  elements: dict
  contains:
    name:
      description: The service's name (STACK_SERVICE).
      type: str
    mode:
      description: V(replicated), V(global) or V(job).
      type: str
    desired:
      description: Tasks the service wants running.
      type: int
    running:
      description: Tasks running the current spec for at least O(min_running) seconds.
      type: int
    update_state:
      description: Docker's update state of the service (empty when never updated).
      type: str
    converged:
      description: Whether the service has converged.
      type: bool
    stopped:
      description: Whether Docker paused the service's update or rolls it back.
      type: bool
    problem:
      description: When not converged, why (the task that did not start and Docker's reason).
      type: str
  sample:
    - name: demo_web
      mode: replicated
      desired: 2
      running: 2
      update_state: completed
      converged: true
      stopped: false
      problem: ""
in_use:
  description: The secret and config names the services refer to in their current and previous specs (what
    a C(docker service rollback) needs).
  returned: when the Docker daemon could be read
  type: dict
  sample: {secret: [demo_amqp_password_3f1c0d9a2b4e], config: []}
waited:
  description: Seconds waited.
  returned: when the Docker daemon could be read
  type: float
  sample: 12.1
"""

import datetime
import time
from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import (
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    DockerApiError,
    api_client,
)
from ansible_collections.campus.swarm.plugins.module_utils._stack_wait import (
    DockerStackClient,
    assess,
    in_use,
    running_task_ids,
    summary,
)

POLL_SECONDS = 2.0


def wait(client: Any, target: dict[str, Any], timeout: int, min_running: int,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll the services of ``target`` ({stack} or {names}) until converged; the result, with ``failed``
    and ``msg`` when they did not converge in time or an update stopped (paused or rolled back:
    waiting longer would change nothing)."""
    subject = f"stack {target['stack']}" if target.get("stack") is not None else f"services {', '.join(target['names'])}"
    start = clock()
    first_seen: dict[str, float] = {}  # task ID -> when this host first saw it running (its own clock)
    while True:
        services, tasks, nodes = client.read(**target)
        now = datetime.datetime.now(datetime.timezone.utc)
        at = clock()
        first_seen = {task_id: first_seen.get(task_id, at) for task_id in running_task_ids(tasks)}
        observed = {task_id: at - since for task_id, since in first_seen.items()}
        assessed = assess(services, tasks, nodes, now, min_running, observed)
        waited = round(at - start, 1)
        result: dict[str, Any] = {"changed": False, "services": assessed, "waited": waited, "in_use": in_use(services)}
        if services and all(r["converged"] for r in assessed):
            return result
        stopped = any(r["stopped"] for r in assessed)
        if waited >= timeout or stopped:
            result["failed"] = True
            result["msg"] = (summary(subject, assessed) + f" (waited {waited:g} s)" if services
                             else f"{subject}: no such service on this swarm (was it deployed here?)")
            return result
        sleep(min(POLL_SECONDS, max(timeout - waited, 0.1)))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            stack=dict(type="str"),
            services=dict(type="list", elements="str"),
            timeout=dict(type="int", default=300),
            min_running=dict(type="int", default=5),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            api_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
        required_one_of=[("stack", "services")],
        mutually_exclusive=[("stack", "services")],
    )
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)
    params = module.params
    try:
        client = DockerStackClient(api_client(params["docker_host"], params["api_timeout"]))
        target = {"stack": params["stack"]} if params["stack"] is not None else {"names": params["services"]}
        result = wait(client, target, params["timeout"], params["min_running"])
    except DockerApiError as exc:
        module.fail_json(msg=exc.msg)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
