# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.stacks import (
    FilterModule,
    stack_declaration_errors,
    stack_networks,
    stack_references,
    stack_stale_versions,
    stack_versioned_objects,
)


def test_exports() -> None:
    assert sorted(FilterModule().filters()) == [
        "stack_declaration_errors", "stack_networks", "stack_references", "stack_stale_versions", "stack_versioned_objects",
    ]


def test_versioned_names_follow_the_content() -> None:
    first = stack_versioned_objects([{"name": "db_password", "data": "s3cret"}], "shop")
    # A secret's digits: PBKDF2 salted with stack and name, not a plain hash a guess could be checked against.
    digest = hashlib.pbkdf2_hmac("sha256", b"s3cret", b"campus.swarm/shop/db_password", 200_000).hex()[:12]
    assert digest != hashlib.sha256(b"s3cret").hexdigest()[:12]
    assert first == [{"name": "db_password", "data": "s3cret", "versioned_name": f"shop_db_password_{digest}"}]
    again = stack_versioned_objects([{"name": "db_password", "data": "s3cret"}], "shop")
    changed = stack_versioned_objects([{"name": "db_password", "data": "other"}], "shop")
    assert again == first
    assert changed[0]["versioned_name"] != first[0]["versioned_name"]


def test_other_keys_are_kept() -> None:
    item = stack_versioned_objects([{"name": "nginx_conf", "data": "x", "target": "/etc/x"}], "web", "config")[0]
    assert item["target"] == "/etc/x"
    assert item["versioned_name"] == "web_nginx_conf_" + hashlib.sha256(b"x").hexdigest()[:12]  # a config: plain SHA-256


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


GOOD = {"name": "demo", "compose": "examples/stack/compose.yml.j2", "vars": {"replicas": 2},
        "secrets": [{"name": "amqp_password", "data": "s3cret-value"}], "networks": [{"name": "amqp", "internal": True}],
        "images": [{"name": "campus-demo-web:bookworm"}], "wait_timeout": 120, "prune": False}


def test_declaration_good() -> None:
    assert stack_declaration_errors([GOOD]) == []
    assert stack_declaration_errors([]) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"name": "bad name"}, "stacks_deploy[0] needs a name of letters, digits, '_', '.' and '-'"),
        ({"compose": ""}, "stack demo: compose must be the path of a compose file or template, or a mapping"),
        ({"wait_timeout": "soon"}, "stack demo: wait_timeout must be a whole number of seconds, 1 or more"),
        ({"prune": "yes"}, "stack demo: prune must be true or false"),
        ({"vars": []}, "stack demo: vars must be a mapping"),
        ({"secrets": [{"name": "pw"}]}, "secret pw of stack demo needs data (a string; from a file: lookup('file', ...))"),
        ({"networks": ["amqp"]}, "stack demo: networks must be a list of overlay declarations with a name "
                                 "(as in networks_overlays; created as STACK_NAME)"),
        ({"images": "web"}, "stack demo: images must be a list of {name, source, hosts} as in images_list"),
        ({"replicas": 3}, "stack demo: unknown keys replicas (known: compose, configs, images, name, networks, "
                          "prune, resolve_image, secrets, vars, wait_timeout)"),
        ({"resolve_image": "sometimes"}, "stack demo: resolve_image must be one of always, changed, never"),
        ({"compose": {"networks": {"amqp": {}}}}, "stack demo: network(s) amqp declared in networks and in the "
                                                  "compose file: declare each in one place"),
    ],
)
def test_declaration_errors(change: dict[str, Any], error: str) -> None:
    assert stack_declaration_errors([{**GOOD, **change}]) == [error]


def test_declaration_twice_and_no_secret_in_messages() -> None:
    errors = stack_declaration_errors([GOOD, {**GOOD, "secrets": [{"name": "x y", "data": "s3cret-value"}]}])
    assert errors[0] == "stack demo is declared twice in stacks_deploy"
    assert not any("s3cret-value" in e for e in errors)
    assert stack_declaration_errors({"name": "demo"}) == ["stacks_deploy must be a list of stacks, got dict"]


def test_networks_and_references() -> None:
    digest = hashlib.pbkdf2_hmac("sha256", b"s3cret-value", b"campus.swarm/demo/amqp_password", 200_000).hex()[:12]
    assert stack_networks([GOOD, {"name": "other", "compose": "x"}]) == [{"name": "demo_amqp", "internal": True}]
    assert stack_references(GOOD) == {
        "version": "3.8",
        "secrets": {"amqp_password": {"external": True, "name": f"demo_amqp_password_{digest}"}},
        "networks": {"amqp": {"external": True, "name": "demo_amqp"}},
    }
    assert stack_references({"name": "bare", "compose": "x"}) == {"version": "3.8"}


def test_stale_versions() -> None:
    current = stack_references(GOOD)["secrets"]["amqp_password"]["name"]
    listed = {"secret": [current, "demo_amqp_password_0123456789ab", "demo_old_aaaaaaaaaaaa"], "config": ["demo_c_1"]}
    assert stack_stale_versions(listed, GOOD) == [
        {"kind": "secret", "name": "demo_amqp_password_0123456789ab"},
        {"kind": "secret", "name": "demo_old_aaaaaaaaaaaa"},
        {"kind": "config", "name": "demo_c_1"},
    ]
    assert stack_stale_versions({"secret": [current], "config": []}, GOOD) == []
