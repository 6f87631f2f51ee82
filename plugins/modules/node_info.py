#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: node_info
short_description: Read in one call what the collection needs to know about a node
version_added: 0.5.0
description:
  - Reads, without changing anything, the node's distribution, architecture, network (interfaces with their MTU,
    addresses, routes, the default IPv4 route), this run's SSH connection (C(SSH_CONNECTION), also under become), the versions of
    the given packages, the state of the given systemd units, the state and checksum of the given files, the
    checksum of the given nftables tables, and the Docker engine (version, swarm membership; on a manager the
    swarm's settings, nodes and overlay networks; C(docker_gwbridge); the images).
  - The swarm's join tokens are never read into the result.
  - Run without O(packages), O(units), O(files), O(contents) and O(nft_tables), its action plugin fills them with what
    the collection's roles manage on a node (each role's C(__ROLE_watch) in its C(vars/main.yml)), evaluated with
    the host's variables. The role C(campus.swarm.plan) runs it that way on every node before the plan is made.
  - Without the Docker SDK for Python on the node, C(ready) in RV(node.docker) is V(false) and the rest is still read.
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
  - campus.swarm.attributes.READ_ONLY
  - campus.swarm.docker
options:
  packages:
    description: Debian packages whose installed version to report.
    type: list
    elements: str
  units:
    description: systemd units whose state to report (full names such as V(docker.service)).
    type: list
    elements: str
  files:
    description:
      - Paths or shell globs whose files, links and directories to report (type, mode, owner, group, mtime, ctime, size;
        the SHA-1 of a file's content, a link's target).
    type: list
    elements: str
  contents:
    description: Paths or shell globs of small text files to report with their content as well (as in O(files)).
    type: list
    elements: str
  nft_tables:
    description: Tables of family C(inet) whose C(nft -s list table) output to report as a SHA-256 checksum.
    type: list
    elements: str
  certificates:
    description: Paths or shell globs of PEM certificates whose serial, expiry, SHA-256 fingerprint and DNS names to report (read with C(openssl)).
    type: list
    elements: str
  docker:
    description: Whether to read the Docker engine.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for a Docker API call.
    type: int
    default: 30
seealso:
  - module: campus.swarm.plan
"""

EXAMPLES = r"""
---
- name: Read what the collection's roles manage on every node
  campus.swarm.node_info:
  register: node

- name: Read two files and the engine only
  campus.swarm.node_info:
    files: [/etc/docker/daemon.json, /etc/campus-swarm/*.nft]
    packages: [docker.io]
    units: [docker.service]
  register: node
"""

RETURN = r"""
node:
  description: What the node has.
  returned: success
  type: dict
  contains:
    hostname:
      description: The node's own host name.
      type: str
    architecture:
      description: The machine architecture (C(x86_64), C(aarch64)).
      type: str
    python:
      description: The version of the Python that ran the module.
      type: str
    os:
      description: The distribution in the names of Ansible's facts.
      type: dict
      sample: {distribution: Debian, distribution_version: "12.8", distribution_major_version: "12",
               distribution_release: bookworm}
    network:
      description:
        - C(interfaces) (name to C(mtu) and C(addresses)), C(ipv4) and C(ipv6) (every address but loopback),
          C(routes) (the main IPv4 table) and C(default_ipv4) (C(address), C(interface), C(gateway)).
      type: dict
    ssh_connection:
      description: This run's C(SSH_CONNECTION) (client address and port, server address and port; '' when not over SSH).
      type: str
    packages:
      description: The installed version of each installed package of O(packages).
      type: dict
      sample: {docker.io: 20.10.24+dfsg1-1+deb12u1+b6}
    held:
      description: The packages of O(packages) that are on hold.
      type: list
      elements: str
    units:
      description: Per unit of O(units) C(exists), C(active), C(enabled) and C(since) (when it became active, Unix time).
      type: dict
    files:
      description:
        - Per existing path C(type) (file, link, directory, other), C(mode), C(owner), C(group), C(uid), C(gid), C(mtime),
          C(ctime) (when the file was put in place), C(size), C(checksum) (SHA-1 of a file), C(target) (of a link) and C(content) (paths of O(contents)).
      type: dict
    nft_tables:
      description: Per table of O(nft_tables) the SHA-256 of its listing, '' when it is not loaded.
      type: dict
    certificates:
      description: Per certificate of O(certificates) C(serial), C(not_after), C(fingerprint) and C(names) (its DNS names, sorted).
      type: dict
    docker:
      description:
        - C(ready) (the engine answered), C(error), C(version), C(swarm) (C(state), C(node_id), C(manager),
          C(cluster_id), C(error), C(remote_managers)); on a manager C(cluster) (C(id), C(data_path_port),
          C(default_addr_pool), C(subnet_size), C(spec)), C(nodes) and C(networks) (overlay); C(gwbridge)
          (C(docker_gwbridge), null when absent) and C(images) (C(Id), C(RepoTags), as Docker lists them).
      type: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._commands import module_runner
from ansible_collections.campus.swarm.plugins.module_utils._docker_api import HAS_DOCKER, api_client
from ansible_collections.campus.swarm.plugins.module_utils._node_info import NodeInfoError, read_host


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str"),
            units=dict(type="list", elements="str"),
            files=dict(type="list", elements="str"),
            contents=dict(type="list", elements="str"),
            nft_tables=dict(type="list", elements="str"),
            certificates=dict(type="list", elements="str"),
            docker=dict(type="bool", default=True),
            docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    run = module_runner(module)

    def docker_client() -> Any:
        return api_client(params["docker_host"], params["timeout"])

    try:
        node = read_host(run, _read_text, params["packages"] or [], params["units"] or [], params["files"] or [],
                         params["contents"] or [], params["nft_tables"] or [],
                         docker_client if params["docker"] and HAS_DOCKER else None, params["certificates"] or [])
    except NodeInfoError as exc:
        module.fail_json(msg=str(exc))
    if params["docker"] and not HAS_DOCKER:
        node["docker"]["error"] = "the Docker SDK for Python (python3-docker) is not installed"
    module.exit_json(changed=False, node=node)


if __name__ == "__main__":
    main()
