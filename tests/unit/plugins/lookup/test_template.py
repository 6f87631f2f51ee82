# SPDX-License-Identifier: GPL-3.0-or-later
"""Lookup campus.swarm.template renders what ansible.builtin.template's lookup renders, without copying the variables."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar, trust_as_template

from ansible_collections.campus.swarm.plugins.lookup.template import LookupModule

ROLES = Path(__file__).resolve().parents[4] / "roles"


class Untouchable(dict):  # type: ignore[type-arg]
    """A variable that fails the test when copied (the builtin lookup deep-copies every variable)."""

    def __deepcopy__(self, memo: Any) -> Any:
        raise AssertionError("a variable was copied")


def render(lookup: type | None, role: str, name: str, variables: dict[str, Any]) -> str:
    """Render with ``lookup`` (None: Ansible's own, loaded as Ansible loads it)."""
    loader = DataLoader()
    templar = Templar(loader, variables=variables)
    plugin = lookup(loader=loader, templar=templar) if lookup else lookup_loader.get("template", loader=loader, templar=templar)
    return str(plugin.run([name], {**variables, "ansible_search_path": [str(ROLES / role)]})[0])


PROXIES = {"http-proxy": "http://proxy:3128", "no-proxy": "localhost,10.0.0.0/8"}


@pytest.mark.parametrize(("role", "name", "variables"), [
    ("docker", "proxy.env.j2", {"__docker_proxies": PROXIES}),
    ("docker", "apt-proxy.conf.j2", {"docker_proxy_http": "http://proxy:3128", "docker_proxy_https": ""}),
    ("docker", "docker-proxy.conf.j2", {"__docker_proxy_env_file": "/etc/docker/proxy.env"}),
    ("docker", "docker.sources.j2", {"__docker_official_repo": "https://download.docker.com/linux/debian",
                                     "__docker_os": {"distribution_release": "bookworm"}, "docker_official_channel": "stable",
                                     "__docker_dpkg_arch": {"x86_64": "amd64"}, "__docker_node": {"architecture": "x86_64"}}),
])
def test_the_text_is_the_builtin_lookups(role: str, name: str, variables: dict[str, Any]) -> None:
    variables = {key: trust_as_template(value) if isinstance(value, str) else value for key, value in variables.items()}
    ours = render(LookupModule, role, name, variables)
    assert ours == render(None, role, name, copy.deepcopy(variables))
    assert ours.startswith(("# Ansible managed\n", "// Ansible managed\n"))


def test_no_variable_is_copied() -> None:
    text = render(LookupModule, "docker", "proxy.env.j2", {"__docker_proxies": PROXIES, "campus_swarm_plan": Untouchable(big=True)})
    assert "HTTP_PROXY=http://proxy:3128\n" in text and "NO_PROXY=localhost,10.0.0.0/8\n" in text and "HTTPS_PROXY" not in text


def test_a_missing_file_is_named() -> None:
    with pytest.raises(AnsibleError, match=r"^campus.swarm.template: the template file nope.j2 could not be found"):
        render(LookupModule, "docker", "nope.j2", {})
