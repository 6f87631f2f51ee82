# SPDX-License-Identifier: GPL-3.0-or-later
"""The port probe logic against real sockets on 127.0.0.1 and ::1, with short timeouts."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils import _port_probe as pp
from ansible_collections.campus.swarm.plugins.module_utils._port_probe import (
    ProbeError,
    Prober,
    ProbeServer,
    StateFiles,
    Target,
)

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


@pytest.mark.parametrize("run_id", ["", "-x", ".hidden", "a b", "../etc", "a/b", "x" * 65, None, 5])
def test_run_id_bad(run_id: Any) -> None:
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
        ("7946/tcp", "ports must be a list"),
        (["7946/tcp"], r"ports\[0\] must be a dict"),
        ([{"port": 0, "proto": "tcp"}], r"ports\[0\].port must be a port number from 1 to 65535, got 0"),
        ([{"port": 65536, "proto": "tcp"}], "got 65536"),
        ([{"port": True, "proto": "tcp"}], "got True"),
        ([{"port": "7946", "proto": "tcp"}], "got '7946'"),
        ([{"port": 7946, "proto": "sctp"}], r"ports\[0\].proto must be tcp or udp, got 'sctp'"),
        ([{"port": 7946, "proto": "tcp"}, {"port": 7946, "proto": "tcp"}], "7946/tcp is given twice"),
    ],
)
def test_endpoints_bad(ports: Any, match: str) -> None:
    with pytest.raises(ProbeError, match=match):
        pp.endpoints(ports)


@pytest.mark.parametrize(
    ("expect", "match"),
    [
        ({"source": "w1"}, "expect must be a list"),
        ([{"source": "w 1", "port": 7946, "proto": "tcp"}], r"expect\[0\].source must be a non-empty string without spaces"),
        ([{"source": "", "port": 7946, "proto": "tcp"}], r"expect\[0\].source"),
        ([{"source": "w1", "port": 2377, "proto": "tcp"}], "2377/tcp from w1 is not one of the ports to listen on"),
        ([{"source": "w1", "port": 7946, "proto": "udp"}], "7946/udp from w1 is not one of the ports"),
    ],
)
def test_expected_probes_bad(expect: Any, match: str) -> None:
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
        ({"name": "m1", "address": "10.0.0.1", "port": 1, "proto": "icmp"}, r"targets\[0\].proto"),
        ({"name": "m1", "address": "10.0.0.1", "port": 1, "proto": "tcp", "held": "yes"}, r"targets\[0\].held"),
        ("m1:2377", r"targets\[0\] must be a dict"),
    ],
)
def test_targets_bad(entry: Any, match: str) -> None:
    with pytest.raises(ProbeError, match=match):
        pp.targets([entry])


@pytest.mark.parametrize(("address", "expected"), [
    ("[2001:db8::1]", "2001:db8::1"),
    (" 10.0.0.1 ", "10.0.0.1"),
    ("fe80::1%eth0", "fe80::1%eth0"),
    ("m1.example.org", "m1.example.org"),
])
def test_targets_unbracket(address: str, expected: str) -> None:
    assert pp.targets([{"name": "m1", "address": address, "port": 1, "proto": "udp"}])[0].address == expected


@pytest.mark.parametrize("timeout", [0, -1, "5", True, None])
def test_timeout_bad(timeout: Any) -> None:
    with pytest.raises(ProbeError, match="timeout must be a positive number"):
        pp.check_timeout(timeout)


# --- binding --------------------------------------------------------------------------------------------------

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


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Sockets a test opens; closed at the end."""
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


@pytest.mark.parametrize("proto", ["tcp", "udp"])
@pytest.mark.parametrize("bind_address", ["", "127.0.0.1", pytest.param("::1", marks=needs_ipv6),
                                          pytest.param("[::1]", marks=needs_ipv6)])
def test_open_listeners_free_port(sockets: list[socket.socket], proto: str, bind_address: str) -> None:
    port = free_port()
    listeners, held = pp.open_listeners([(port, proto)], bind_address)
    sockets.extend(listeners.values())
    assert held == []
    assert list(listeners) == [(port, proto)]
    assert listeners[(port, proto)].getsockname()[1] == port


