# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.address_plan import FilterModule, swarm_address_plan_errors

HOST = "campus-lab-m1"

# A realistic campus node: overlay pool 10.201.0.0/16, docker0, local pools and
# docker_gwbridge in 172.79-81, ingress and one overlay inside the overlay pool.
CAMPUS: dict[str, Any] = {
    "swarm_default_addr_pool": ["10.201.0.0/16"],
    "swarm_subnet_size": 24,
    "docker_bip": "172.79.0.1/24",
    "docker_default_address_pools": [{"base": "172.80.0.0/16", "size": 24}],
    "networks_gwbridge_subnet": "172.81.0.0/24",
    "networks_ingress_subnet": "10.201.0.0/24",
    "networks_overlays": [{"name": "rabbitmq", "subnet": "10.201.2.0/24"}, {"name": "proxy"}],
}

# `ip -j route show` of that node on a re-run: its LAN, a campus route through
# the gateway, a host route, and Docker's own bridges routing exactly our ranges.
ROUTES: list[dict[str, Any]] = [
    {"dst": "default", "gateway": "172.28.10.1", "dev": "eth0", "protocol": "dhcp", "flags": []},
    {"dst": "172.28.10.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link", "prefsrc": "172.28.10.11", "flags": []},
    {"dst": "10.20.0.0/16", "gateway": "172.28.10.1", "dev": "eth0", "flags": []},
    {"dst": "192.0.2.5", "gateway": "172.28.10.1", "dev": "eth0", "flags": []},
    {"dst": "172.79.0.0/24", "dev": "docker0", "protocol": "kernel", "scope": "link", "prefsrc": "172.79.0.1", "flags": []},
    {"dst": "172.81.0.0/24", "dev": "docker_gwbridge", "protocol": "kernel", "scope": "link", "prefsrc": "172.81.0.1", "flags": []},
    {"dst": "172.80.0.0/24", "dev": "br-f09a02a4aa54", "protocol": "kernel", "scope": "link", "prefsrc": "172.80.0.1", "flags": []},
]

RESERVED: list[Any] = ["192.0.2.0/24", {"name": "servers", "cidr": "10.20.0.0/16"}]
WIFI = [{"name": "campus wifi", "cidr": "172.16.0.0/12"}]


