# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.swarm import (
    FilterModule,
    swarm_address_pool_errors,
    swarm_fault_tolerance,
    swarm_join_addr,
    swarm_manager_count_problem,
    swarm_network_diff,
    swarm_quorum,
    swarm_unknown_vars,
)


def test_filter_module_exports_every_filter() -> None:
    assert sorted(FilterModule().filters()) == [
        "swarm_address_pool_errors",
        "swarm_fault_tolerance",
        "swarm_host_list",
        "swarm_join_addr",
        "swarm_manager_count_problem",
        "swarm_network_diff",
        "swarm_quorum",
        "swarm_unknown_vars",
        "swarm_unsealed_key",
    ]


@pytest.mark.parametrize(
    ("managers", "quorum", "tolerance"),
    [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2), (6, 4, 2), (7, 4, 3), (9, 5, 4)],
)
def test_quorum_and_fault_tolerance(managers: int, quorum: int, tolerance: int) -> None:
    assert swarm_quorum(managers) == quorum
    assert swarm_fault_tolerance(managers) == tolerance


@pytest.mark.parametrize("managers", [0, -1, "3", 3.0, True, None])
@pytest.mark.parametrize("func", [swarm_quorum, swarm_fault_tolerance])
def test_quorum_bad_input(func: Any, managers: Any) -> None:
    with pytest.raises(AnsibleFilterError, match=rf"^{func.__name__}: .*{managers!r}"):
        func(managers)


@pytest.mark.parametrize(
    ("managers", "expected"),
    [
        (1, ""),
        (3, ""),
        (5, ""),
        (7, ""),
        (2, "2 managers tolerate 0 failures, the same as 1, and need 2 for quorum: use an odd number of managers"),
        (4, "4 managers tolerate 1 failure, the same as 3, and need 3 for quorum: use an odd number of managers"),
        (6, "6 managers tolerate 2 failures, the same as 5, and need 4 for quorum: use an odd number of managers"),
    ],
)
def test_manager_count_problem(managers: int, expected: str) -> None:
    assert swarm_manager_count_problem(managers) == expected


@pytest.mark.parametrize("managers", [8, 9, 12])
def test_manager_count_problem_too_many(managers: int) -> None:
    problem = swarm_manager_count_problem(managers)
    assert problem.startswith(f"{managers} managers: more than 7 managers slow down raft consensus")
    assert "every write goes to a majority" in problem


def test_manager_count_problem_zero() -> None:
    assert swarm_manager_count_problem(0).startswith("no managers")


@pytest.mark.parametrize("managers", [-1, "three", 2.5, False])
def test_manager_count_problem_bad_input(managers: Any) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^swarm_manager_count_problem: "):
        swarm_manager_count_problem(managers)


@pytest.mark.parametrize(
    ("addr", "port", "expected"),
    [
        ("10.0.0.1", 2377, "10.0.0.1:2377"),
        (" 10.0.0.1 ", 2377, "10.0.0.1:2377"),
        ("10.0.0.1:4000", 2377, "10.0.0.1:2377"),
        ("2001:db8::1", 2377, "[2001:db8::1]:2377"),
        ("2001:DB8:0::1", 2377, "[2001:db8::1]:2377"),
        ("[2001:db8::1]", 2377, "[2001:db8::1]:2377"),
        ("[2001:db8::1]:2377", 4000, "[2001:db8::1]:4000"),
        ("manager1.example.org", 2377, "manager1.example.org:2377"),
        ("manager1:2377", 2377, "manager1:2377"),
        ("manager1", "2400", "manager1:2400"),
    ],
)
def test_join_addr(addr: str, port: Any, expected: str) -> None:
    assert swarm_join_addr(addr, port) == expected


def test_join_addr_default_port() -> None:
    assert swarm_join_addr("10.0.0.1") == "10.0.0.1:2377"


@pytest.mark.parametrize(
    ("addr", "port", "match"),
    [
        ("", 2377, "non-empty"),
        ("   ", 2377, "non-empty"),
        (None, 2377, "non-empty"),
        ("10.0.0.1", 0, "port"),
        ("10.0.0.1", 70000, "port"),
        ("10.0.0.1", "", "port"),
        ("10.0.0.1", True, "port"),
        ("10.0.0.1:abc", 2377, "not a number"),
        ("[2001:db8::1", 2377, "bracketed"),
        ("[2001:db8::1]x", 2377, "bracketed"),
        ("[10.0.0.1]", 2377, "IPv6"),
        ("2001:db8::zz", 2377, "neither"),
        ("bad_host!", 2377, "neither"),
        ("-leading.example.org", 2377, "neither"),
    ],
)
def test_join_addr_bad_input(addr: Any, port: Any, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"^swarm_join_addr: .*{match}"):
        swarm_join_addr(addr, port)


CAMPUS = [{"name": "servers", "cidr": "10.20.0.0/16"}, "192.168.0.0/24"]


