#!/usr/bin/python
# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swarm_archive
short_description: Archive a swarm manager's state, check an archive, put one back
version_added: 0.5.0
description:
  - Works on the files of O(swarm_dir) while the manager's engine is stopped (C(playbooks/backup.yml) and
    C(playbooks/restore.yml) stop it); it does not talk to Docker.
  - O(state=present) writes O(path), a gzipped tar with the state under C(swarm/) and a manifest
    (C(campus-backup.json)) holding the archive format, O(metadata) and the SHA-256 of every file. The archive is
    written mode 0600 through a temporary file in the same folder, so a run that dies leaves no half archive.
  - O(state=verified) checks every file of the archive at O(path) against its manifest and returns the manifest.
  - O(state=restored) checks the archive the same way, moves a state there already aside (to
    C(<swarm_dir>.before-restore-<UTC time>), never deleted) and puts the archive's state in O(swarm_dir).
    An archive that does not match its manifest, or has a member outside C(swarm/), changes nothing.
  - The state holds the swarm's raft log, with the encrypted store of its secrets and the manager's TLS key; keep the
    archive like a secret. The module never returns its contents.
author:
  - campus.swarm developers (!UNKNOWN)
extends_documentation_fragment:
  - campus.swarm.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode O(state=present) writes nothing and O(state=restored) only checks the archive.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Each O(state=present) writes a new archive; each O(state=restored) puts the state back again.
options:
  path:
    description: The archive on the managed host.
    type: path
    required: true
  state:
    description: V(present) (write the archive), V(verified) (check it) or V(restored) (put its state back).
    type: str
    choices: [present, verified, restored]
    default: present
  swarm_dir:
    description: The engine's swarm state folder.
    type: path
    default: /var/lib/docker/swarm
  metadata:
    description: What the manifest records about the swarm (O(state=present)).
    type: dict
    default: {}
seealso:
  - module: campus.swarm.swarm_node_cycle
"""

EXAMPLES = r"""
---
- name: Archive the stopped manager's state
  campus.swarm.swarm_archive:
    path: /var/lib/campus-swarm/backup/swarm.tar.gz
    metadata:
      engine_version: 20.10.24+dfsg1
      node_id: 9rxb2bycsz0eeqpo5y7i3dtuh

- name: Put the archive's state back (the engine stopped)
  campus.swarm.swarm_archive:
    path: /var/lib/campus-swarm/restore/swarm.tar.gz
    state: restored
"""

RETURN = r"""
manifest:
  description: The archive's manifest without its list of files (format, created, metadata, file_count).
  returned: success
  type: dict
sha256:
  description: The SHA-256 of the archive written (O(state=present), not in check mode).
  returned: when written
  type: str
moved_aside:
  description: Where the state that was there went (O(state=restored)); null when there was none.
  returned: when restored
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.campus.swarm.plugins.module_utils._swarm_archive import (
    FORMAT,
    ArchiveError,
    create,
    public,
    restore,
    state_files,
    verify,
)


def run_module(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """What the module does for ``params``; raises ArchiveError."""
    if params["state"] == "present":
        if check_mode:
            files = state_files(params["swarm_dir"])
            return {"changed": True, "manifest": {"format": FORMAT, "metadata": params["metadata"], "file_count": len(files)}}
        return dict(create(params["swarm_dir"], params["path"], params["metadata"]), changed=True)
    if params["state"] == "verified" or check_mode:
        return {"changed": params["state"] == "restored", "manifest": public(verify(params["path"]))}
    return dict(restore(params["path"], params["swarm_dir"]), changed=True)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", default="present", choices=["present", "verified", "restored"]),
            swarm_dir=dict(type="path", default="/var/lib/docker/swarm"),
            metadata=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run_module(module.params, module.check_mode))
    except (ArchiveError, OSError) as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