@pytest.mark.parametrize(
    ("proto", "holder_address", "bind_address"),
    [
        ("tcp", "127.0.0.1", ""),  # the engine on one address, the listener on all: the port is held
        ("udp", "127.0.0.1", ""),
        ("tcp", "0.0.0.0", ""),
        ("udp", "0.0.0.0", ""),
        ("tcp", "127.0.0.1", "127.0.0.1"),
        ("udp", "127.0.0.1", "127.0.0.1"),
        pytest.param("tcp", "::", "", marks=needs_ipv6),
        pytest.param("udp", "::1", "::1", marks=needs_ipv6),
    ],
)
def test_open_listeners_held_port(sockets: list[socket.socket], proto: str, holder_address: str,
                                  bind_address: str) -> None:
    port = hold(sockets, proto, holder_address)
    other = free_port()
    listeners, held = pp.open_listeners([(port, proto), (other, "udp")], bind_address)
    sockets.extend(listeners.values())
    assert held == [(port, proto)]
    assert list(listeners) == [(other, "udp")]


def test_open_listeners_other_error_closes_what_it_opened() -> None:
    opened: list[socket.socket] = []

    def bind(address: str, port: int, proto: str) -> socket.socket:
        if port == 2:
            raise OSError(errno.EACCES, "Permission denied")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        opened.append(sock)
        return sock

    with pytest.raises(ProbeError, match=r"cannot listen on 2/tcp on 10\.0\.0\.9: Permission denied"):
        pp.open_listeners([(1, "udp"), (2, "tcp")], "10.0.0.9", bind)
    assert [sock.fileno() for sock in opened] == [-1]


def test_bind_address_unresolvable() -> None:
    with pytest.raises(ProbeError, match=r"bind_address 'no-such-host\.invalid' cannot be resolved"):
        pp.bind_socket("no-such-host.invalid", 1, "udp")


# --- server and prober against each other ---------------------------------------------------------------------

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
    listeners, held = pp.open_listeners(ports, bind_address)
    assert held == []
    server = ProbeServer(run_id, listeners, expected, time.monotonic() + seconds, hostname="far", linger=0.1,
                         read_timeout=SHORT)
    return Running(server)


def probe(target: Target, timeout: float = SHORT, run_id: str = RUN, source: str = "near") -> dict[str, Any]:
    return Prober(run_id, source).probe(target, timeout)


LOOPBACKS = ["127.0.0.1", pytest.param("::1", marks=needs_ipv6), pytest.param("[::1]", marks=needs_ipv6)]


@pytest.mark.parametrize("address", LOOPBACKS)
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_probe_open_and_recorded(sockets: list[socket.socket], address: str, proto: str) -> None:
    port = free_port()
    running = serve(sockets, [(port, proto)], [("near", port, proto)])
    result = probe(Target("far", pp.targets([{"name": "far", "address": address, "port": 1, "proto": "tcp"}])[0].address,
                          port, proto))
    assert result["status"] == "open", result
    assert result["detail"] == "answered by far"
    assert result["seconds"] < 1
    assert running.join() == "complete"
    assert list(running.server.received) == [("near", port, proto)]
    assert running.server.received[("near", port, proto)] in ("127.0.0.1", "::1")
    # The server closed its sockets: the port can be bound again at once.
    listeners, held = pp.open_listeners([(port, proto)], "")
    sockets.extend(listeners.values())
    assert held == []


@pytest.mark.parametrize(
    ("proto", "status", "detail"),
    [
        ("tcp", "refused", "connection refused"),  # RST: nothing listens
        ("udp", "refused", "port unreachable (ICMP)"),  # ICMP port unreachable: nothing listens
    ],
)
def test_probe_nothing_listens(proto: str, status: str, detail: str) -> None:
    result = probe(Target("far", "127.0.0.1", free_port(), proto))
    assert (result["status"], result["detail"]) == (status, detail)
    assert SHORT <= result["seconds"] < SHORT + 0.5  # tried again until the timeout


def test_probe_udp_dropped(sockets: list[socket.socket]) -> None:
    port = hold(sockets, "udp")  # a socket that reads nothing and answers nothing: like a DROP rule
    result = probe(Target("far", "127.0.0.1", port, "udp"))
    assert (result["status"], result["detail"]) == ("timeout", "no answer within 0.5 s")


