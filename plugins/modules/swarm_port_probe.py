#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_port_probe
short_description: Prove that swarm nodes reach each other on the swarm ports, before any node joins
version_added: 0.2.0
description:
  - Probes, between every pair of nodes, the ports a swarm needs, V(2377/tcp) towards managers, V(7946/tcp),
    V(7946/udp) and the data path port (V(4789/udp) by default). UDP needs a listener on the far side, which this
    module provides for the duration of the probe.
  - Three steps, one per O(mode), each run on every node, one task after the other.
  - O(mode=listen) binds the ports, starts a detached listener process and returns at once. A port already in use
    (by a Docker engine that is already a swarm member, or the kernel's VXLAN socket on the data path port) is
    reported in RV(held), not as an error. The listener answers the probes of this O(run_id), records them, and
    exits when every probe in O(expect) has come, at O(timeout), or on SIGTERM. It frees its ports before it
    writes its result file.
  - O(mode=probe) probes every target at once. TCP - connect, send the probe line, require the listener's answer
    (or, for a held port, just connect). UDP - send a datagram every 0.2 s until the answer comes. A refused
    connection is tried again until O(timeout), as the far listener may start a moment later.
  - O(mode=collect) waits for the listener's result, stops it if it still runs when the wait ends, and reports
    which expected probes came and which did not.
  - The module never fails because a port is closed. It reports, and the playbook decides; the
    P(campus.swarm.swarm_port_matrix#filter) filter turns the results of all nodes into sentences that name source,
    destination, port and protocol.
  - The detached listener (double fork, new session, standard streams on C(/dev/null), all other descriptors
    closed) keeps neither the SSH channel nor C(sudo) waiting, also with C(Defaults use_pty) and pipelining. The
    listeners of all nodes are up before any node probes, whatever the C(forks) setting, which Ansible's
    C(async) would not guarantee.
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.attributes.READ_ONLY
attributes:
  check_mode:
    details:
      - The module changes nothing persistent, so it runs in check mode as well, and a dry run reports blocked
        ports.
options:
  mode:
    description:
      - V(listen) starts the listener, V(probe) probes the targets, V(collect) gathers what the listener received.
    type: str
    required: true
    choices: [listen, probe, collect]
  run_id:
    description:
      - Identifies one round of probes; the same on every node. Probes of another run are ignored.
      - 1 to 64 letters, digits, V(.), V(_) or V(-), starting with a letter or digit.
    type: str
    required: true
  ports:
    description:
      - The ports to listen on. Required with O(mode=listen).
    type: list
    elements: dict
    suboptions:
      port:
        description: The port number.
        type: int
        required: true
      proto:
        description: The protocol.
        type: str
        required: true
        choices: [tcp, udp]
  expect:
    description:
      - With O(mode=listen), the probes this node is to receive; the listener exits once all have come.
      - Each port must be one of O(ports). Probes towards a port found held are left out, as they reach the
        port's holder and never the listener.
    type: list
    elements: dict
    default: []
    suboptions:
      source:
        description: The name the probing node gives as O(source).
        type: str
        required: true
      port:
        description: The port number.
        type: int
        required: true
      proto:
        description: The protocol.
        type: str
        required: true
        choices: [tcp, udp]
  source:
    description:
      - With O(mode=probe), the name of this node, as the listeners expect it. No spaces.
      - Required with O(mode=probe).
    type: str
  targets:
    description:
      - With O(mode=probe), the ports to probe. Required with O(mode=probe).
    type: list
    elements: dict
    suboptions:
      name:
        description: The target node's name, used in the results.
        type: str
        required: true
      address:
        description: The target's IPv4 or IPv6 address (with or without brackets) or host name.
        type: str
        required: true
      port:
        description: The port number.
        type: int
        required: true
      proto:
        description: The protocol.
        type: str
        required: true
        choices: [tcp, udp]
      held:
        description:
          - Whether the port is held on the target by another program, as its RV(held) from O(mode=listen) says.
          - A held TCP port passes when a connection is made; a held UDP port is not probed (status V(held)).
        type: bool
        default: false
  timeout:
    description:
      - With O(mode=listen), seconds until the listener stops waiting for probes; default V(20).
      - With O(mode=probe), the longest wait for each target, all probed at once; default V(5).
      - With O(mode=collect), the longest wait for the listener's result before it is stopped; default V(20).
    type: int
  bind_address:
    description:
      - With O(mode=listen), the address to listen on. The default, an empty string, means every IPv4 and IPv6
        address.
    type: str
    default: ""
  state_dir:
    description:
      - Where the listener keeps its state, C(<run_id>.pid) and C(<run_id>.json). Made with mode C(0700).
    type: path
    default: /run/campus-swarm-probe
notes:
  - Run the three steps as three tasks over all nodes, with the default C(linear) strategy, so every listener is up
    before the first probe and every probe is done before the first collect.
  - With O(mode=collect) and no listener state for O(run_id), the module returns empty lists.
  - Ports below 1024 need root to listen on.
seealso:
  - plugin: campus.swarm.swarm_port_plan
    plugin_type: filter
  - plugin: campus.swarm.swarm_port_matrix
    plugin_type: filter
"""

EXAMPLES = r"""
---
# The three steps, as tasks of a play over all swarm nodes (linear strategy).
- name: Pick one run id for all nodes
  ansible.builtin.set_fact:
    __swarm_probe_run_id: "preflight-{{ 1000000 | random }}"
  run_once: true

- name: Describe this node to the plan
  ansible.builtin.set_fact:
    __swarm_probe_node:
      name: "{{ inventory_hostname }}"
      address: "{{ swarm_advertise_addr }}"
      manager: "{{ inventory_hostname in groups['swarm_managers'] }}"

- name: Listen on every node
  campus.swarm.swarm_port_probe:
    mode: listen
    run_id: "{{ __swarm_probe_run_id }}"
    ports: "{{ __swarm_probe_plan[inventory_hostname].listen }}"
    expect: "{{ __swarm_probe_plan[inventory_hostname].expect }}"
    timeout: 30
  vars:
    __swarm_probe_plan: >-
      {{ ansible_play_hosts | map('extract', hostvars, '__swarm_probe_node')
         | campus.swarm.swarm_port_plan(data_path_port=4789) }}
  register: __swarm_probe_listen

- name: Tell the plan which ports are held on this node
  ansible.builtin.set_fact:
    __swarm_probe_node: "{{ __swarm_probe_node | combine({'held': __swarm_probe_listen.held}) }}"

- name: Probe from every node
  campus.swarm.swarm_port_probe:
    mode: probe
    run_id: "{{ __swarm_probe_run_id }}"
    source: "{{ inventory_hostname }}"
    targets: "{{ __swarm_probe_plan[inventory_hostname].targets }}"
    timeout: 5
  vars:
    __swarm_probe_plan: >-
      {{ ansible_play_hosts | map('extract', hostvars, '__swarm_probe_node')
         | campus.swarm.swarm_port_plan(data_path_port=4789) }}
  register: __swarm_probe_result

- name: Collect what each listener received (and free its ports)
  campus.swarm.swarm_port_probe:
    mode: collect
    run_id: "{{ __swarm_probe_run_id }}"
  register: __swarm_probe_collect

- name: Stop on a blocked port
  ansible.builtin.assert:
    that: __swarm_probe_matrix.blocked | length == 0
    fail_msg: "{{ __swarm_probe_matrix.blocked }}"
    success_msg: "{{ __swarm_probe_matrix.lines }}"
  vars:
    __swarm_probe_matrix: >-
      {{ ansible_play_hosts | map('extract', hostvars, '__swarm_probe_result')
         | campus.swarm.swarm_port_matrix }}
  run_once: true

# One step alone, with literal values.
- name: Probe two ports of one manager
  campus.swarm.swarm_port_probe:
    mode: probe
    run_id: lab-1
    source: campus-lab-w1
    targets:
      - {name: campus-lab-m1, address: "2001:db8::11", port: 2377, proto: tcp}
      - {name: campus-lab-m1, address: "2001:db8::11", port: 4789, proto: udp, held: true}
  register: __swarm_probe_one
"""

RETURN = r"""
listening:
  description: With O(mode=listen), the ports the listener listens on.
  returned: mode is listen
  type: list
  elements: dict
  contains:
    port:
      description: The port number.
      type: int
    proto:
      description: V(tcp) or V(udp).
      type: str
  sample:
    - {port: 7946, proto: tcp}
    - {port: 7946, proto: udp}
held:
  description:
    - With O(mode=listen), the ports another program already holds (address in use), such as a Docker engine that
      is a swarm member, or the kernel's VXLAN socket on the data path port.
    - Give them to P(campus.swarm.swarm_port_plan#filter) as the node's C(held), so probes know.
  returned: mode is listen
  type: list
  elements: dict
  contains:
    port:
      description: The port number.
      type: int
    proto:
      description: V(tcp) or V(udp).
      type: str
  sample:
    - {port: 4789, proto: udp}
expected:
  description: With O(mode=listen), the probes the listener waits for, O(expect) less those towards held ports.
  returned: mode is listen
  type: list
  elements: dict
  contains:
    source:
      description: The probing node.
      type: str
    port:
      description: The port number.
      type: int
    proto:
      description: V(tcp) or V(udp).
      type: str
  sample:
    - {source: campus-lab-w1, port: 7946, proto: udp}
pid:
  description: With O(mode=listen), the process id of the detached listener.
  returned: mode is listen
  type: int
  sample: 41877
source:
  description: With O(mode=probe), O(source), so the registered result is an input of P(campus.swarm.swarm_port_matrix#filter).
  returned: mode is probe
  type: str
  sample: campus-lab-w1
results:
  description: With O(mode=probe), one result per target, in the order of O(targets).
  returned: mode is probe
  type: list
  elements: dict
  contains:
    name:
      description: The target's name.
      type: str
    address:
      description: The target's address, without brackets.
      type: str
    port:
      description: The port number.
      type: int
    proto:
      description: V(tcp) or V(udp).
      type: str
    status:
      description:
        - V(open) - the listener answered, or a held TCP port accepted the connection.
        - V(refused) - a TCP reset or an ICMP unreachable came back, until O(timeout). Something rejects; a
          firewall, or nothing listens.
        - V(timeout) - no answer at all within O(timeout). Dropped on the way or on the target.
        - V(held) - a held UDP port, not probed.
        - V(error) - the probe could not be made or got a foreign answer (an unresolvable address, no route, another
          program on the port); RV(results[].detail) says which.
      type: str
      choices: [open, refused, timeout, held, error]
    detail:
      description: What happened, in words.
      type: str
    seconds:
      description: How long the probe took.
      type: float
  sample:
    - name: campus-lab-m1
      address: 172.28.20.11
      port: 2377
      proto: tcp
      status: open
      detail: answered by campus-lab-m1
      seconds: 0.004
    - name: campus-lab-m1
      address: 172.28.20.11
      port: 4789
      proto: udp
      status: timeout
      detail: no answer within 5 s
      seconds: 5.001
blocked:
  description: With O(mode=probe), the RV(results) whose status is V(refused), V(timeout) or V(error).
  returned: mode is probe
  type: list
  elements: dict
  sample: []
received:
  description: With O(mode=collect), the probes the listener received.
  returned: mode is collect
  type: list
  elements: dict
  contains:
    source:
      description: The probing node, as it named itself.
      type: str
    port:
      description: The port number.
      type: int
    proto:
      description: V(tcp) or V(udp).
      type: str
    address:
      description: The address the probe came from.
      type: str
  sample:
    - {source: campus-lab-w1, port: 7946, proto: udp, address: 172.28.20.21}
missing:
  description: With O(mode=collect), the expected probes that did not come.
  returned: mode is collect
  type: list
  elements: dict
  contains:
    source:
      description: The node that was to probe.
      type: str
    port:
      description: The port number.
      type: int
    proto:
      description: V(tcp) or V(udp).
      type: str
  sample: []
timed_out:
  description:
    - With O(mode=collect), whether the listener stopped waiting, at its deadline or stopped by O(mode=collect),
      before every expected probe came.
  returned: mode is collect
  type: bool
  sample: false
ended:
  description:
    - With O(mode=collect), how the listener ended. V(complete) when every expected probe came, V(deadline),
      V(terminated) (stopped by O(mode=collect) or a signal), V(lost) when it left no result, V(none) when no listener
      of O(run_id) was found.
  returned: mode is collect
  type: str
  sample: complete
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._port_probe import LISTEN_TIMEOUT, PROBE_TIMEOUT, ProbeError
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_listen import collect, listen
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_probe import probe_targets


def run_module(params: dict[str, Any]) -> dict[str, Any]:
    """Run one mode with the module's parameters; raises ProbeError on bad input or failure."""
    mode = params["mode"]
    timeout = params["timeout"]
    if mode == "listen":
        return listen(params["run_id"], params["ports"], params["expect"],
                      LISTEN_TIMEOUT if timeout is None else timeout, params["bind_address"], params["state_dir"])
    if mode == "probe":
        return probe_targets(params["run_id"], params["source"], params["targets"],
                             PROBE_TIMEOUT if timeout is None else timeout)
    return collect(params["run_id"], LISTEN_TIMEOUT if timeout is None else timeout, params["state_dir"])


def main() -> None:
    endpoint = dict(
        port=dict(type="int", required=True),
        proto=dict(type="str", required=True, choices=["tcp", "udp"]),
    )
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type="str", required=True, choices=["listen", "probe", "collect"]),
            run_id=dict(type="str", required=True),
            ports=dict(type="list", elements="dict", options=endpoint),
            expect=dict(type="list", elements="dict", default=[],
                        options=dict(source=dict(type="str", required=True), **endpoint)),
            source=dict(type="str"),
            targets=dict(
                type="list",
                elements="dict",
                options=dict(
                    name=dict(type="str", required=True),
                    address=dict(type="str", required=True),
                    held=dict(type="bool", default=False),
                    **endpoint,
                ),
            ),
            timeout=dict(type="int"),
            bind_address=dict(type="str", default=""),
            state_dir=dict(type="path", default="/run/campus-swarm-probe"),
        ),
        required_if=[("mode", "listen", ("ports",)), ("mode", "probe", ("source", "targets"))],
        supports_check_mode=True,
    )
    try:
        result = run_module(module.params)
    except ProbeError as exc:
        module.fail_json(msg=exc.msg)
    warnings = result.pop("warnings", [])
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
