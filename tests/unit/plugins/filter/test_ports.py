# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.ports import FilterModule, swarm_port_matrix, swarm_port_plan

M1 = {"name": "m1", "address": "172.28.20.11", "manager": True}
W1 = {"name": "w1", "address": "172.28.20.21", "manager": False}
W2 = {"name": "w2", "address": "[2001:DB8::22]", "manager": False}


def test_filter_module_exports_every_filter() -> None:
    assert sorted(FilterModule().filters()) == ["swarm_port_matrix", "swarm_port_plan"]


def ports(*specs: str) -> list[dict[str, Any]]:
    return [{"port": int(spec.split("/")[0]), "proto": spec.split("/")[1]} for spec in specs]


def test_plan_three_nodes() -> None:
    plan = swarm_port_plan([W2, M1, W1], 4790)
    assert list(plan) == ["w2", "m1", "w1"]
    assert plan["m1"]["listen"] == ports("2377/tcp", "7946/tcp", "7946/udp", "4790/udp")
    assert plan["w1"]["listen"] == ports("7946/tcp", "7946/udp", "4790/udp")
    assert plan["m1"]["expect"] == [
        {"source": source, **p} for source in ("w1", "w2") for p in ports("2377/tcp", "7946/tcp", "7946/udp", "4790/udp")
    ]
    assert plan["w1"]["expect"] == [
        {"source": source, **p} for source in ("m1", "w2") for p in ports("7946/tcp", "7946/udp", "4790/udp")
    ]
    assert plan["w1"]["targets"] == [
        {"name": "m1", "address": "172.28.20.11", **p, "held": False}
        for p in ports("2377/tcp", "7946/tcp", "7946/udp", "4790/udp")
    ] + [{"name": "w2", "address": "2001:db8::22", **p, "held": False} for p in ports("7946/tcp", "7946/udp", "4790/udp")]
    # Nobody probes the swarm port of a worker, and nobody probes itself.
    assert all(t["port"] != 2377 for t in plan["m1"]["targets"])
    assert all(t["name"] != name for name in plan for t in plan[name]["targets"])


@pytest.mark.parametrize(
    "held",
    [["7946/udp", "4789/udp"], [" 7946 / UDP ", "4789/udp"], [{"port": 7946, "proto": "udp"}, {"port": "4789", "proto": "UDP"}]],
)
def test_plan_held_ports(held: list[Any]) -> None:
    plan = swarm_port_plan([M1, {**W1, "held": held}])
    assert plan["w1"]["expect"] == [{"source": "m1", "port": 7946, "proto": "tcp"}]
    assert [(t["port"], t["proto"], t["held"]) for t in plan["m1"]["targets"]] == [
        (7946, "tcp", False), (7946, "udp", True), (4789, "udp", True)]
    assert all(not t["held"] for t in plan["w1"]["targets"])
    assert len(plan["m1"]["expect"]) == 4


@pytest.mark.parametrize(("data_path_port", "swarm_port", "expected"), [
    (4789, 2377, ["2377/tcp", "7946/tcp", "7946/udp", "4789/udp"]),
    ("4790", "2378", ["2378/tcp", "7946/tcp", "7946/udp", "4790/udp"]),
    (1, 65535, ["65535/tcp", "7946/tcp", "7946/udp", "1/udp"]),
])
def test_plan_ports(data_path_port: Any, swarm_port: Any, expected: list[str]) -> None:
    plan = swarm_port_plan([M1], data_path_port, swarm_port)
    assert plan == {"m1": {"listen": ports(*expected), "expect": [], "targets": []}}


def test_plan_accepts_any_iterable_and_no_nodes() -> None:
    assert swarm_port_plan(iter([M1, W1]))["m1"]["expect"][0]["source"] == "w1"  # type: ignore[arg-type]
    assert swarm_port_plan([]) == {}