def test_probe_tcp_dropped(sockets: list[socket.socket]) -> None:
    port = hold(sockets, "tcp", backlog=0)
    filler = socket.socket()
    sockets.append(filler)
    filler.connect(("127.0.0.1", port))  # the accept queue is full now: the kernel drops further SYNs
    result = probe(Target("far", "127.0.0.1", port, "tcp"))
    assert (result["status"], result["detail"]) == ("timeout", "no answer within 0.5 s")


def test_probe_udp_held_is_not_probed(sockets: list[socket.socket]) -> None:
    port = hold(sockets, "udp")
    result = probe(Target("far", "127.0.0.1", port, "udp", held=True))
    assert result["status"] == "held"
    sockets[0].setblocking(False)
    with pytest.raises(BlockingIOError):
        sockets[0].recv(100)  # nothing was sent


@pytest.mark.parametrize(("held", "status", "detail"), [
    (True, "open", "connected; the port is held on the target"),
    (False, "error", "connected, but no answer to the probe within 0.5 s"),
])
def test_probe_tcp_held_port(sockets: list[socket.socket], held: bool, status: str, detail: str) -> None:
    port = hold(sockets, "tcp")  # listens, never answers: the engine, for a probe
    result = probe(Target("far", "127.0.0.1", port, "tcp", held=held))
    assert result["status"] == status
    assert result["detail"].startswith(detail)


def test_probe_tcp_closed_without_answer(sockets: list[socket.socket]) -> None:
    port = hold(sockets, "tcp")

    def accept_and_close() -> None:
        conn = sockets[0].accept()[0]
        conn.close()

    thread = threading.Thread(target=accept_and_close, daemon=True)
    thread.start()
    result = probe(Target("far", "127.0.0.1", port, "tcp"))
    thread.join(2)
    assert result["status"] == "error"
    assert result["detail"].startswith("connected, but closed without an answer")


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_probe_of_another_run_gets_no_answer(sockets: list[socket.socket], proto: str) -> None:
    port = free_port()
    running = serve(sockets, [(port, proto)], [("near", port, proto)], run_id="run-2", seconds=5)
    result = probe(Target("far", "127.0.0.1", port, proto))
    assert result["status"] == ("error" if proto == "tcp" else "timeout")
    running.server.stop()
    assert running.join() == "terminated"
    assert running.server.received == {}
    assert running.server.result("terminated")["timed_out"] is True


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_probe_waits_for_a_late_listener(sockets: list[socket.socket], proto: str) -> None:
    port = free_port()
    holder: list[Running] = []
    timer = threading.Timer(0.3, lambda: holder.append(serve(sockets, [(port, proto)], [("near", port, proto)])))
    timer.start()
    result = probe(Target("far", "127.0.0.1", port, proto), timeout=2.0)
    timer.join()
    assert result["status"] == "open", result
    assert 0.3 <= result["seconds"] < 1.5
    assert holder[0].join() == "complete"


@pytest.mark.parametrize(("address", "match"), [
    ("no-such-host.invalid", "cannot resolve 'no-such-host.invalid'"),
    ("[not-an-address]", "cannot resolve '[not-an-address]'"),
])
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_probe_unresolvable(address: str, match: str, proto: str) -> None:
    result = probe(Target("far", address, 7946, proto))
    assert result["status"] == "error"
    assert result["detail"].startswith(match)


def test_server_ignores_garbage_and_other_runs(sockets: list[socket.socket]) -> None:
    tcp, udp = free_port(), free_port()
    running = serve(sockets, [(tcp, "tcp"), (udp, "udp")], [("near", tcp, "tcp"), ("near", udp, "udp")], seconds=0.8)
    for data in (b"GET / HTTP/1.0\r\n\r\n", b"campus-swarm-probe run-2 near\n", b"x" * 600):
        with socket.create_connection(("127.0.0.1", tcp), timeout=1) as conn:
            conn.sendall(data)
            with contextlib.suppress(ConnectionResetError):  # closed with bytes unread: reset, no answer
                assert conn.recv(100) == b""  # closed, no answer
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.sendto(b"campus-swarm-probe run-2 near", ("127.0.0.1", udp))
        with pytest.raises(socket.timeout):
            sock.recv(100)
    silent = socket.create_connection(("127.0.0.1", tcp), timeout=1)  # sends nothing: dropped after read_timeout
    sockets.append(silent)
    assert running.join() == "deadline"
    assert running.server.received == {}


