# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Docker daemon option and requirements of the modules that talk to Docker (module_utils _docker_api)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon to talk to.
    type: str
    default: unix:///var/run/docker.sock
requirements:
  - Docker SDK for Python (C(docker)) on the managed host (Debian and Ubuntu package C(python3-docker))
  - access to the Docker daemon
"""
