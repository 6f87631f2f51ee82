# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Which of a role's files a node lacks, from what the plan read on it (campus.swarm.node_info)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError


def _seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def file_changes(wanted: Any, have: Any) -> list[dict[str, Any]]:
    """The items of ``wanted`` (each ``path``, ``content`` and ``mode``, optionally ``owner`` and ``group``,
    names or numbers, default root) whose file on the node is missing or differs in content, mode, owner or group.

    ``have`` is node_info's ``files`` (path to ``checksum``, ``mode``, ``owner``, ``group``, ``type``), as the
    plan holds it for the host. The comparison is the one ``ansible.builtin.copy`` makes (SHA-1 of the
    content), so an item returned here is exactly a copy that would change the file."""
    if not _seq(wanted):
        raise AnsibleFilterError(f"file_changes: wanted must be a list of {{path, content, mode}}, got {type(wanted).__name__}")
    if not isinstance(have, Mapping):
        raise AnsibleFilterError(f"file_changes: have must be node_info's files (a dict by path), got {type(have).__name__}")
    changes = []
    for item in wanted:
        if not isinstance(item, Mapping) or not isinstance(item.get("path"), str) or not isinstance(item.get("content"), str):
            raise AnsibleFilterError("file_changes: each wanted file needs a path and a content string")
        now = have.get(item["path"]) or {}
        digest = hashlib.sha1(item["content"].encode("utf-8")).hexdigest()
        mode = str(item.get("mode", "0644")).zfill(4)
        if (now.get("type") != "file" or now.get("checksum") != digest or now.get("mode") != mode
                or not _same(now, "owner", "uid", item.get("owner", "root")) or not _same(now, "group", "gid", item.get("group", "root"))):
            changes.append(dict(item))
    return changes


def _same(now: Mapping[str, Any], name: str, number: str, wanted: Any) -> bool:
    """Owner or group as wanted: by name, or by number where a number is wanted (a group of a container image)."""
    if isinstance(wanted, int) or str(wanted).isdigit():
        return str(now.get(number)) == str(wanted)
    return now.get(name) == wanted


def dir_changes(wanted: Any, have: Any) -> list[dict[str, Any]]:
    """The directories of ``wanted`` (``path``, ``mode``, optionally ``owner`` and ``group``) that are missing on the
    node or differ in mode, owner or group, per node_info's ``files``."""
    if not _seq(wanted) or not isinstance(have, Mapping):
        raise AnsibleFilterError("dir_changes: give a list of {path, mode} and node_info's files")
    return [dict(d) for d in wanted
            if (have.get(str(d["path"])) or {}).get("type") != "directory"
            or have[str(d["path"])].get("mode") != str(d.get("mode", "0755")).zfill(4)
            or not _same(have[str(d["path"])], "owner", "uid", d.get("owner", "root"))
            or not _same(have[str(d["path"])], "group", "gid", d.get("group", "root"))]


def paths_missing(paths: Any, have: Any, kind: str = "directory") -> list[str]:
    """The ``paths`` that are not a ``kind`` (directory, file, link) on the node, per node_info's ``files``."""
    if not _seq(paths) or not isinstance(have, Mapping):
        raise AnsibleFilterError("paths_missing: give a list of paths and node_info's files")
    return [str(p) for p in paths if (have.get(str(p)) or {}).get("type") != kind]


def paths_present(paths: Any, have: Any) -> list[str]:
    """The ``paths`` that exist on the node (any type), per node_info's ``files``."""
    if not _seq(paths) or not isinstance(have, Mapping):
        raise AnsibleFilterError("paths_present: give a list of paths and node_info's files")
    return [str(p) for p in paths if str(p) in have]


def file_items(paths: Any, contents: Any, mode: str = "0644", **extra: Any) -> list[dict[str, Any]]:
    """``{path, content, mode, ...extra}`` for each path and its content (e.g. files read on the controller)."""
    if not _seq(paths) or not _seq(contents) or len(paths) != len(contents):
        raise AnsibleFilterError("file_items: give as many contents as paths")
    return [{"path": str(p), "content": str(c), "mode": mode, **extra} for p, c in zip(paths, contents, strict=True)]


def dir_items(paths: Any, mode: str = "0755", **extra: Any) -> list[dict[str, Any]]:
    """``{path, mode, ...extra}`` for each of ``paths`` (directories for ``dir_changes``)."""
    if not _seq(paths):
        raise AnsibleFilterError("dir_items: give a list of paths")
    return [{"path": str(p), "mode": mode, **extra} for p in paths]


class FilterModule:
    """File state filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"dir_changes": dir_changes, "dir_items": dir_items, "file_changes": file_changes, "file_items": file_items, "paths_missing": paths_missing,
                "paths_present": paths_present}
