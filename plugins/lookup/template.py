# Copyright: campus.swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lookup campus.swarm.template: a role's template file rendered over the task's variables as they are."""

from __future__ import annotations

DOCUMENTATION = r"""
name: template
author: campus.swarm developers (!UNKNOWN)
short_description: Render a template file of the role over the task's variables, without copying them
version_added: 0.5.0
description:
  - Renders each template file (found as M(ansible.builtin.template) finds it - the role's C(templates/), then the
    playbook's) with every variable of the task, C(ansible_managed) included, and returns the text.
  - Unlike the P(ansible.builtin.template#lookup) lookup, it does not deep-copy every variable of the task for each
    file; new variables sit in a layer of their own above them. With the run's plan among the variables that copy
    costs tens of milliseconds per file and host, on every run, while the rendered text is the same.
  - For the collection's roles, which compare what a file should hold with what the plan read on the node.
    Jinja C(include) and C(import) are not supported.
options:
  _terms:
    description: The template files.
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
---
- name: The text of the role's template
  ansible.builtin.debug:
    msg: "{{ lookup('campus.swarm.template', 'apt-proxy.conf.j2') }}"
"""

RETURN = r"""
_raw:
  description: The rendered text of each file.
  type: list
  elements: str
"""

import collections
import os
import time
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.template import trust_as_template


def _managed(variables: Any, path: str, fullpath: str) -> Any:
    """``ansible_managed`` as Ansible's template lookup gives it (the configured DEFAULT_MANAGED_STR)."""
    if "ansible_managed" in variables:
        return variables["ansible_managed"]
    text = C.config.get_config_value("DEFAULT_MANAGED_STR")
    text = text.format(host=os.uname()[1], uid=str(os.stat(fullpath).st_uid), file=path)
    return time.strftime(text, time.localtime(os.stat(fullpath).st_mtime))


class LookupModule(LookupBase):
    """Render template files over the variables of the task."""

    def run(self, terms: list[Any], variables: Any = None, **kwargs: Any) -> list[str]:
        variables = variables or {}
        self.set_options(var_options=variables, direct=kwargs)
        result = []
        for term in terms:
            path = self.find_file_in_search_path(variables, "templates", term)
            if not path:
                raise AnsibleError(f"campus.swarm.template: the template file {term} could not be found")
            text = trust_as_template(self._loader.get_text_file_contents(path))
            layer = {"ansible_managed": _managed(variables, term, path), "template_path": term, "template_fullpath": path}
            templar = self._templar.copy_with_new_env(available_variables=collections.ChainMap(layer, variables))
            result.append(templar.template(text, escape_backslashes=False, overrides={"trim_blocks": True}))
        return result