@pytest.mark.parametrize(
    ("pools", "size", "reserved", "expected"),
    [
        (["10.0.0.0/8"], 24, [], []),
        (["10.0.0.0/8"], 24, None, []),
        (["10.128.0.0/9", "172.16.0.0/12"], 24, CAMPUS, []),
        (["10.0.0.0/24"], 29, [], []),
        (["10.0.0.0/8"], 24, CAMPUS, ["swarm_default_addr_pool 10.0.0.0/8 overlaps campus range 10.20.0.0/16 (servers)"]),
        (["192.168.0.0/16"], 24, CAMPUS, ["swarm_default_addr_pool 192.168.0.0/16 overlaps campus range 192.168.0.0/24"]),
        (["10.0.0.0/8", "10.10.0.0/16"], 24, [], ["swarm_default_addr_pool 10.0.0.0/8 overlaps swarm_default_addr_pool 10.10.0.0/16"]),
        (["10.0.0.1/8"], 24, [], ["swarm_default_addr_pool 10.0.0.1/8 has host bits set: the network is 10.0.0.0/8"]),
        (["fd00::/48"], 24, [], ["swarm_default_addr_pool fd00::/48 is IPv6: swarm address pools must be IPv4"]),
        (["10.0.0.0"], 24, [], ["swarm_default_addr_pool '10.0.0.0' is not a CIDR network such as 10.0.0.0/8"]),
        ([42], 24, [], ["swarm_default_addr_pool 42 is not a CIDR network such as 10.0.0.0/8"]),
        (["10.0.0.0/26"], 24, [], ["swarm_subnet_size 24 must be between swarm_default_addr_pool 10.0.0.0/26's prefix length 26 and 29"]),
        (["10.0.0.0/8"], 30, [], ["swarm_subnet_size 30 must be between swarm_default_addr_pool 10.0.0.0/8's prefix length 8 and 29"]),
        (["10.0.0.0/8"], "24", [], ["swarm_subnet_size must be an integer prefix length such as 24, got '24'"]),
        (["10.0.0.0/8"], 24, ["nonsense"], ["campus range 'nonsense' is not a CIDR range such as 10.20.0.0/16"]),
        (["10.0.0.0/8"], 24, [{"name": "x", "cidr": "10.0.0.0/33"}], [
            "campus range '10.0.0.0/33' (x) is not a CIDR range: '10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"]),
        (["10.0.0.0/8"], 24, ["fd00::/8"], []),
        (["10.0.0.0/8"], 24, ["10.1.2.3/24"], ["swarm_default_addr_pool 10.0.0.0/8 overlaps campus range 10.1.2.0/24"]),
    ],
)
def test_address_pool_errors(pools: list[Any], size: Any, reserved: Any, expected: list[str]) -> None:
    assert swarm_address_pool_errors(pools, size, reserved) == expected


@pytest.mark.parametrize(("pools", "reserved"), [("10.0.0.0/8", []), (None, []), (["10.0.0.0/8"], "10.20.0.0/16")])
def test_address_pool_errors_bad_input(pools: Any, reserved: Any) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^swarm_address_pool_errors: "):
        swarm_address_pool_errors(pools, 24, reserved)


KNOWN = ["swarm_advertise_addr", "swarm_managers", "docker_version", "networks_overlay"]
PREFIXES = ["swarm_", "docker_", "networks_"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], []),
        (KNOWN, []),
        (["ansible_host", "inventory_hostname", "swarmy"], []),
        (["__swarm_join_result", "__docker_whatever"], []),
        (["swarm_advertse_addr"], [{"name": "swarm_advertse_addr", "suggestion": "swarm_advertise_addr"}]),
        (
            ["swarm_zzz", "docker_verison", "swarm_advertise_addr", "docker_verison"],
            [
                {"name": "docker_verison", "suggestion": "docker_version"},
                {"name": "swarm_zzz", "suggestion": ""},
            ],
        ),
        (("networks_overlays",), [{"name": "networks_overlays", "suggestion": "networks_overlay"}]),
    ],
)
def test_unknown_vars(names: list[str], expected: list[dict[str, str]]) -> None:
    assert swarm_unknown_vars(names, KNOWN, PREFIXES) == expected


def test_unknown_vars_without_prefixes_reports_nothing() -> None:
    assert swarm_unknown_vars(["swarm_x"], KNOWN, []) == []


@pytest.mark.parametrize(
    ("names", "known", "prefixes"),
    [("swarm_x", KNOWN, PREFIXES), (["swarm_x"], None, PREFIXES), (["swarm_x"], KNOWN, "swarm_"), ({"a": 1}, KNOWN, PREFIXES)],
)
def test_unknown_vars_bad_input(names: Any, known: Any, prefixes: Any) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^swarm_unknown_vars: "):
        swarm_unknown_vars(names, known, prefixes)


