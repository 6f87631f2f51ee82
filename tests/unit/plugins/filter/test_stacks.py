# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.stacks import (
    FilterModule,
    stack_compose_errors,
    stack_declaration_errors,
    stack_missing_versions,
    stack_networks,
    stack_references,
    stack_stale_versions,
    stack_versioned_objects,
)


def test_exports() -> None:
    assert sorted(FilterModule().filters()) == [
        "stack_compose_errors", "stack_declaration_errors", "stack_missing_versions", "stack_networks",
        "stack_references", "stack_stale_versions", "stack_versioned_objects",
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
        ([], "shop.eu", "the stack name must be letters and digits"),
        ("x", "shop", "the secrets of stack shop must be a list, got str"),
        ([{"data": "x"}], "shop", "secret 0 of stack shop needs a name"),
        ([{"name": "_pw", "data": "x"}], "shop", "secret 0 of stack shop needs a name"),
        ([{"name": "a", "data": ""}], "shop", "secret a of stack shop needs data, a string that is not empty"),
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
        ({"name": "bad name"}, "stacks_deploy[0] needs a name of letters and digits, joined by '-' or '_' (no '.'; "
                               "Docker uses it in DNS names), 63 characters at most"),
        ({"name": "demo.eu"}, "stacks_deploy[0] needs a name of letters and digits, joined by '-' or '_' (no '.'; "
                              "Docker uses it in DNS names), 63 characters at most"),
        # Swarm's own pattern would backtrack for minutes on this name in Python's re.
        ({"name": "customerportalbackendservicexxxxxxxxxxxxxx.eu"},
         "stacks_deploy[0] needs a name of letters and digits, joined by '-' or '_' (no '.'; Docker uses it in DNS "
         "names), 63 characters at most"),
        ({"name": "demo\n"},
         "stacks_deploy[0] needs a name of letters and digits, joined by '-' or '_' (no '.'; Docker uses it in DNS "
         "names), 63 characters at most"),
        ({"name": "portainer"}, "stack portainer: the name belongs to a stack of the collection's own roles; "
                                "choose another"),
        ({"secrets": None, "configs": None, "networks": None, "images": None}, None),
        ({"template": "no"}, "stack demo: template must be true or false"),
        ({"networks": [{"name": "amqp.x"}]}, "stack demo: network 'amqp.x' needs a name of letters and digits, joined "
                                             "by '-' or '_' (no '.'; Docker uses it in DNS names), and demo_amqp.x "
                                             "must be 63 characters or fewer"),
        ({"compose": ""}, "stack demo: compose must be the path of a compose file or template, or a mapping"),
        ({"wait_timeout": "soon"}, "stack demo: wait_timeout must be a whole number of seconds, 1 or more"),
        ({"prune": "yes"}, "stack demo: prune must be true or false"),
        ({"vars": []}, "stack demo: vars must be a mapping"),
        ({"secrets": [{"name": "pw"}]},
         "secret pw of stack demo needs data, a string that is not empty (from a file: lookup('file', ...))"),
        ({"networks": ["amqp"]}, "stack demo: networks must be a list of overlay declarations with a name "
                                 "(as in networks_overlays; created as STACK_NAME)"),
        ({"images": "web"}, "stack demo: images must be a list of {name, source, hosts} as in images_list"),
        ({"replicas": 3}, "stack demo: unknown keys replicas (known: compose, configs, images, name, networks, "
                          "prune, resolve_image, secrets, template, vars, wait_timeout)"),
        ({"resolve_image": "sometimes"}, "stack demo: resolve_image must be one of always, changed, never"),
    ],
)
def test_declaration_errors(change: dict[str, Any], error: str | None) -> None:
    assert stack_declaration_errors([{**GOOD, **change}], ["portainer"]) == ([error] if error else [])


def test_declaration_twice_and_no_secret_in_messages() -> None:
    errors = stack_declaration_errors([GOOD, {**GOOD, "secrets": [{"name": "x y", "data": "s3cret-value"}]}])
    assert errors[0] == "stack demo is declared twice in stacks_deploy"
    assert not any("s3cret-value" in e for e in errors)
    assert stack_declaration_errors({"name": "demo"}) == ["stacks_deploy must be a list of stacks, got dict"]
    # Secrets given as a mapping instead of a list: the message names the type, not the data.
    errors = stack_declaration_errors([{**GOOD, "secrets": {"amqp_password": "s3cret-value"}}])
    assert errors == ["the secrets of stack demo must be a list, got dict"]
    with pytest.raises(AnsibleFilterError) as raised:
        stack_versioned_objects({"pw": "s3cret-value"}, "demo")
    assert "s3cret-value" not in str(raised.value)


