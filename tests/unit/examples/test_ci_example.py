# SPDX-License-Identifier: GPL-3.0-or-later
"""The example CI pipeline (examples/ci/gitlab-ci.yml) runs what the README says and deploys
with files that exist; the example stack's compose template renders to a valid stack shape."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the venv
from jinja2 import Environment, StrictUndefined

ROOT = Path(__file__).resolve().parents[3]


def _jobs() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples/ci/gitlab-ci.yml").read_text())


def test_test_job_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci_run = (ROOT / ".ci/run").read_text()
    assert "./scripts/test.sh" in readme and "scripts/test.sh" in ci_run
    assert any(line.split("#")[0].strip() == "./scripts/test.sh" for line in _jobs()["test"]["script"])


def test_deploy_job_uses_the_playbook_and_files_that_exist() -> None:
    jobs = _jobs()
    assert jobs["deploy-stack"]["needs"] == ["test"]
    (command,) = [line for line in jobs["deploy-stack"]["script"] if "ansible-playbook" in line]
    argv = shlex.split(command)
    assert "playbooks/deploy_stack.yml" in argv
    extra = [a[1:] for a in argv if a.startswith("@")]
    assert extra == ["examples/stack/stack.yml"]
    for path in ["playbooks/deploy_stack.yml", *extra]:
        assert (ROOT / path).is_file(), path
    assert "--vault-password-file" in argv  # secrets come from a vault, not the command line
    # A runner has no Docker engine to archive images from: the nodes pull them.
    assert "demo_image_source=pull" in argv
    # A world-writable checkout would make Ansible ignore ./ansible.cfg.
    assert _jobs()["variables"]["ANSIBLE_CONFIG"] == "$CI_PROJECT_DIR/ansible.cfg"


def test_example_stack_renders() -> None:
    template = (ROOT / "examples/stack/compose.yml.j2").read_text()
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    values = {"web_image": "w:1", "worker_image": "k:1", "broker_image": "b:1", "web_replicas": 2,
              "worker_replicas": 2, "broker_label": "demo.broker", "endpoint_mode": "vip"}
    compose = yaml.safe_load(env.from_string(template).render(**values))
    services = compose["services"]
    assert sorted(services) == ["broker", "web", "worker"]
    # Entrance traffic on proxy (web only), messages on the stack's amqp network.
    assert services["web"]["networks"] == ["proxy", "amqp"]
    assert services["worker"]["networks"] == ["amqp"] and services["broker"]["networks"] == ["amqp"]
    assert compose["networks"] == {"proxy": {"external": True}}
    assert all(s["secrets"] == ["amqp_password"] for s in services.values())
    assert services["broker"]["deploy"]["placement"]["constraints"] == ["node.labels.demo.broker == true"]
    assert "ports" not in str(compose)  # nothing published: the entrance is nginx
    stack = yaml.safe_load((ROOT / "examples/stack/stack.yml").read_text())["stacks_deploy"][0]
    assert sorted(stack["vars"]) == sorted(values)