def plan(**changes: Any) -> dict[str, Any]:
    """CAMPUS with ``changes``; a change to ``None`` removes the variable."""
    merged = {**CAMPUS, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def route(dst: str, dev: str = "eth0", **extra: Any) -> dict[str, Any]:
    return {"dst": dst, "dev": dev, "flags": [], **extra}


def test_filter_module_exports_the_filter() -> None:
    assert FilterModule().filters() == {"swarm_address_plan_errors": swarm_address_plan_errors}


@pytest.mark.parametrize(
    ("the_plan", "routes", "reserved"),
    [
        pytest.param(CAMPUS, ROUTES, RESERVED, id="campus"),
        pytest.param(CAMPUS, None, None, id="campus-without-routes-or-reserved"),
        pytest.param({}, None, None, id="all-docker-defaults"),
        # Docker skips the on-link 172.28.10.0/24 in its default pool 172.28.0.0/16 itself.
        pytest.param({"swarm_default_addr_pool": ["10.201.0.0/16"]}, ROUTES, RESERVED, id="defaults-skip-on-link-routes"),
        pytest.param(
            {"docker_bip": "", "docker_default_address_pools": [], "networks_gwbridge_subnet": "", "networks_ingress_subnet": "",
             "swarm_default_addr_pool": ["10.201.0.0/16"]},
            ROUTES, RESERVED, id="empty-strings-and-lists-are-unset",
        ),
        pytest.param(plan(docker_default_address_pools=[]), ROUTES, RESERVED, id="bip-outside-default-pools"),
        pytest.param(plan(networks_gwbridge_subnet="172.80.255.0/24"), ROUTES, RESERVED, id="gwbridge-inside-pool-bip-set"),
        pytest.param(plan(networks_gwbridge_subnet="172.18.5.0/24", docker_default_address_pools=[]), ROUTES, RESERVED,
                     id="gwbridge-inside-default-pool"),
        pytest.param(plan(networks_ingress_subnet="10.201.2.0/25", networks_overlays=[]), ROUTES, RESERVED,
                     id="ingress-inside-overlay-pool"),
        pytest.param(plan(networks_overlays=[{"name": "old", "subnet": "10.201.0.0/24", "state": "absent"}]), ROUTES, RESERVED,
                     id="absent-overlay-ignored"),
        pytest.param(plan(networks_overlays=[{"name": "bad", "subnet": "10.201.0.1/24"}, "junk"]), ROUTES, RESERVED,
                     id="bad-overlays-left-to-overlay_declaration_errors"),
        pytest.param(plan(swarm_default_addr_pool=["10.201.0.0/16", "nonsense", 42]), ROUTES, RESERVED,
                     id="bad-pools-left-to-swarm_address_pool_errors"),
        pytest.param(plan(swarm_default_addr_pool=["10.20.0.0/16"], networks_ingress_subnet="", networks_overlays=[]), None,
                     RESERVED, id="explicit-pool-vs-reserved-left-to-swarm_address_pool_errors"),
        pytest.param(CAMPUS, ROUTES, ["nonsense", "fd00::/8"], id="bad-and-ipv6-reserved-skipped"),
        pytest.param(CAMPUS, [route("172.80.7.0/24", "veth1a2b3c4"), route("10.201.9.0/24", "vx-001001-abcde")], None,
                     id="docker-devices-ignored"),
        pytest.param(CAMPUS, [route("0.0.0.0/0"), route("fd00::/64")], None, id="catch-all-and-ipv6-routes"),
        pytest.param({"unrelated": 1, "docker_bip": None}, None, None, id="unknown-keys-and-null"),
    ],
)
def test_good_plans(the_plan: dict[str, Any], routes: Any, reserved: Any) -> None:
    assert swarm_address_plan_errors(the_plan, routes, reserved, HOST) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"docker_bip": "172.79.0.1"}, "docker_bip '172.79.0.1' is not an address in CIDR form such as 172.79.0.1/24"),
        ({"docker_bip": "172.79.0.300/24"},
         "docker_bip '172.79.0.300/24' is not an address in CIDR form: '172.79.0.300/24' does not appear to be an IPv4 or IPv6 interface"),
        ({"docker_bip": "fd00::1/64"}, "docker_bip fd00::1/64 is IPv6: docker0's address must be IPv4 such as 172.79.0.1/24"),
        ({"docker_bip": "172.79.0.0/24"},
         "docker_bip 172.79.0.0/24 is the network address of 172.79.0.0/24: docker_bip is docker0's own address in CIDR form, "
         "such as 172.79.0.1/24"),
        ({"docker_bip": "172.79.0.255/24"},
         "docker_bip 172.79.0.255/24 is the broadcast address of 172.79.0.0/24: docker_bip is docker0's own address in CIDR form, "
         "such as 172.79.0.1/24"),
        ({"docker_bip": "172.79.0.1/31"},
         "docker_bip 172.79.0.1/31 leaves docker0 no address for containers: use a prefix length of 30 or less"),
        ({"networks_gwbridge_subnet": "172.81.0.1/24"}, "networks_gwbridge_subnet 172.81.0.1/24 has host bits set: the network is 172.81.0.0/24"),
        ({"networks_gwbridge_subnet": "gwbridge"}, "networks_gwbridge_subnet 'gwbridge' is not a CIDR network such as 172.81.0.0/24"),
        ({"networks_ingress_subnet": "fd00::/64"}, "networks_ingress_subnet fd00::/64 is IPv6: it must be an IPv4 network such as 10.201.0.0/24"),
        ({"networks_ingress_subnet": "10.201.0.0/40"},
         "networks_ingress_subnet '10.201.0.0/40' is not a CIDR network: '10.201.0.0/40' does not appear to be an IPv4 or IPv6 network"),
        ({"docker_default_address_pools": [{"base": "172.80.0.1/16", "size": 24}]},
         "docker_default_address_pools base 172.80.0.1/16 has host bits set: the network is 172.80.0.0/16"),
        ({"docker_default_address_pools": [{"size": 24}]}, "docker_default_address_pools base None is not a CIDR network such as 172.80.0.0/16"),
        ({"docker_default_address_pools": [{"base": "172.80.0.0/16", "size": 32}]},
         "docker_default_address_pools size 32 must be between base 172.80.0.0/16's prefix length 16 and 31"),
        ({"docker_default_address_pools": [{"base": "172.80.0.0/16", "size": 12}]},
         "docker_default_address_pools size 12 must be between base 172.80.0.0/16's prefix length 16 and 31"),
        ({"docker_default_address_pools": [{"base": "172.80.0.0/16", "size": "24"}]},
         "docker_default_address_pools base 172.80.0.0/16 needs an integer size such as 24, got '24'"),
    ],
)
def test_rule1_invalid_ranges(changes: dict[str, Any], expected: str) -> None:
    assert swarm_address_plan_errors(plan(**changes), ROUTES, RESERVED, HOST) == [expected]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"networks_gwbridge_subnet": "172.79.0.0/25"},
            "docker_bip 172.79.0.1/24 (docker0 network 172.79.0.0/24) overlaps networks_gwbridge_subnet 172.79.0.0/25 (docker_gwbridge): "
            "change docker_bip or change networks_gwbridge_subnet so that they do not overlap",
        ),
        (
            {"docker_bip": "172.80.9.1/24"},
            "docker_bip 172.80.9.1/24 (docker0 network 172.80.9.0/24) overlaps docker_default_address_pools base 172.80.0.0/16: "
            "Docker allocates docker0 again at every start and does not start when the pool has already given that range to another "
            "network; move docker_bip outside the local pools",
        ),
        (
            {"docker_bip": "192.168.100.1/24", "docker_default_address_pools": []},
            "docker_bip 192.168.100.1/24 (docker0 network 192.168.100.0/24) overlaps Docker's default local pool 192.168.0.0/16 "
            "(docker_default_address_pools is unset): Docker allocates docker0 again at every start and does not start when the pool "
            "has already given that range to another network; move docker_bip outside the local pools or set docker_default_address_pools",
        ),
        (
            {"docker_default_address_pools": [{"base": "172.80.0.0/16", "size": 24}, {"base": "172.80.128.0/17", "size": 24}]},
            "docker_default_address_pools base 172.80.0.0/16 overlaps docker_default_address_pools base 172.80.128.0/17: "
            "change docker_default_address_pools so that its ranges do not overlap",
        ),
        (
            {"networks_gwbridge_subnet": "10.201.200.0/24"},
            "networks_gwbridge_subnet 10.201.200.0/24 (docker_gwbridge) overlaps swarm_default_addr_pool 10.201.0.0/16: "
            "change networks_gwbridge_subnet or change swarm_default_addr_pool so that they do not overlap",
        ),
        (
            {"docker_bip": None, "networks_gwbridge_subnet": "172.80.0.0/24"},
            "networks_gwbridge_subnet 172.80.0.0/24 (docker_gwbridge) overlaps docker_default_address_pools base 172.80.0.0/16 while "
            "docker_bip is unset: Docker gives docker0 a range from the local pools when it starts, before docker_gwbridge exists, and "
            "it can be this one; set docker_bip or move networks_gwbridge_subnet outside the local pools",
        ),
        (
            {"docker_bip": None, "docker_default_address_pools": None, "networks_gwbridge_subnet": "172.17.5.0/24"},
            "Docker's default docker0 network 172.17.0.0/16 (docker_bip is unset) overlaps networks_gwbridge_subnet 172.17.5.0/24 "
            "(docker_gwbridge): set docker_bip or change networks_gwbridge_subnet so that they do not overlap",
        ),
        (
            {"networks_ingress_subnet": "10.201.2.0/24"},
            "networks_ingress_subnet 10.201.2.0/24 (ingress) overlaps networks_overlays rabbitmq subnet 10.201.2.0/24: "
            "change networks_ingress_subnet or change the subnet of rabbitmq in networks_overlays so that they do not overlap",
        ),
        (
            {"networks_ingress_subnet": "172.80.3.0/24"},
            "docker_default_address_pools base 172.80.0.0/16 overlaps networks_ingress_subnet 172.80.3.0/24 (ingress): "
            "change docker_default_address_pools or change networks_ingress_subnet so that they do not overlap",
        ),
        (
            {"networks_overlays": [{"name": "rabbitmq", "subnet": "172.79.0.0/26", "state": "present"}]},
            "docker_bip 172.79.0.1/24 (docker0 network 172.79.0.0/24) overlaps networks_overlays rabbitmq subnet 172.79.0.0/26: "
            "change docker_bip or change the subnet of rabbitmq in networks_overlays so that they do not overlap",
        ),
    ],
)
def test_rule2_clashes_between_ranges(changes: dict[str, Any], expected: str) -> None:
    assert swarm_address_plan_errors(plan(**changes), ROUTES, RESERVED, HOST) == [expected]


