# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.stacks import FilterModule, stack_versioned_objects


def test_exports() -> None:
    assert sorted(FilterModule().filters()) == ["stack_versioned_objects"]


def test_versioned_names_follow_the_content() -> None:
    first = stack_versioned_objects([{"name": "db_password", "data": "s3cret"}], "shop")
    digest = hashlib.sha256(b"s3cret").hexdigest()[:12]
    assert first == [{"name": "db_password", "data": "s3cret", "versioned_name": f"shop_db_password_{digest}"}]
    again = stack_versioned_objects([{"name": "db_password", "data": "s3cret"}], "shop")
    changed = stack_versioned_objects([{"name": "db_password", "data": "other"}], "shop")
    assert again == first
    assert changed[0]["versioned_name"] != first[0]["versioned_name"]


def test_other_keys_are_kept() -> None:
    item = stack_versioned_objects([{"name": "nginx_conf", "data": "x", "target": "/etc/x"}], "web", "config")[0]
    assert item["target"] == "/etc/x"


@pytest.mark.parametrize(
    ("objects", "stack", "message"),
    [
        ([], "bad stack", "the stack name must be"),
        ("x", "shop", "the secrets of stack shop must be a list"),
        ([{"data": "x"}], "shop", "secret 0 of stack shop needs a name"),
        ([{"name": "a", "data": "x"}, {"name": "a", "data": "y"}], "shop", "secret a of stack shop is declared twice"),
        ([{"name": "a"}], "shop", "secret a of stack shop needs data"),
        ([{"name": "a" * 60, "data": "x"}], "shop", "longer than Docker's 64 characters"),
    ],
)
def test_bad_objects(objects: Any, stack: str, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match="^stack_versioned_objects: .*" + message):
        stack_versioned_objects(objects, stack)