@pytest.mark.parametrize(
    ("nodes", "kwargs", "match"),
    [
        ({"m1": M1}, {}, "nodes must be a list"),
        ("m1", {}, "nodes must be a list"),
        (["m1"], {}, "node 0 must be a dict"),
        ([{"address": "10.0.0.1"}], {}, "node 0 needs a name without spaces, got None"),
        ([{**M1, "name": "m 1"}], {}, "node 0 needs a name without spaces, got 'm 1'"),
        ([M1, {**W1, "name": "m1"}], {}, "node name 'm1' is given twice"),
        ([M1, {**W1, "address": "172.28.20.11"}], {}, "address 172.28.20.11 is given for both 'm1' and 'w1'"),
        ([M1, {**W2, "name": "w3", "address": "2001:db8:0::22"}, W2], {}, "address 2001:db8::22 is given for both"),
        ([{**M1, "address": "m1.example.org"}], {}, "node 'm1': address 'm1.example.org' is not an IPv4 or IPv6 address"),
        ([{**M1, "address": "10.0.0.256"}], {}, "is not an IPv4 or IPv6 address"),
        ([{**M1, "address": "[10.0.0.1]"}], {}, r"'\[10.0.0.1\]' does not hold an IPv6 address between the brackets"),
        ([{**M1, "address": ""}], {}, "address must be an IPv4 or IPv6 address, got ''"),
        ([{**M1, "address": None}], {}, "got None"),
        ([{**M1, "manager": "yes"}], {}, "node 'm1': manager must be true or false, got 'yes'"),
        ([{**W1, "held": ["2377/tcp"]}], {}, r"node 'w1': held 2377/tcp is not among the ports the node listens on"),
        ([{**W1, "held": ["7946"]}], {}, "held entry '7946' is not of the form port/proto"),
        ([{**W1, "held": "7946/udp"}], {}, "node 'w1': held must be a list"),
        ([{**W1, "held": [{"port": 7946}]}], {}, "needs proto tcp or udp"),
        ([{**W1, "held": [7946]}], {}, "must be a port/proto string or a {port, proto} dict"),
        ([{**W1, "held": ["70000/udp"]}], {}, "must be a port number from 1 to 65535, got 70000"),
        ([M1], {"data_path_port": 7946}, "data_path_port 7946 must differ from the gossip port 7946"),
        ([M1], {"data_path_port": 2377}, "data_path_port 2377 must differ from the gossip port 7946 and from swarm_port 2377"),
        ([M1], {"data_path_port": 4000, "swarm_port": 4000}, "data_path_port 4000 must differ"),
        ([M1], {"swarm_port": 7946}, "swarm_port 7946 is the gossip port 7946"),
        ([M1], {"data_path_port": 0}, "data_path_port must be a port number from 1 to 65535, got 0"),
        ([M1], {"data_path_port": 65536}, "got 65536"),
        ([M1], {"swarm_port": True}, "swarm_port must be a port number from 1 to 65535, got True"),
        ([M1], {"swarm_port": "twenty"}, "got 'twenty'"),
    ],
)
def test_plan_bad_input(nodes: Any, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^swarm_port_plan: .*" + match):
        swarm_port_plan(nodes, **kwargs)


def result(name: str, address: str, port: int, proto: str, status: str, detail: str = "",
           seconds: float = 0.01) -> dict[str, Any]:
    return {"name": name, "address": address, "port": port, "proto": proto, "status": status, "detail": detail,
            "seconds": seconds}


def probe_run(source: str, *results: dict[str, Any]) -> dict[str, Any]:
    return {"changed": False, "source": source, "results": list(results), "blocked": []}


M1_ADDR, W1_ADDR, W2_ADDR = "172.28.20.11", "172.28.20.21", "172.28.20.22"


def test_matrix() -> None:
    runs = [
        probe_run("campus-mol-w1",
                  result("campus-mol-w2", W2_ADDR, 7946, "tcp", "open"),
                  result("campus-mol-w2", W2_ADDR, 7946, "udp", "timeout", "no answer within 5 s", 5.002),
                  result("campus-mol-w2", W2_ADDR, 4790, "udp", "open"),
                  result("campus-mol-m1", M1_ADDR, 2377, "tcp", "refused", "connection refused", 5.0),
                  result("campus-mol-m1", M1_ADDR, 7946, "tcp", "open"),
                  result("campus-mol-m1", M1_ADDR, 7946, "udp", "held", "not probed"),
                  result("campus-mol-m1", M1_ADDR, 4790, "udp", "open")),
        probe_run("campus-mol-m1",
                  result("campus-mol-w2", W2_ADDR, 7946, "tcp", "error", "cannot resolve 'x': Name or service not known"),
                  result("campus-mol-w1", W1_ADDR, 7946, "tcp", "open")),
        probe_run("campus-mol-w2"),
    ]
    out = swarm_port_matrix(runs)
    assert out["matrix"] == {
        "campus-mol-m1": {"campus-mol-w2": {"7946/tcp": "error"}, "campus-mol-w1": {"7946/tcp": "open"}},
        "campus-mol-w1": {
            "campus-mol-w2": {"7946/tcp": "open", "7946/udp": "timeout", "4790/udp": "open"},
            "campus-mol-m1": {"2377/tcp": "refused", "7946/tcp": "open", "7946/udp": "held", "4790/udp": "open"},
        },
        "campus-mol-w2": {},
    }
    assert out["lines"] == [
        "campus-mol-m1 -> campus-mol-w1 (172.28.20.21): 7946/tcp open",
        "campus-mol-m1 -> campus-mol-w2 (172.28.20.22): 7946/tcp error",
        "campus-mol-w1 -> campus-mol-m1 (172.28.20.11): 2377/tcp refused, 7946/tcp open, 7946/udp held, 4790/udp open",
        "campus-mol-w1 -> campus-mol-w2 (172.28.20.22): 7946/tcp open, 7946/udp timeout, 4790/udp open",
    ]
    assert out["blocked"] == [
        "campus-mol-m1 (172.28.20.11) cannot reach campus-mol-w2 (172.28.20.22) on 7946/tcp: "
        "error: cannot resolve 'x': Name or service not known",
        "campus-mol-w1 (172.28.20.21) cannot reach campus-mol-m1 (172.28.20.11) on 2377/tcp: "
        "refused (a firewall rejects it, or nothing listens)",
        "campus-mol-w1 (172.28.20.21) cannot reach campus-mol-w2 (172.28.20.22) on 7946/udp: "
        "no answer within 5 s (dropped by a firewall on the way or on campus-mol-w2)",
    ]


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        (result("w2", W2_ADDR, 4789, "udp", "refused", "port unreachable (ICMP)"),
         "w1 cannot reach w2 (172.28.20.22) on 4789/udp: refused (a firewall rejects it, or nothing listens)"),
        (result("w2", W2_ADDR, 2377, "tcp", "refused", "host unreachable (an ICMP reject)"),
         "w1 cannot reach w2 (172.28.20.22) on 2377/tcp: refused: host unreachable (an ICMP reject)"),
        (result("w2", W2_ADDR, 7946, "udp", "timeout", "", 0.5),
         "w1 cannot reach w2 (172.28.20.22) on 7946/udp: no answer within 0.5 s (dropped by a firewall on the way or on w2)"),
        ({**result("w2", W2_ADDR, 7946, "udp", "timeout"), "seconds": None},
         "w1 cannot reach w2 (172.28.20.22) on 7946/udp: no answer (dropped by a firewall on the way or on w2)"),
        (result("w2", "", 7946, "tcp", "error"), "w1 cannot reach w2 on 7946/tcp: error: no detail"),
        (result("w2", "2001:db8::22", 7946, "tcp", "open"), ""),
        (result("w2", "2001:db8::22", 7946, "udp", "held"), ""),
    ],
)
def test_matrix_sentences(entry: dict[str, Any], sentence: str) -> None:
    out = swarm_port_matrix([probe_run("w1", entry)])  # nobody probed w1: its address is unknown
    assert out["blocked"] == ([sentence] if sentence else [])
    assert len(out["lines"]) == 1