def test_rule2_default_pools_grouped_in_one_sentence() -> None:
    errors = swarm_address_plan_errors(
        {"docker_bip": "172.79.0.1/24", "swarm_default_addr_pool": ["172.16.0.0/12"]}, None, None, HOST
    )
    assert errors == [
        "Docker's default local pools 172.17.0.0/16 to 172.31.0.0/16 (docker_default_address_pools is unset) overlap "
        "swarm_default_addr_pool 172.16.0.0/12: set docker_default_address_pools or change swarm_default_addr_pool "
        "so that they do not overlap",
    ]


@pytest.mark.parametrize(
    ("changes", "routes", "expected"),
    [
        (
            {"docker_bip": "172.28.10.1/24"},
            ROUTES,
            [
                "docker_bip 172.28.10.1/24 (docker0 network 172.28.10.0/24) overlaps the route 172.28.10.0/24 (dev eth0) of host "
                "campus-lab-m1: set docker_bip to an address outside the routes of host campus-lab-m1",
            ],
        ),
        (
            {"docker_default_address_pools": [{"base": "10.20.0.0/16", "size": 24}]},
            ROUTES,
            [
                "docker_default_address_pools base 10.20.0.0/16 overlaps the route 10.20.0.0/16 via 172.28.10.1 (dev eth0) of host "
                "campus-lab-m1: set docker_default_address_pools to pools outside the routes of host campus-lab-m1",
            ],
        ),
        (
            {"networks_gwbridge_subnet": "172.81.0.0/24"},
            [route("172.81.0.0/24", "br-mgmt", scope="link")],
            [
                "networks_gwbridge_subnet 172.81.0.0/24 (docker_gwbridge) overlaps the route 172.81.0.0/24 (dev br-mgmt) of host "
                "campus-lab-m1: set networks_gwbridge_subnet to a subnet outside the routes of host campus-lab-m1",
            ],
        ),
        (
            {"swarm_default_addr_pool": ["10.0.0.0/8"], "networks_ingress_subnet": "", "networks_overlays": []},
            ROUTES,
            [
                "swarm_default_addr_pool 10.0.0.0/8 overlaps the route 10.20.0.0/16 via 172.28.10.1 (dev eth0) of host campus-lab-m1: "
                "set swarm_default_addr_pool to pools outside the routes of host campus-lab-m1",
            ],
        ),
        (
            {"networks_ingress_subnet": "192.0.2.0/29"},
            ROUTES,
            [
                "networks_ingress_subnet 192.0.2.0/29 (ingress) overlaps the route 192.0.2.5 via 172.28.10.1 (dev eth0) of host "
                "campus-lab-m1: set networks_ingress_subnet to a subnet outside the routes of host campus-lab-m1",
            ],
        ),
        (
            {"networks_overlays": [{"name": "rabbitmq", "subnet": "10.201.2.0/24"}]},
            [{"type": "blackhole", "dst": "10.201.2.0/24", "flags": []}],
            [
                "swarm_default_addr_pool 10.201.0.0/16 overlaps the route 10.201.2.0/24 (blackhole) of host campus-lab-m1: "
                "set swarm_default_addr_pool to pools outside the routes of host campus-lab-m1",
                "networks_overlays rabbitmq subnet 10.201.2.0/24 overlaps the route 10.201.2.0/24 (blackhole) of host campus-lab-m1: "
                "give rabbitmq in networks_overlays a subnet outside the routes of host campus-lab-m1",
            ],
        ),
    ],
)
def test_rule3_clashes_with_routes(changes: dict[str, Any], routes: list[dict[str, Any]], expected: list[str]) -> None:
    assert swarm_address_plan_errors(plan(**changes), routes, None, HOST) == expected


