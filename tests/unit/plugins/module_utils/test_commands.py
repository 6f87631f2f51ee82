# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""module_runner: the readers' commands through AnsibleModule.run_command, a missing program as rc 127."""

from __future__ import annotations

from typing import Any

from ansible_collections.campus.swarm.plugins.module_utils._commands import module_runner


class FakeModule:
    def __init__(self, installed: set[str]) -> None:
        self.installed = installed
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def get_bin_path(self, name: str) -> str | None:
        return f"/usr/sbin/{name}" if name in self.installed else None

    def run_command(self, argv: list[str], environ_update: dict[str, str], **kwargs: Any) -> tuple[int, str, str]:
        self.calls.append((argv, environ_update))
        return 0, "out\n", ""


def test_an_installed_program_runs_through_run_command_with_lc_all_c() -> None:
    module = FakeModule({"nft"})
    assert module_runner(module)(["nft", "list", "tables"]) == (0, "out\n", "")
    assert module.calls == [(["nft", "list", "tables"], {"LC_ALL": "C"})]


def test_a_missing_program_answers_127_without_running() -> None:
    module = FakeModule(set())
    assert module_runner(module)(["firewall-cmd", "--state"]) == (127, "", "firewall-cmd: command not found")
    assert module.calls == []


def test_an_absolute_path_is_run_when_executable(tmp_path: Any) -> None:
    program = tmp_path / "tool"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    module = FakeModule(set())
    module_runner(module)([str(program)])
    assert module.calls == [([str(program)], {"LC_ALL": "C"})]