def test_matrix_empty() -> None:
    assert swarm_port_matrix([]) == {"matrix": {}, "blocked": [], "lines": []}


@pytest.mark.parametrize(
    ("results", "match"),
    [
        ({"source": "w1"}, "results must be a list"),
        ([{"skipped": True, "changed": False}], "item 0 must be a probe result with a source and results"),
        ([{"source": "", "results": []}], "item 0 must be a probe result"),
        ([probe_run("w1"), probe_run("w1")], "source 'w1' is given twice"),
        ([{"source": "w1", "results": "none"}], "the results of 'w1' must be a list"),
        ([{"source": "w1"}], "the results of 'w1' must be a list, got None"),
        ([{"source": "w1", "results": ["m1:7946"]}], r"results of 'w1'\[0\] must be a dict"),
        ([probe_run("w1", {**result("m1", M1_ADDR, 7946, "tcp", "open"), "name": ""})], r"results of 'w1'\[0\].name"),
        ([probe_run("w1", result("m1", M1_ADDR, 7946, "sctp", "open"))], r"\.proto must be tcp or udp, got 'sctp'"),
        ([probe_run("w1", result("m1", M1_ADDR, 0, "tcp", "open"))], r"\.port must be a port number"),
        ([probe_run("w1", result("m1", M1_ADDR, 7946, "tcp", "closed"))],
         r"\.status must be one of open, refused, timeout, held, error, got 'closed'"),
    ],
)
def test_matrix_bad_input(results: Any, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^swarm_port_matrix: .*" + match):
        swarm_port_matrix(results)
