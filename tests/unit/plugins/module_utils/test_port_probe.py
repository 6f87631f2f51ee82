# SPDX-License-Identifier: GPL-3.0-or-later
"""The port probe's input checks and wire format, and the socket helpers its listener and prober tests share.

Those tests (test_port_probe_listen.py, test_port_probe_probe.py) run against real sockets on 127.0.0.1 and ::1,
with short timeouts. What the module's argument spec checks (types, choices, required options) is tested through
the module (tests/unit/plugins/modules/test_swarm_port_probe.py).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils import _port_probe as pp
from ansible_collections.campus.swarm.plugins.module_utils._port_probe import ProbeError, Target
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_listen import ProbeServer, open_listeners
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_probe import Prober

RUN = "run-1"
SHORT = 0.5

HAS_IPV6 = socket.has_ipv6
try:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as _probe_v6:
        _probe_v6.bind(("::1", 0))
except OSError:
    HAS_IPV6 = False
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback on this machine")


# --- input and wire format ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "run_id", "expected"),
    [
        (b"campus-swarm-probe run-1 w1\n", RUN, "w1"),
        (b"campus-swarm-probe run-1 w1", RUN, "w1"),
        (b"campus-swarm-probe run-1 campus-lab-w1.example.org\r\n", RUN, "campus-lab-w1.example.org"),
        (b"campus-swarm-probe run-2 w1\n", RUN, None),
        (b"campus-swarm-probe run-1\n", RUN, None),
        (b"campus-swarm-probe run-1 w1 extra\n", RUN, None),
        (b"campus-swarm-probe  run-1 w1\n", RUN, None),
        (b"GET / HTTP/1.1\r\n", RUN, None),
        (b"", RUN, None),
        (b"\xff\xfe\x00", RUN, None),
    ],
)
def test_parse_probe(data: bytes, run_id: str, expected: str | None) -> None:
    assert pp.parse_probe(data, run_id) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"campus-swarm-probe run-1 ok m1\n", "m1"),
        (b"campus-swarm-probe run-1 ok m1", "m1"),
        (b"campus-swarm-probe run-2 ok m1\n", None),
        (b"campus-swarm-probe run-1 no m1\n", None),
        (b"campus-swarm-probe run-1 ok\n", None),
        (b"campus-swarm-probe run-1 w1\n", None),
        (b"SSH-2.0-OpenSSH_9.2\r\n", None),
    ],
)
def test_parse_answer(data: bytes, expected: str | None) -> None:
    assert pp.parse_answer(data, RUN) == expected


def test_messages_round_trip() -> None:
    assert pp.probe_message(RUN, "w1") == b"campus-swarm-probe run-1 w1\n"
    assert pp.parse_probe(pp.probe_message(RUN, "w1"), RUN) == "w1"
    assert pp.parse_answer(pp.answer_message(RUN, "m1"), RUN) == "m1"


@pytest.mark.parametrize("run_id", ["a", "run-1", "preflight_20250101.42", "x" * 64])
def test_run_id_good(run_id: str) -> None:
    assert pp.check_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", ["", "-x", ".hidden", "a b", "../etc", "a/b", "x" * 65])
def test_run_id_bad(run_id: str) -> None:
    with pytest.raises(ProbeError, match="run_id must be"):
        pp.check_run_id(run_id)


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ([], []),
        ([{"port": 7946, "proto": "tcp"}, {"port": 7946, "proto": "udp"}], [(7946, "tcp"), (7946, "udp")]),
        ([{"port": 1, "proto": "udp"}, {"port": 65535, "proto": "tcp"}], [(1, "udp"), (65535, "tcp")]),
    ],
)
def test_endpoints_good(ports: list[dict[str, Any]], expected: list[tuple[int, str]]) -> None:
    assert pp.endpoints(ports) == expected


@pytest.mark.parametrize(
    ("ports", "match"),
    [
        ([{"port": 0, "proto": "tcp"}], r"ports\[0\].port must be a port number from 1 to 65535, got 0"),
        ([{"port": 65536, "proto": "tcp"}], "got 65536"),
        ([{"port": True, "proto": "tcp"}], "got True"),  # the argument spec's int lets a boolean through
        ([{"port": 7946, "proto": "tcp"}, {"port": 7946, "proto": "tcp"}], "7946/tcp is given twice"),
    ],
)
def test_endpoints_bad(ports: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(ProbeError, match=match):
        pp.endpoints(ports)


@pytest.mark.parametrize(
    ("expect", "match"),
    [
        ([{"source": "w 1", "port": 7946, "proto": "tcp"}], r"expect\[0\].source must be a non-empty string without spaces"),
        ([{"source": "", "port": 7946, "proto": "tcp"}], r"expect\[0\].source"),
        ([{"source": "w1", "port": 2377, "proto": "tcp"}], "2377/tcp from w1 is not one of the ports to listen on"),
        ([{"source": "w1", "port": 7946, "proto": "udp"}], "7946/udp from w1 is not one of the ports"),
    ],
)
def test_expected_probes_bad(expect: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(ProbeError, match=match):
        pp.expected_probes(expect, [(7946, "tcp")])


def test_expected_probes_drops_duplicates() -> None:
    probe = {"source": "w1", "port": 7946, "proto": "tcp"}
    assert pp.expected_probes([probe, dict(probe)], [(7946, "tcp")]) == [("w1", 7946, "tcp")]


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"name": "m1", "address": "", "port": 1, "proto": "tcp"}, r"targets\[0\].address must be a non-empty string"),
        ({"name": "m 1", "address": "10.0.0.1", "port": 1, "proto": "tcp"}, r"targets\[0\].name"),
        ({"name": "m1", "address": "10.0.0.1", "port": 0, "proto": "tcp"}, r"targets\[0\].port"),
        ({"name": "m1", "address": " ", "port": 1, "proto": "tcp"}, r"targets\[0\].address must be a non-empty string"),
    ],
)
def test_targets_bad(entry: dict[str, Any], match: str) -> None:
    with pytest.raises(ProbeError, match=match):
        pp.targets([entry])


@pytest.mark.parametrize(("address", "expected"), [
    ("[2001:db8::1]", "2001:db8::1"),
    (" 10.0.0.1 ", "10.0.0.1"),
    ("fe80::1%eth0", "fe80::1%eth0"),
    ("m1.example.org", "m1.example.org"),
])
def test_targets_unbracket(address: str, expected: str) -> None:
    assert pp.unbracket(address) == expected
    assert pp.targets([{"name": "m1", "address": address, "port": 1, "proto": "udp"}])[0].address == expected


def test_targets_good() -> None:
    [target] = pp.targets([{"name": "m1", "address": "10.0.0.1", "port": 2377, "proto": "tcp", "held": True}])
    assert (target.name, target.address, target.port, target.proto, target.held) == ("m1", "10.0.0.1", 2377, "tcp", True)
    assert pp.targets([{"name": "m1", "address": "10.0.0.1", "port": 1, "proto": "udp"}])[0].held is False


@pytest.mark.parametrize(("check", "match"), [
    (pp.endpoints, "ports must be a list of {port, proto} dicts, got None"),
    (pp.targets, "targets must be a list of {name, address, port, proto} dicts, got None"),
    (lambda value: pp.check_token("source", value), "source must be a non-empty string without spaces"),
])
def test_null_option_refused(check: Callable[[None], Any], match: str) -> None:
    # The argument spec's required_if takes an explicit null for given.
    with pytest.raises(ProbeError, match=re.escape(match)):
        check(None)


@pytest.mark.parametrize("timeout", [0, -1, -0.5, True])
def test_timeout_bad(timeout: float) -> None:
    with pytest.raises(ProbeError, match="timeout must be a positive number"):
        pp.check_timeout(timeout)


@pytest.mark.parametrize(("timeout", "expected"), [(5, 5.0), (0.3, 0.3)])
def test_timeout_good(timeout: float, expected: float) -> None:
    assert pp.check_timeout(timeout) == expected


# --- helpers for the listener and prober tests ----------------------------------------------------------------

def free_port(proto: str = "tcp") -> int:
    """A port that is free on all loopback addresses for both protocols right now."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET6 if HAS_IPV6 else socket.AF_INET, kind) as check:
                    check.bind(("::" if HAS_IPV6 else "0.0.0.0", port))
        except OSError:
            continue
        return port
    raise AssertionError("no free port found")