def test_server_counts_each_probe_once(sockets: list[socket.socket]) -> None:
    port = free_port()
    running = serve(sockets, [(port, "udp")], [("near", port, "udp"), ("other", port, "udp")], seconds=2.0)
    for _attempt in range(3):
        assert probe(Target("far", "127.0.0.1", port, "udp"))["status"] == "open"
    assert probe(Target("far", "127.0.0.1", port, "udp"), source="other")["status"] == "open"
    assert running.join() == "complete"
    assert running.server.result("complete")["received"] == [
        {"source": "near", "port": port, "proto": "udp", "address": "127.0.0.1"},
        {"source": "other", "port": port, "proto": "udp", "address": "127.0.0.1"},
    ]


def test_server_stop_frees_ports_at_once(sockets: list[socket.socket]) -> None:
    port = free_port()
    running = serve(sockets, [(port, "tcp"), (port, "udp")], [("near", port, "tcp")], seconds=30)
    time.sleep(0.1)
    started = time.monotonic()
    running.server.stop()
    assert running.join() == "terminated"
    assert time.monotonic() - started < 0.5
    listeners, held = pp.open_listeners([(port, "tcp"), (port, "udp")], "")
    sockets.extend(listeners.values())
    assert held == []
    assert running.server.result("terminated")["expected"] == [{"source": "near", "port": port, "proto": "tcp"}]


def test_server_with_nothing_expected_ends_after_linger(sockets: list[socket.socket]) -> None:
    running = serve(sockets, [(free_port(), "udp")], [])
    assert running.join(1) == "complete"


def test_probe_targets_runs_concurrently(sockets: list[socket.socket]) -> None:
    silent = hold(sockets, "udp")
    entries = [{"name": f"t{i}", "address": "127.0.0.1", "port": silent, "proto": "udp"} for i in range(6)]
    entries.append({"name": "held", "address": "127.0.0.1", "port": silent, "proto": "udp", "held": True})
    started = time.monotonic()
    out = pp.probe_targets(RUN, "near", entries, SHORT)
    assert time.monotonic() - started < 2 * SHORT
    assert out["source"] == "near"
    assert [r["name"] for r in out["results"]] == [f"t{i}" for i in range(6)] + ["held"]
    assert [r["status"] for r in out["blocked"]] == ["timeout"] * 6
    assert out["results"][-1]["status"] == "held"


@pytest.mark.parametrize(("run_id", "source", "match"), [
    ("bad id", "near", "run_id must be"),
    (RUN, "near side", "source must be a non-empty string without spaces"),
    (RUN, None, "source must be"),
])
def test_probe_targets_bad_input(run_id: str, source: Any, match: str) -> None:
    with pytest.raises(ProbeError, match=match):
        pp.probe_targets(run_id, source, [], SHORT)


def test_probe_targets_empty() -> None:
    assert pp.probe_targets(RUN, "near", [], SHORT) == {"source": "near", "results": [], "blocked": []}


# --- state files and collect ----------------------------------------------------------------------------------

def test_state_files_modes_and_atomic_write(tmp_path: Path) -> None:
    state = StateFiles(str(tmp_path / "state"), RUN)
    state.prepare()
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    state.write_result({"a": 1})
    assert stat.S_IMODE(Path(state.result_path).stat().st_mode) == 0o600
    assert state.read_result() == {"a": 1}
    assert sorted(os.listdir(tmp_path / "state")) == [f"{RUN}.json"]  # no temporary file left
    state.prepare()  # a new listen of the same run id clears what was left
    assert state.read_result() is None


