# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.files import (
    FilterModule,
    dir_changes,
    dir_items,
    file_changes,
    file_items,
    paths_missing,
    paths_present,
)


def state(content: str, mode: str = "0644", owner: str = "root", group: str = "root") -> dict[str, Any]:
    return {"type": "file", "checksum": hashlib.sha1(content.encode()).hexdigest(), "mode": mode, "owner": owner, "group": group}


def test_exports() -> None:
    assert sorted(FilterModule().filters()) == ["dir_changes", "dir_items", "file_changes", "file_items", "paths_missing", "paths_present"]


@pytest.mark.parametrize(("have", "changed"), [
    ({"/etc/x": state("a\n")}, False),
    ({}, True),
    ({"/etc/x": state("b\n")}, True),
    ({"/etc/x": state("a\n", mode="0600")}, True),
    ({"/etc/x": state("a\n", owner="campus")}, True),
    ({"/etc/x": {**state("a\n"), "type": "link"}}, True),
])
def test_file_changes_compare_content_mode_owner(have: dict[str, Any], changed: bool) -> None:
    wanted = [{"path": "/etc/x", "content": "a\n", "mode": "0644", "stage": "engine"}]
    assert file_changes(wanted, have) == (wanted if changed else [])


def test_file_changes_compare_a_numeric_group_by_number() -> None:
    wanted = [{"path": "/etc/x", "content": "a\n", "mode": "0640", "group": 33}]
    assert file_changes(wanted, {"/etc/x": {**state("a\n", mode="0640", group="www-data"), "gid": 33}}) == []
    assert file_changes(wanted, {"/etc/x": {**state("a\n", mode="0640", group="101"), "gid": 101}}) == wanted


def test_file_changes_refuses_other_input() -> None:
    with pytest.raises(AnsibleFilterError, match="each wanted file needs a path and a content string"):
        file_changes([{"path": "/x"}], {})
    with pytest.raises(AnsibleFilterError, match="have must be node_info's files"):
        file_changes([], [])


def test_paths() -> None:
    have = {"/etc/docker": {"type": "directory"}, "/etc/x": state("a")}
    assert paths_missing(["/etc/docker", "/etc/x", "/etc/none"], have) == ["/etc/x", "/etc/none"]
    assert paths_present(["/etc/docker", "/etc/none"], have) == ["/etc/docker"]


def test_file_items() -> None:
    assert file_items(["/a", "/b"], ["1", "2"], stage="ca") == [
        {"path": "/a", "content": "1", "mode": "0644", "stage": "ca"},
        {"path": "/b", "content": "2", "mode": "0644", "stage": "ca"}]
    with pytest.raises(AnsibleFilterError, match="as many contents as paths"):
        file_items(["/a"], [])


def test_dir_changes() -> None:
    have = {"/etc/p": {"type": "directory", "mode": "0755", "owner": "root", "group": "root", "uid": 0, "gid": 0},
            "/etc/p/auth": {"type": "directory", "mode": "0750", "owner": "root", "group": "101", "uid": 0, "gid": 101}}
    wanted = [*dir_items(["/etc/p"], "0755"), {"path": "/etc/p/auth", "mode": "0750", "group": 101}, {"path": "/etc/p/tls", "mode": "0700"}]
    assert dir_changes(wanted, have) == [{"path": "/etc/p/tls", "mode": "0700"}]
    assert dir_changes([{"path": "/etc/p", "mode": "0700"}], have) == [{"path": "/etc/p", "mode": "0700"}]
    with pytest.raises(AnsibleFilterError, match="dir_items: give a list of paths"):
        dir_items("/etc/p")