def test_rule3_defaults_only_against_routes_docker_does_not_avoid() -> None:
    # Docker skips on-link routes (172.28.10.0/24 in the default pool 172.28.0.0/16)
    # when it picks a default range itself, but not routes through a gateway.
    routes = [*ROUTES, route("172.16.0.0/12", gateway="172.28.10.1")]
    assert swarm_address_plan_errors({"swarm_default_addr_pool": ["10.201.0.0/16"]}, routes, None, HOST) == [
        "Docker's default docker0 network 172.17.0.0/16 (docker_bip is unset) overlaps the route 172.16.0.0/12 via 172.28.10.1 "
        "(dev eth0) of host campus-lab-m1: set docker_bip to an address outside the routes of host campus-lab-m1",
        "Docker's default local pools 172.17.0.0/16 to 172.31.0.0/16 (docker_default_address_pools is unset) overlap the route "
        "172.16.0.0/12 via 172.28.10.1 (dev eth0) of host campus-lab-m1: set docker_default_address_pools to pools outside the "
        "routes of host campus-lab-m1",
    ]


def test_rule3_default_overlay_pool_against_every_route() -> None:
    assert swarm_address_plan_errors({"docker_bip": "172.79.0.1/24"}, [route("10.9.0.0/16", scope="link")], None, "") == [
        "Docker's default overlay pool 10.0.0.0/8 (swarm_default_addr_pool is unset) overlaps the route 10.9.0.0/16 (dev eth0) "
        "of this host: set swarm_default_addr_pool to pools outside the routes of this host",
    ]