@pytest.mark.parametrize(("content", "match"), [("{not json", "cannot read"), ("[1, 2]", "does not hold a JSON object")])
def test_state_files_bad_content(tmp_path: Path, content: str, match: str) -> None:
    (tmp_path / f"{RUN}.json").write_text(content)
    with pytest.raises(ProbeError, match=match):
        StateFiles(str(tmp_path), RUN).read_result()


def test_state_dir_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ProbeError, match="cannot prepare state_dir"):
        StateFiles(str(tmp_path / "file"), RUN).prepare()


def test_state_dir_refuses_a_running_listener(tmp_path: Path) -> None:
    state = StateFiles(str(tmp_path), RUN)
    state.write_pid({"pid": os.getpid(), "start": pp.process_start(os.getpid())})
    with pytest.raises(ProbeError, match=rf"still running \(pid {os.getpid()}\)"):
        state.prepare()


@pytest.mark.parametrize(("info", "alive"), [
    ({"pid": os.getpid()}, True),
    ({"pid": os.getpid(), "start": pp.process_start(os.getpid())}, True),
    ({"pid": os.getpid(), "start": "1"}, False),  # the pid now belongs to another process
    ({"pid": 0}, False),
    ({"pid": "12"}, False),
    ({}, False),
])
def test_listener_alive(info: dict[str, Any], alive: bool) -> None:
    assert pp.listener_alive(info) is alive


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_collect_without_state(tmp_path: Path) -> None:
    assert pp.collect(RUN, 1, str(tmp_path / "none")) == {"received": [], "missing": [], "timed_out": False,
                                                          "ended": "none"}


def test_collect_reads_result_and_removes_state(tmp_path: Path) -> None:
    state = StateFiles(str(tmp_path), RUN)
    expected = [{"source": "w1", "port": 7946, "proto": "udp"}, {"source": "w2", "port": 7946, "proto": "udp"}]
    state.write_pid({"pid": 999999999, "expected": expected})
    state.write_result({"reason": "deadline", "expected": expected,
                        "received": [{"source": "w1", "port": 7946, "proto": "udp", "address": "10.0.0.21"}]})
    out = pp.collect(RUN, 1, str(tmp_path))
    assert out == {"received": [{"source": "w1", "port": 7946, "proto": "udp", "address": "10.0.0.21"}],
                   "missing": [{"source": "w2", "port": 7946, "proto": "udp"}], "timed_out": True, "ended": "deadline"}
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("writes_on_term", "ended"), [(True, "terminated"), (False, "lost")])
def test_collect_stops_a_listener_still_running(tmp_path: Path, writes_on_term: bool, ended: str) -> None:
    state = StateFiles(str(tmp_path), RUN)
    expected = [{"source": "w1", "port": 7946, "proto": "tcp"}]
    state.write_pid({"pid": os.getpid(), "start": pp.process_start(os.getpid()), "expected": expected})
    fake = FakeTime()
    kills: list[tuple[int, int]] = []

    def kill(pid: int, sig: int) -> None:
        kills.append((pid, sig))
        if writes_on_term:
            state.write_result({"reason": "terminated", "expected": expected, "received": []})

    out = pp.collect(RUN, 3, str(tmp_path), clock=fake.clock, sleep=fake.sleep, kill=kill)
    assert kills == [(os.getpid(), signal.SIGTERM)]
    assert out["ended"] == ended
    assert out["timed_out"] is True
    assert out["missing"] == expected
    assert ("warnings" in out) is (not writes_on_term)
    assert 3 <= fake.now <= 3 + pp.TERM_WAIT + 0.2
    assert os.listdir(tmp_path) == []


def test_collect_does_not_kill_a_dead_listener(tmp_path: Path) -> None:
    StateFiles(str(tmp_path), RUN).write_pid({"pid": os.getpid(), "start": "1", "expected": []})
    fake = FakeTime()

    def kill(pid: int, sig: int) -> None:
        raise AssertionError("must not signal a process that is not the listener")

    out = pp.collect(RUN, 20, str(tmp_path), clock=fake.clock, sleep=fake.sleep, kill=kill)
    assert out["ended"] == "lost"
    assert fake.now < 1  # no wait for a result that cannot come


# --- the whole thing, detached for real -----------------------------------------------------------------------

