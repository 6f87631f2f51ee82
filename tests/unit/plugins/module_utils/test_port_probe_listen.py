# SPDX-License-Identifier: GPL-3.0-or-later
"""The listening side (binding, the server, state files, listen and collect) against real sockets on 127.0.0.1 and ::1."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.campus.swarm.plugins.module_utils import _port_probe_listen as pl
from ansible_collections.campus.swarm.plugins.module_utils._port_probe import ProbeError, Target
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_listen import ProbeServer, StateFiles
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_probe import probe_targets
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_port_probe import (
    RUN,
    free_port,
    gone,
    hold,
    needs_ipv6,
    opened_sockets,
    probe,
    serve,
    wait_for,
)


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    yield from opened_sockets()


# --- binding --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("proto", ["tcp", "udp"])
@pytest.mark.parametrize("bind_address", ["", "127.0.0.1", pytest.param("::1", marks=needs_ipv6),
                                          pytest.param("[::1]", marks=needs_ipv6)])
def test_open_listeners_free_port(sockets: list[socket.socket], proto: str, bind_address: str) -> None:
    port = free_port()
    listeners, held = pl.open_listeners([(port, proto)], bind_address)
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
    listeners, held = pl.open_listeners([(port, proto), (other, "udp")], bind_address)
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
        pl.open_listeners([(1, "udp"), (2, "tcp")], "10.0.0.9", bind)
    assert [sock.fileno() for sock in opened] == [-1]


def test_bind_address_unresolvable() -> None:
    with pytest.raises(ProbeError, match=r"bind_address 'no-such-host\.invalid' cannot be resolved"):
        pl.bind_socket("no-such-host.invalid", 1, "udp")


# --- the server -----------------------------------------------------------------------------------------------

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
    listeners, held = pl.open_listeners([(port, "tcp"), (port, "udp")], "")
    sockets.extend(listeners.values())
    assert held == []
    assert running.server.result("terminated")["expected"] == [{"source": "near", "port": port, "proto": "tcp"}]


def test_server_with_nothing_expected_ends_after_linger(sockets: list[socket.socket]) -> None:
    running = serve(sockets, [(free_port(), "udp")], [])
    assert running.join(1) == "complete"


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
    state.write_pid({"pid": os.getpid(), "start": pl.process_start(os.getpid())})
    with pytest.raises(ProbeError, match=rf"still running \(pid {os.getpid()}\)"):
        state.prepare()


@pytest.mark.parametrize(("info", "alive"), [
    ({"pid": os.getpid()}, True),
    ({"pid": os.getpid(), "start": pl.process_start(os.getpid())}, True),
    ({"pid": os.getpid(), "start": "1"}, False),  # the pid now belongs to another process
    ({"pid": 0}, False),
    ({"pid": "12"}, False),
    ({}, False),
])
def test_listener_alive(info: dict[str, Any], alive: bool) -> None:
    assert pl.listener_alive(info) is alive


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_collect_without_state(tmp_path: Path) -> None:
    assert pl.collect(RUN, 1, str(tmp_path / "none")) == {"received": [], "missing": [], "timed_out": False,
                                                          "ended": "none"}


def test_collect_reads_result_and_removes_state(tmp_path: Path) -> None:
    state = StateFiles(str(tmp_path), RUN)
    expected = [{"source": "w1", "port": 7946, "proto": "udp"}, {"source": "w2", "port": 7946, "proto": "udp"}]
    state.write_pid({"pid": 999999999, "expected": expected})
    state.write_result({"reason": "deadline", "expected": expected,
                        "received": [{"source": "w1", "port": 7946, "proto": "udp", "address": "10.0.0.21"}]})
    out = pl.collect(RUN, 1, str(tmp_path))
    assert out == {"received": [{"source": "w1", "port": 7946, "proto": "udp", "address": "10.0.0.21"}],
                   "missing": [{"source": "w2", "port": 7946, "proto": "udp"}], "timed_out": True, "ended": "deadline"}
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("writes_on_term", "ended"), [(True, "terminated"), (False, "lost")])
def test_collect_stops_a_listener_still_running(tmp_path: Path, writes_on_term: bool, ended: str) -> None:
    state = StateFiles(str(tmp_path), RUN)
    expected = [{"source": "w1", "port": 7946, "proto": "tcp"}]
    state.write_pid({"pid": os.getpid(), "start": pl.process_start(os.getpid()), "expected": expected})
    fake = FakeTime()
    kills: list[tuple[int, int]] = []

    def kill(pid: int, sig: int) -> None:
        kills.append((pid, sig))
        if writes_on_term:
            state.write_result({"reason": "terminated", "expected": expected, "received": []})

    out = pl.collect(RUN, 3, str(tmp_path), clock=fake.clock, sleep=fake.sleep, kill=kill)
    assert kills == [(os.getpid(), signal.SIGTERM)]
    assert out["ended"] == ended
    assert out["timed_out"] is True
    assert out["missing"] == expected
    assert ("warnings" in out) is (not writes_on_term)
    assert 3 <= fake.now <= 3 + pl.TERM_WAIT + 0.2
    assert os.listdir(tmp_path) == []


def test_collect_does_not_kill_a_dead_listener(tmp_path: Path) -> None:
    StateFiles(str(tmp_path), RUN).write_pid({"pid": os.getpid(), "start": "1", "expected": []})
    fake = FakeTime()

    def kill(pid: int, sig: int) -> None:
        raise AssertionError("must not signal a process that is not the listener")

    out = pl.collect(RUN, 20, str(tmp_path), clock=fake.clock, sleep=fake.sleep, kill=kill)
    assert out["ended"] == "lost"
    assert fake.now < 1  # no wait for a result that cannot come


# --- the whole thing, detached for real -----------------------------------------------------------------------

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
    out = pl.listen(RUN, ports, expect, 10, "", state_dir)
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
    probed = probe_targets(RUN, "near", targets, 2)
    assert [r["status"] for r in probed["results"]] == ["open", "open", "held"]
    assert wait_for(lambda: gone(pid)), "the listener did not exit once every expected probe came"
    collected = pl.collect(RUN, 2, state_dir)
    assert collected["missing"] == []
    assert collected["ended"] == "complete"
    assert collected["timed_out"] is False
    assert sorted((r["port"], r["proto"]) for r in collected["received"]) == sorted([(tcp, "tcp"), (udp, "udp")])
    assert os.listdir(state_dir) == []


def test_listen_then_collect_stops_the_listener(tmp_path: Path) -> None:
    state_dir = str(tmp_path)
    port = free_port()
    out = pl.listen(RUN, [{"port": port, "proto": "udp"}], [{"source": "near", "port": port, "proto": "udp"}],
                    30, "127.0.0.1", state_dir)
    started = time.monotonic()
    collected = pl.collect(RUN, 0.3, state_dir)
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
        pl.listen(RUN, [{"port": 1, "proto": "tcp"}], [{"source": "w1", "port": 2, "proto": "tcp"}], 5, "",
                  str(tmp_path), spawn=spawn)


def test_run_server_writes_result_after_closing(tmp_path: Path, sockets: list[socket.socket]) -> None:
    port = free_port()
    listeners = pl.open_listeners([(port, "udp")], "127.0.0.1")[0]
    server = ProbeServer(RUN, listeners, [("near", port, "udp")], time.monotonic() + 0.2, hostname="far")
    state = StateFiles(str(tmp_path), RUN)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        assert pl.run_server(server, state) == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    result = json.loads(Path(state.result_path).read_text())
    assert result["reason"] == "deadline"
    assert result["timed_out"] is True
    assert result["received"] == []
    assert listeners[(port, "udp")].fileno() == -1
