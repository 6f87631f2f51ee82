# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The probing side of the port probes: mode ``probe``.

Private to campus.swarm.swarm_port_probe (see :mod:`._port_probe`).
:func:`probe_targets` probes every target at once, one thread each, with
:class:`Prober`: TCP connect plus a line exchange, or UDP datagrams every
0.2 s. Runs on the managed host: Python 3.8+, standard library only.
"""

from __future__ import annotations

import errno
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.campus.swarm.plugins.module_utils._port_probe import (
    MAX_MESSAGE,
    PROBE_TIMEOUT,
    Entries,
    ProbeError,
    Target,
    check_run_id,
    check_timeout,
    check_token,
    parse_answer,
    probe_message,
    targets,
    unbracket,
)

RETRY_INTERVAL = 0.2  # between refused TCP connects and between UDP datagrams
ANSWER_WAIT = 0.5  # a TCP prober's least wait for the answer once connected
MAX_WORKERS = 256  # threads for one probe call; more targets than this take longer than timeout
BLOCKED = ("refused", "timeout", "error")

REFUSED_TCP = "connection refused"
REFUSED_UDP = "port unreachable (ICMP)"
HOST_UNREACHABLE = "host unreachable (an ICMP reject such as host-prohibited from a firewall, or no host at that address)"


def resolve(address: str, port: int, socktype: int) -> Tuple[int, Any]:
    """(family, sockaddr) of ``address``: an IPv4 or IPv6 address (brackets allowed) or a name."""
    host = unbracket(address)
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socktype)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ProbeError(f"cannot resolve {address!r}: {reason}") from exc
    if not infos:
        raise ProbeError(f"cannot resolve {address!r}: no address")
    return infos[0][0], infos[0][4]


def _icmp_refusal(exc: OSError) -> str:
    """What an ICMP answer to a UDP probe means (a connected socket reports it on send or receive), or ""."""
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED_UDP
    return HOST_UNREACHABLE if exc.errno == errno.EHOSTUNREACH else ""


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}"


class Prober:
    """Probes one target at a time (call it from several threads for many)."""

    def __init__(self, run_id: str, source: str, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, retry: float = RETRY_INTERVAL) -> None:
        self.run_id = run_id
        self.source = source
        self.clock = clock
        self.sleep = sleep
        self.retry = retry
        self.message = probe_message(run_id, source)

    def probe(self, target: Target, timeout: float) -> Dict[str, Any]:
        start = self.clock()
        if target.proto == "tcp":
            status, detail = self.tcp(target, start + timeout, timeout)
        else:
            status, detail = self.udp(target, start + timeout, timeout)
        return {"name": target.name, "address": target.address, "port": target.port, "proto": target.proto,
                "status": status, "detail": detail, "seconds": round(self.clock() - start, 3)}

    def _pause(self, deadline: float) -> None:
        self.sleep(max(min(self.retry, deadline - self.clock()), 0.0))

    def tcp(self, target: Target, deadline: float, timeout: float) -> Tuple[str, str]:
        try:
            family, sockaddr = resolve(target.address, target.port, socket.SOCK_STREAM)
        except ProbeError as exc:
            return "error", exc.msg
        refused = ""
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                return ("refused", refused) if refused else ("timeout", f"no answer within {_seconds(timeout)} s")
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(remaining)
                try:
                    sock.connect(sockaddr)
                except socket.timeout:  # noqa: UP041 - not TimeoutError before Python 3.10, and hosts run 3.8
                    continue  # the deadline has passed: answered at the top
                except ConnectionRefusedError:
                    refused = REFUSED_TCP  # perhaps the far listener is not up yet: try again
                    self._pause(deadline)
                    continue
                except OSError as exc:
                    if exc.errno == errno.EHOSTUNREACH:
                        refused = HOST_UNREACHABLE
                        self._pause(deadline)
                        continue
                    return "error", f"cannot connect: {exc.strerror or exc}"
                if target.held:
                    return "open", "connected; the port is held on the target (the Docker engine listens there)"
                return self._exchange(sock, deadline)
            finally:
                sock.close()

    def _exchange(self, sock: socket.socket, deadline: float) -> Tuple[str, str]:
        wait = max(deadline - self.clock(), ANSWER_WAIT)
        sock.settimeout(wait)
        data = b""
        try:
            sock.sendall(self.message)
            while b"\n" not in data and len(data) < MAX_MESSAGE:
                chunk = sock.recv(MAX_MESSAGE)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:  # noqa: UP041 - not TimeoutError before Python 3.10, and hosts run 3.8
            return "error", (f"connected, but no answer to the probe within {_seconds(wait)} s "
                             "(another program listens on the port?)")
        except ConnectionResetError:
            data = b""
        except OSError as exc:
            return "error", f"connected, but the probe exchange failed: {exc.strerror or exc}"
        hostname = parse_answer(data, self.run_id)
        if hostname is not None:
            return "open", f"answered by {hostname}"
        if not data:
            return "error", ("connected, but closed without an answer "
                             "(a listener of another run_id, or another program listens on the port?)")
        return "error", f"connected, but the answer is not from this run's listener: {data[:80]!r}"

    def udp(self, target: Target, deadline: float, timeout: float) -> Tuple[str, str]:
        if target.held:
            return "held", ("not probed: the port is held on the target (by the Docker engine or the kernel's "
                            "VXLAN socket), which cannot answer a probe")
        try:
            family, sockaddr = resolve(target.address, target.port, socket.SOCK_DGRAM)
        except ProbeError as exc:
            return "error", exc.msg
        refused = ""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            try:
                sock.connect(sockaddr)  # a connected UDP socket reports ICMP port unreachable as ECONNREFUSED
            except OSError as exc:
                return "error", f"cannot send: {exc.strerror or exc}"
            next_send = self.clock()
            while True:
                now = self.clock()
                if now >= deadline:
                    break
                if now >= next_send:
                    next_send = now + self.retry
                    try:
                        sock.send(self.message.rstrip(b"\n"))
                    except OSError as exc:
                        refused = _icmp_refusal(exc)
                        if refused:
                            continue
                        return "error", f"cannot send: {exc.strerror or exc}"
                sock.settimeout(max(min(next_send, deadline) - self.clock(), 0.001))
                try:
                    data = sock.recv(MAX_MESSAGE)
                except socket.timeout:  # noqa: UP041 - not TimeoutError before Python 3.10, and hosts run 3.8
                    continue
                except OSError as exc:
                    refused = _icmp_refusal(exc)
                    if refused:
                        continue
                    return "error", f"cannot receive: {exc.strerror or exc}"
                hostname = parse_answer(data, self.run_id)
                if hostname is not None:
                    return "open", f"answered by {hostname}"
        finally:
            sock.close()
        if refused:
            return "refused", refused
        return "timeout", f"no answer within {_seconds(timeout)} s"


def probe_targets(run_id: str, source: Optional[str], entries: Optional[Entries],
                  timeout: float = PROBE_TIMEOUT, prober: Optional[Prober] = None) -> Dict[str, Any]:
    """Probe every target at once; return ``source``, ``results`` (in target order) and ``blocked``."""
    run_id = check_run_id(run_id)
    source = check_token("source", source)
    wanted = targets(entries)
    seconds = check_timeout(timeout)
    prober = prober or Prober(run_id, source)
    results: List[Dict[str, Any]] = []
    if wanted:
        with ThreadPoolExecutor(max_workers=min(len(wanted), MAX_WORKERS)) as pool:
            results = list(pool.map(lambda target: prober.probe(target, seconds), wanted))
    return {"source": source, "results": results, "blocked": [r for r in results if r["status"] in BLOCKED]}