def network(**overrides: Any) -> dict[str, Any]:
    net: dict[str, Any] = {
        "Name": "proxy",
        "Driver": "overlay",
        "Attachable": True,
        "Internal": False,
        "Labels": {"tier": "edge"},
        "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
        "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.10.1.0/24", "Gateway": "10.10.1.1"}]},
    }
    net.update(overrides)
    return net


MATCHING = {"name": "proxy", "subnet": "10.10.1.0/24", "gateway": "10.10.1.1", "labels": {"tier": "edge"}}


@pytest.mark.parametrize(
    ("existing", "desired", "expected"),
    [
        (network(), MATCHING, []),
        (network(), {"name": "proxy", "labels": {"tier": "edge"}}, []),  # subnet, gateway, mtu not compared
        (network(), {**MATCHING, "subnet": "10.10.2.0/24"}, ["subnet is 10.10.1.0/24, wanted 10.10.2.0/24"]),
        (network(), {**MATCHING, "gateway": "10.10.1.254"}, ["gateway is 10.10.1.1, wanted 10.10.1.254"]),
        (network(IPAM={"Config": None}), {**MATCHING, "gateway": None}, ["subnet is unset, wanted 10.10.1.0/24"]),
        (network(Attachable=False), MATCHING, ["attachable is false, wanted true"]),
        (network(), {**MATCHING, "attachable": False}, ["attachable is true, wanted false"]),
        (network(), {**MATCHING, "encrypted": True}, ["encrypted is false, wanted true"]),
        (network(Options={"encrypted": ""}), MATCHING, ["encrypted is true, wanted false"]),
        (network(Options={"encrypted": ""}), {**MATCHING, "encrypted": True}, []),
        (network(Internal=True), MATCHING, ["internal is true, wanted false"]),
        # No option means Docker's default underlay MTU, 1500.
        (network(), {**MATCHING, "mtu": 1400}, ["mtu is 1500, wanted 1400"]),
        (network(), {**MATCHING, "mtu": 1500}, []),
        (network(Options={"com.docker.network.driver.mtu": "1400"}), {**MATCHING, "mtu": 1400}, []),
        (network(Options={"com.docker.network.driver.mtu": "1500"}), {**MATCHING, "mtu": "1400"},
         ["mtu is 1500, wanted 1400"]),
        (network(Labels=None), {**MATCHING, "labels": {}}, []),
        (network(Labels={"n": "1"}), {**MATCHING, "labels": {"n": 1}}, []),
        (network(), {**MATCHING, "labels": {}}, ["labels are tier=edge, wanted none"]),
        (network(Labels={"b": "2", "a": "1"}), {**MATCHING, "labels": {"a": "x"}}, ["labels are a=1, b=2, wanted a=x"]),
        (network(Driver="bridge"), MATCHING, ["driver is bridge, wanted overlay"]),
        (
            network(Driver="bridge", Attachable=False, Internal=True),
            {**MATCHING, "subnet": "10.10.2.0/24", "encrypted": True},
            [
                "driver is bridge, wanted overlay",
                "subnet is 10.10.1.0/24, wanted 10.10.2.0/24",
                "attachable is false, wanted true",
                "encrypted is false, wanted true",
                "internal is true, wanted false",
            ],
        ),
    ],
)
def test_network_diff(existing: dict[str, Any], desired: dict[str, Any], expected: list[str]) -> None:
    assert swarm_network_diff(existing, desired) == expected


@pytest.mark.parametrize(
    ("existing", "desired"),
    [
        (None, MATCHING),
        (network(), None),
        (network(), {"subnet": "10.10.1.0/24"}),
        (network(), {**MATCHING, "encrypted": "yes"}),
        (network(), {**MATCHING, "mtu": "big"}),
        (network(), {**MATCHING, "mtu": True}),
        (network(), {**MATCHING, "labels": ["tier=edge"]}),
    ],
)
def test_network_diff_bad_input(existing: Any, desired: Any) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^swarm_network_diff: "):
        swarm_network_diff(existing, desired)


@pytest.mark.parametrize(("given", "expected"), [
    ("campus-w2", ["campus-w2"]),
    (" campus-w2, campus-m3 ,campus-w2,", ["campus-w2", "campus-m3"]),
    (["campus-m3", "campus-w1"], ["campus-m3", "campus-w1"]),
])
def test_host_list(given: Any, expected: list[str]) -> None:
    assert FilterModule().filters()["swarm_host_list"](given) == expected


@pytest.mark.parametrize(("given", "message"), [
    ("", "swarm_host_list: nodes names no host: say which, e.g. -e nodes=campus-w2,campus-m3"),
    (" , ", "swarm_host_list: nodes names no host"),
    ([1, 2], "swarm_host_list: nodes must be host names, as a list or comma-separated, got [1, 2]"),
    ({"a": 1}, "swarm_host_list: nodes must be host names"),
])
def test_host_list_bad_input(given: Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError) as exc:
        FilterModule().filters()["swarm_host_list"](given)
    assert str(exc.value).startswith(message)
