# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import re
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.images import FilterModule, images_archive_name, images_missing, images_needed

LIST = [
    {"name": "campus-probe:1"},
    {"name": "nginx:1.27", "source": "pull", "hosts": ["swarm_edge"]},
    {"name": "portainer-agent:2", "hosts": ["m1", "w1"]},
]
ID_A = "sha256:" + "a" * 64
ID_B = "sha256:" + "b" * 64


def test_exports() -> None:
    assert sorted(FilterModule().filters()) == ["images_archive_name", "images_ids", "images_missing", "images_needed"]


@pytest.mark.parametrize(
    ("host", "groups", "names"),
    [
        ("m1", ["swarm", "swarm_managers"], ["campus-probe:1", "portainer-agent:2"]),
        ("w2", ["swarm", "swarm_workers", "swarm_edge"], ["campus-probe:1", "nginx:1.27"]),
        ("other", ["ungrouped"], []),
    ],
)
def test_images_needed(host: str, groups: list[str], names: list[str]) -> None:
    assert [i["name"] for i in images_needed(LIST, host, groups)] == names


def test_images_needed_fills_in_the_source() -> None:
    assert images_needed(LIST, "w2", ["swarm", "swarm_edge"]) == [
        {"name": "campus-probe:1", "source": "archive"},
        {"name": "nginx:1.27", "source": "pull"},
    ]


@pytest.mark.parametrize(
    ("images", "match"),
    [
        ("nginx", "images_list must be a list"),
        ([{"source": "pull"}], "images_list item 0 needs a name"),
        ([{"name": "x", "source": "registry"}], "images_list x: source must be archive or pull"),
        ([{"name": "x", "hosts": "swarm"}], "images_list x: hosts must be a list"),
    ],
)
def test_images_needed_bad(images: Any, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"^images_needed: {match}"):
        images_needed(images, "m1", ["swarm"])


NODE = [{"Id": ID_A, "RepoTags": ["campus-probe:1"]}, {"Id": ID_B, "RepoTags": ["nginx:latest"]}]


@pytest.mark.parametrize(
    ("needed", "wanted", "missing"),
    [
        (["campus-probe:1"], {"campus-probe:1": ID_A}, []),
        (["campus-probe:1"], {"campus-probe:1": ID_B}, ["campus-probe:1"]),  # same name, other build: load again
        (["campus-probe:1"], {}, []),
        (["nginx"], {}, []),  # listed as nginx:latest
        (["nginx:1.27"], {}, ["nginx:1.27"]),
        ([{"name": "portainer-agent:2"}], None, ["portainer-agent:2"]),
    ],
)
def test_images_missing(needed: list[Any], wanted: dict[str, str] | None, missing: list[str]) -> None:
    assert images_missing(needed, NODE, wanted) == missing


def test_images_missing_bad() -> None:
    with pytest.raises(AnsibleFilterError, match=r"^images_missing: wanted_ids must be a dict"):
        images_missing(["a"], NODE, ["a"])
    with pytest.raises(AnsibleFilterError, match=r"^images_missing: every needed image needs a name"):
        images_missing([{"source": "pull"}], NODE)


def test_archive_name() -> None:
    assert images_archive_name("registry.campus:5000/team/app:1.2", ID_A) == "registry.campus_5000_team_app_1.2-aaaaaaaaaaaa.tar"
    with pytest.raises(AnsibleFilterError, match="is not an image ID"):
        images_archive_name("x", "latest")


def test_archive_name_of_a_set() -> None:
    ids = {"a:1": ID_A, "b:1": ID_B}
    # One image: the name of its own archive.
    assert images_archive_name(["a:1"], ids) == images_archive_name("a:1", ID_A)
    both = images_archive_name(["a:1", "b:1"], ids)
    assert re.fullmatch(r"images-2-[0-9a-f]{16}[.]tar", both)
    # The order does not matter; another ID of a member is another archive.
    assert images_archive_name(["b:1", "a:1"], ids) == both
    assert images_archive_name(["a:1", "b:1"], {"a:1": ID_A, "b:1": ID_A}) != both


@pytest.mark.parametrize(("names", "ids", "message"), [
    (["a:1"], {}, "no image ID for a:1"),
    ([], {}, "give a name and its image ID, or a list"),
    ("a:1", {"a:1": "x"}, "give a name and its image ID, or a list"),
    (["a:1", "b:1"], {"a:1": ID_A, "b:1": "latest"}, "is not an image ID"),
])
def test_archive_name_of_a_set_bad(names: Any, ids: Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        images_archive_name(names, ids)