def test_rule3_same_route_twice_one_sentence() -> None:
    routes = [route("172.79.0.0/16", metric=100), route("172.79.0.0/16", metric=200)]
    assert len(swarm_address_plan_errors(CAMPUS, routes, None, HOST)) == 1


@pytest.mark.parametrize(
    ("changes", "reserved", "expected"),
    [
        (
            {"docker_bip": None, "docker_default_address_pools": None},
            [{"name": "campus wifi", "cidr": "172.17.0.0/16"}],
            [
                "Docker's default docker0 network 172.17.0.0/16 (docker_bip is unset) overlaps campus range 172.17.0.0/16 "
                "(campus wifi): set docker_bip to an address outside the campus ranges",
                "Docker's default local pool 172.17.0.0/16 (docker_default_address_pools is unset) overlaps campus range "
                "172.17.0.0/16 (campus wifi): set docker_default_address_pools to pools outside the campus ranges",
            ],
        ),
        (
            {"docker_bip": "172.20.0.1/24", "docker_default_address_pools": [{"base": "172.30.0.0/16", "size": 24}]},
            WIFI,
            [
                "docker_bip 172.20.0.1/24 (docker0 network 172.20.0.0/24) overlaps campus range 172.16.0.0/12 (campus wifi): "
                "set docker_bip to an address outside the campus ranges",
                "docker_default_address_pools base 172.30.0.0/16 overlaps campus range 172.16.0.0/12 (campus wifi): "
                "set docker_default_address_pools to pools outside the campus ranges",
            ],
        ),
        (
            {"networks_gwbridge_subnet": "192.0.2.128/25"},
            RESERVED,
            ["networks_gwbridge_subnet 192.0.2.128/25 (docker_gwbridge) overlaps campus range 192.0.2.0/24: "
             "set networks_gwbridge_subnet to a subnet outside the campus ranges"],
        ),
        (
            {"networks_ingress_subnet": "10.20.1.0/24", "networks_overlays": [{"name": "rabbitmq", "subnet": "10.20.2.0/24"}]},
            RESERVED,
            [
                "networks_ingress_subnet 10.20.1.0/24 (ingress) overlaps campus range 10.20.0.0/16 (servers): "
                "set networks_ingress_subnet to a subnet outside the campus ranges",
                "networks_overlays rabbitmq subnet 10.20.2.0/24 overlaps campus range 10.20.0.0/16 (servers): "
                "give rabbitmq in networks_overlays a subnet outside the campus ranges",
            ],
        ),
        (
            {"swarm_default_addr_pool": None, "networks_ingress_subnet": "", "networks_overlays": []},
            RESERVED,
            ["Docker's default overlay pool 10.0.0.0/8 (swarm_default_addr_pool is unset) overlaps campus range 10.20.0.0/16 "
             "(servers): set swarm_default_addr_pool to pools outside the campus ranges"],
        ),
    ],
)
def test_rule4_clashes_with_campus_ranges(changes: dict[str, Any], reserved: list[Any], expected: list[str]) -> None:
    assert swarm_address_plan_errors(plan(**changes), None, reserved, HOST) == expected