def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def open_files(pid: int) -> list[str]:
    """Process ``pid``'s stdin, stdout, stderr, then the kinds of its other descriptors, sorted."""
    fds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue  # closed meanwhile
    return [fds.get(fd, "") for fd in (0, 1, 2)] + sorted(t.split(":")[0] for fd, t in fds.items() if fd > 2)


def test_listen_probe_collect(tmp_path: Path, sockets: list[socket.socket]) -> None:
    state_dir = str(tmp_path / "state")
    tcp, udp, held_port = free_port(), free_port(), hold(sockets, "udp", "0.0.0.0")
    ports = [{"port": tcp, "proto": "tcp"}, {"port": udp, "proto": "udp"}, {"port": held_port, "proto": "udp"}]
    expect = [{"source": "near", **p} for p in ports]
    started = time.monotonic()
    out = pp.listen(RUN, ports, expect, 10, "", state_dir)
    assert time.monotonic() - started < 1  # returned at once, the listener runs on
    pid = out["pid"]
    assert out["held"] == [{"port": held_port, "proto": "udp"}]
    assert out["listening"] == ports[:2]
    assert out["expected"] == expect[:2]  # a probe towards a held port never reaches the listener
    assert not gone(pid)
    assert os.getsid(pid) != os.getsid(0)  # its own session
    # Once the server is up, nothing inherited is left (the test's own held socket, pytest's files):
    # stdio on /dev/null, 2 listeners, a wake-up socket pair and the selector.
    wanted = ["/dev/null"] * 3 + ["anon_inode", "socket", "socket", "socket", "socket"]
    assert wait_for(lambda: open_files(pid) == wanted), open_files(pid)
    stat_fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert stat_fields[4] == "0"  # tty_nr: no controlling terminal
    targets = [{"name": "far", "address": "127.0.0.1", **p, "held": p["port"] == held_port} for p in ports]
    probed = pp.probe_targets(RUN, "near", targets, 2)
    assert [r["status"] for r in probed["results"]] == ["open", "open", "held"]
    assert wait_for(lambda: gone(pid)), "the listener did not exit once every expected probe came"
    collected = pp.collect(RUN, 2, state_dir)
    assert collected["missing"] == []
    assert collected["ended"] == "complete"
    assert collected["timed_out"] is False
    assert sorted((r["port"], r["proto"]) for r in collected["received"]) == sorted([(tcp, "tcp"), (udp, "udp")])
    assert os.listdir(state_dir) == []


def test_listen_then_collect_stops_the_listener(tmp_path: Path) -> None:
    state_dir = str(tmp_path)
    port = free_port()
    out = pp.listen(RUN, [{"port": port, "proto": "udp"}], [{"source": "near", "port": port, "proto": "udp"}],
                    30, "127.0.0.1", state_dir)
    started = time.monotonic()
    collected = pp.collect(RUN, 0.3, state_dir)
    assert time.monotonic() - started < 2
    assert collected["ended"] == "terminated"
    assert collected["missing"] == [{"source": "near", "port": port, "proto": "udp"}]
    assert wait_for(lambda: gone(out["pid"]))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", port))  # freed


def test_listen_bad_input_starts_nothing(tmp_path: Path) -> None:
    def spawn(child: Callable[[], int], keep: list[int]) -> int:
        raise AssertionError("must not start a listener")

    with pytest.raises(ProbeError, match="not one of the ports to listen on"):
        pp.listen(RUN, [{"port": 1, "proto": "tcp"}], [{"source": "w1", "port": 2, "proto": "tcp"}], 5, "",
                  str(tmp_path), spawn=spawn)


def test_run_server_writes_result_after_closing(tmp_path: Path, sockets: list[socket.socket]) -> None:
    port = free_port()
    listeners = pp.open_listeners([(port, "udp")], "127.0.0.1")[0]
    server = ProbeServer(RUN, listeners, [("near", port, "udp")], time.monotonic() + 0.2, hostname="far")
    state = StateFiles(str(tmp_path), RUN)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        assert pp.run_server(server, state) == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    result = json.loads(Path(state.result_path).read_text())
    assert result["reason"] == "deadline"
    assert result["timed_out"] is True
    assert result["received"] == []
    assert listeners[(port, "udp")].fileno() == -1