def opened_sockets() -> Iterator[list[socket.socket]]:
    """The body of the ``sockets`` fixture of the listener and prober tests: sockets a test opens, closed at the end."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def hold(sockets: list[socket.socket], proto: str, address: str = "127.0.0.1", port: int = 0,
         listen: bool = True, backlog: int = 16) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    sockets.append(sock)
    sock.bind((address, port))
    if proto == "tcp" and listen:
        sock.listen(backlog)
    return int(sock.getsockname()[1])


class Running:
    """A ProbeServer serving in a thread."""

    def __init__(self, server: ProbeServer) -> None:
        self.server = server
        self.reason = ""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.reason = self.server.serve()

    def join(self, timeout: float = 5.0) -> str:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the server did not stop"
        return self.reason


def serve(sockets: list[socket.socket], ports: list[tuple[int, str]], expected: list[tuple[str, int, str]],
          run_id: str = RUN, seconds: float = 5.0, bind_address: str = "") -> Running:
    listeners, held = open_listeners(ports, bind_address)
    assert held == []
    server = ProbeServer(run_id, listeners, expected, time.monotonic() + seconds, hostname="far", linger=0.1,
                         read_timeout=SHORT)
    return Running(server)


def probe(target: Target, timeout: float = SHORT, run_id: str = RUN, source: str = "near") -> dict[str, Any]:
    return Prober(run_id, source).probe(target, timeout)


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def gone(pid: int) -> bool:
    """The process ended: no such process, or a zombie nobody reaped (where PID 1 reaps, as tini in a container
    does, it goes between the two checks)."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (ProcessLookupError, FileNotFoundError):
        return True