def test_rule4_example_from_the_brief() -> None:
    errors = swarm_address_plan_errors({"swarm_default_addr_pool": ["10.201.0.0/16"]}, None, WIFI, HOST)
    assert errors[0] == (
        "Docker's default docker0 network 172.17.0.0/16 (docker_bip is unset) overlaps campus range 172.16.0.0/12 (campus wifi): "
        "set docker_bip to an address outside the campus ranges"
    )
    assert errors[1].startswith("Docker's default local pools 172.17.0.0/16 to 172.31.0.0/16 (docker_default_address_pools is unset)")
    assert len(errors) == 2


@pytest.mark.parametrize(
    ("the_plan", "routes", "reserved", "host", "match"),
    [
        (["docker_bip"], None, None, HOST, "the plan must be a dict"),
        (plan(docker_bip=172), None, None, HOST, "docker_bip must be a string"),
        (plan(networks_gwbridge_subnet=["172.81.0.0/24"]), None, None, HOST, "networks_gwbridge_subnet must be a string"),
        (plan(networks_ingress_subnet=24), None, None, HOST, "networks_ingress_subnet must be a string"),
        (plan(docker_default_address_pools="172.80.0.0/16"), None, None, HOST, "docker_default_address_pools must be a list"),
        (plan(docker_default_address_pools=["172.80.0.0/16"]), None, None, HOST, "docker_default_address_pools item 0 must be a dict"),
        (plan(swarm_default_addr_pool="10.201.0.0/16"), None, None, HOST, "swarm_default_addr_pool must be a list"),
        (plan(networks_overlays={"name": "x"}), None, None, HOST, "networks_overlays must be a list"),
        (CAMPUS, "172.28.10.0/24 dev eth0", None, HOST, "routes must be a list"),
        (CAMPUS, [{"dev": "eth0"}], None, HOST, "has no dst"),
        (CAMPUS, ["172.28.10.0/24"], None, HOST, "has no dst"),
        (CAMPUS, [route("172.28.10.0/33")], None, HOST, "neither an address nor a CIDR network"),
        (CAMPUS, None, "10.20.0.0/16", HOST, "reserved must be a list"),
        (CAMPUS, None, None, None, "host must be the inventory hostname"),
    ],
)
def test_shape_errors(the_plan: Any, routes: Any, reserved: Any, host: Any, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"^swarm_address_plan_errors: .*{match}"):
        swarm_address_plan_errors(the_plan, routes, reserved, host)
