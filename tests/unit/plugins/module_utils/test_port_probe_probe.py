# SPDX-License-Identifier: GPL-3.0-or-later
"""The prober (mode probe) against real sockets and a real listener on 127.0.0.1 and ::1, with short timeouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._port_probe import ProbeError, Target, unbracket
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_listen import open_listeners
from ansible_collections.campus.swarm.plugins.module_utils._port_probe_probe import probe_targets
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_port_probe import (
    RUN,
    SHORT,
    Running,
    free_port,
    hold,
    needs_ipv6,
    opened_sockets,
    probe,
    serve,
)


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    yield from opened_sockets()


# --- one target -----------------------------------------------------------------------------------------------

LOOPBACKS = ["127.0.0.1", pytest.param("::1", marks=needs_ipv6), pytest.param("[::1]", marks=needs_ipv6)]


@pytest.mark.parametrize("address", LOOPBACKS)
@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_probe_open_and_recorded(sockets: list[socket.socket], address: str, proto: str) -> None:
    port = free_port()
    running = serve(sockets, [(port, proto)], [("near", port, proto)])
    result = probe(Target("far", unbracket(address), port, proto))
    assert result["status"] == "open", result
    assert result["detail"] == "answered by far"
    assert result["seconds"] < 1
    assert running.join() == "complete"
    assert list(running.server.received) == [("near", port, proto)]
    assert running.server.received[("near", port, proto)] in ("127.0.0.1", "::1")
    # The server closed its sockets: the port can be bound again at once.
    listeners, held = open_listeners([(port, proto)], "")
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


# --- every target at once -------------------------------------------------------------------------------------

def test_probe_targets_runs_concurrently(sockets: list[socket.socket]) -> None:
    silent = hold(sockets, "udp")
    entries = [{"name": f"t{i}", "address": "127.0.0.1", "port": silent, "proto": "udp"} for i in range(6)]
    entries.append({"name": "held", "address": "127.0.0.1", "port": silent, "proto": "udp", "held": True})
    started = time.monotonic()
    out = probe_targets(RUN, "near", entries, SHORT)
    assert time.monotonic() - started < 2 * SHORT
    assert out["source"] == "near"
    assert [r["name"] for r in out["results"]] == [f"t{i}" for i in range(6)] + ["held"]
    assert [r["status"] for r in out["blocked"]] == ["timeout"] * 6
    assert out["results"][-1]["status"] == "held"


@pytest.mark.parametrize(("run_id", "source", "match"), [
    ("bad id", "near", "run_id must be"),
    (RUN, "near side", "source must be a non-empty string without spaces"),
    (RUN, "", "source must be a non-empty string"),
])
def test_probe_targets_bad_input(run_id: str, source: str, match: str) -> None:
    with pytest.raises(ProbeError, match=match):
        probe_targets(run_id, source, [], SHORT)


def test_probe_targets_empty() -> None:
    assert probe_targets(RUN, "near", [], SHORT) == {"source": "near", "results": [], "blocked": []}