def test_networks_and_references() -> None:
    digest = hashlib.pbkdf2_hmac("sha256", b"s3cret-value", b"campus.swarm/demo/amqp_password", 200_000).hex()[:12]
    assert stack_networks([GOOD, {"name": "other", "compose": "x"}]) == [{"name": "demo_amqp", "internal": True}]
    # The version of the stack's own compose file: Docker refuses two files of different versions.
    assert stack_references(GOOD, {"version": "3.9", "services": {}}) == {
        "version": "3.9",
        "secrets": {"amqp_password": {"external": True, "name": f"demo_amqp_password_{digest}"}},
        "networks": {"amqp": {"external": True, "name": "demo_amqp"}},
    }
    assert stack_references({"name": "bare", "compose": "x"}, {"services": {}}) == {}
    assert stack_references({"name": "bare", "compose": "x", "secrets": None}) == {}


COMPOSE = {"version": "3.8", "services": {
    "web": {"image": "web:1", "secrets": [{"source": "amqp_password", "target": "pw"}], "networks": ["amqp", "edge"]},
    "worker": {"image": "worker:1", "secrets": ["amqp_password"], "configs": ["tuning"],
               "networks": {"amqp": {"aliases": ["w"]}}},
}, "networks": {"edge": {"external": True, "name": "proxy"}}, "configs": {"tuning": {"file": "./tuning.conf"}}}


def test_compose_good() -> None:
    assert stack_compose_errors(COMPOSE, GOOD) == []
    assert stack_compose_errors({"services": {"one": {"image": "x"}}}, {"name": "bare"}) == []


@pytest.mark.parametrize(
    ("compose", "error"),
    [
        ("services: {}", "stack demo: the compose file must be a mapping with services"),
        ({"services": {}}, "stack demo: the compose file must be a mapping with services"),
        ({**COMPOSE, "networks": {"amqp": {}, "edge": {}}},
         "stack demo: network(s) amqp declared in networks and in the compose file: declare each in one place"),
        ({"services": {"web": {"secrets": ["db_password"]}}}, "stack demo: service web uses secrets db_password, "
                                                              "declared neither in the stack's secrets nor in the "
                                                              "compose file"),
        ({"services": {"web": {"networks": ["backend"]}}}, "stack demo: service web uses networks backend, declared "
                                                           "neither in the stack's networks nor in the compose file"),
        ({"services": {"web": "web:1"}}, "stack demo: service web must be a mapping"),
    ],
)
def test_compose_errors(compose: Any, error: str) -> None:
    assert stack_compose_errors(compose, GOOD) == [error]


def test_missing_and_stale_versions() -> None:
    current = stack_references(GOOD)["secrets"]["amqp_password"]["name"]
    assert stack_missing_versions({"secret": [], "config": []}, GOOD, "secret") == [
        {"name": "amqp_password", "data": "s3cret-value", "versioned_name": current}]
    assert stack_missing_versions({"secret": [current], "config": []}, GOOD, "secret") == []
    assert stack_missing_versions({"secret": [current], "config": []}, GOOD, "config") == []
    listed = {"secret": [current, "demo_amqp_password_0123456789ab", "demo_old_aaaaaaaaaaaa"], "config": ["demo_c_1"]}
    assert stack_stale_versions(listed, GOOD) == [
        {"kind": "secret", "name": "demo_amqp_password_0123456789ab"},
        {"kind": "secret", "name": "demo_old_aaaaaaaaaaaa"},
        {"kind": "config", "name": "demo_c_1"},
    ]
    # What the services' previous specs use stays, for docker service rollback.
    in_use = {"secret": ["demo_amqp_password_0123456789ab"], "config": []}
    assert stack_stale_versions(listed, GOOD, in_use) == [
        {"kind": "secret", "name": "demo_old_aaaaaaaaaaaa"},
        {"kind": "config", "name": "demo_c_1"},
    ]
    assert stack_stale_versions({"secret": [current], "config": []}, GOOD) == []
