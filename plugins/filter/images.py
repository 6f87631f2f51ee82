# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Which images a node needs and lacks (role campus.swarm.images)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

SOURCES = ("archive", "pull")


def _seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def images_needed(images: Any, host: str, groups: Any) -> list[dict[str, Any]]:
    """The declarations of ``images_list`` whose ``hosts`` (groups or hosts; default ``[swarm]``)
    include ``host`` or one of its ``groups``, each with ``source`` filled in."""
    if not _seq(images):
        raise AnsibleFilterError(f"images_needed: images_list must be a list, got {images!r}")
    mine = set([host, *groups]) if _seq(groups) else {host}
    needed = []
    for index, item in enumerate(images):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise AnsibleFilterError(f"images_needed: images_list item {index} needs a name, got {item!r}")
        source = item.get("source", "archive")
        if source not in SOURCES:
            raise AnsibleFilterError(f"images_needed: images_list {item['name']}: source must be archive or pull, got {source!r}")
        hosts = item.get("hosts", ["swarm"])
        if not _seq(hosts):
            raise AnsibleFilterError(f"images_needed: images_list {item['name']}: hosts must be a list of groups or hosts, got {hosts!r}")
        if mine & {str(h) for h in hosts}:
            needed.append({"name": item["name"].strip(), "source": source})
    return needed


def _tags(name: str) -> set[str]:
    """The forms Docker may list a name under (``nginx`` is ``nginx:latest``)."""
    forms = {name}
    if not re.search(r":[^/]+$", name) and "@" not in name:
        forms.add(f"{name}:latest")
    return forms


def images_missing(needed: Any, node_images: Any, wanted_ids: Any = None) -> list[str]:
    """Names of ``needed`` images the node lacks, or holds with another ID than ``wanted_ids[name]``.

    ``node_images`` is ``docker_image_info``'s ``images`` (each with ``Id`` and ``RepoTags``).
    """
    if not _seq(needed) or not _seq(node_images):
        raise AnsibleFilterError("images_missing: needed and node_images must be lists")
    wanted_ids = wanted_ids or {}
    if not isinstance(wanted_ids, Mapping):
        raise AnsibleFilterError(f"images_missing: wanted_ids must be a dict of name to image ID, got {wanted_ids!r}")
    have: dict[str, str] = {}
    for image in node_images:
        for tag in image.get("RepoTags") or []:
            have[tag] = image.get("Id", "")
    missing = []
    for item in needed:
        if isinstance(item, Mapping) and not item.get("name"):
            raise AnsibleFilterError(f"images_missing: every needed image needs a name, got {item!r}")
        name = item["name"] if isinstance(item, Mapping) else str(item)
        present = [have[form] for form in _tags(name) if form in have]
        want = wanted_ids.get(name)
        if not present or (want and present[0] != want):
            missing.append(name)
    return missing


def _digest(image_id: Any) -> str:
    digest = str(image_id).rsplit(":", maxsplit=1)[-1]
    if not re.fullmatch(r"[0-9a-f]{12,64}", digest):
        raise AnsibleFilterError(f"images_archive_name: {image_id!r} is not an image ID")
    return digest


def images_archive_name(names: Any, image_ids: Any) -> str:
    """A file name for one archive: of image ``names`` (a name) with ID ``image_ids`` (its ID), or of the images
    ``names`` (a list) with the IDs the dict ``image_ids`` gives them. One name per image ID, or per set of them."""
    if isinstance(names, str) and isinstance(image_ids, str):
        return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', names)}-{_digest(image_ids)[:12]}.tar"
    if not _seq(names) or not names or not isinstance(image_ids, Mapping):
        raise AnsibleFilterError("images_archive_name: give a name and its image ID, or a list of names and a dict of their IDs")
    absent = [name for name in names if name not in image_ids]
    if absent:
        raise AnsibleFilterError(f"images_archive_name: no image ID for {', '.join(map(str, absent))}")
    if len(names) == 1:
        return images_archive_name(str(names[0]), str(image_ids[names[0]]))
    members = " ".join(sorted(f"{name}@{_digest(image_ids[name])}" for name in set(map(str, names))))
    return f"images-{len(set(names))}-{hashlib.sha256(members.encode()).hexdigest()[:16]}.tar"


def images_ids(images: Any) -> dict[str, str]:
    """``{name: image ID}`` for every tag of ``images`` (docker_image_info's ``images``: ``Id``, ``RepoTags``)."""
    if not _seq(images):
        raise AnsibleFilterError("images_ids: give docker_image_info's images (a list)")
    return {tag: str(image.get("Id", "")) for image in images for tag in image.get("RepoTags") or []}


class FilterModule:
    """Image delivery filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"images_needed": images_needed, "images_missing": images_missing, "images_archive_name": images_archive_name,
                "images_ids": images_ids}
