# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The listening side of the port probes: modes ``listen`` and ``collect``.

Private to campus.swarm.swarm_port_probe (see :mod:`._port_probe`).

* :func:`listen` binds the ports (a port already in use is *held*, not an
  error), then starts a detached :class:`ProbeServer` (double fork, new
  session, stdio on /dev/null, every other descriptor closed) and returns at
  once. The server answers probes of its run, records who probed, and exits
  when every expected probe has come, at its deadline or on SIGTERM: it
  closes its sockets first, then writes ``<state_dir>/<run_id>.json``.
* :func:`collect` waits for the server's result file, stops a server that is
  still running, and returns what came and what did not.

Runs on the managed host: Python 3.8+, standard library only. Everything the
detached server needs is imported here, before it forks: the module's files
may be gone by the time it runs.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import signal
import socket
import stat
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

from ansible_collections.campus.swarm.plugins.module_utils._port_probe import (
    LISTEN_TIMEOUT,
    MAX_MESSAGE,
    Endpoint,
    Entries,
    Expected,
    ProbeError,
    answer_message,
    check_run_id,
    check_timeout,
    endpoints,
    expected_probes,
    parse_probe,
    unbracket,
)

DEFAULT_STATE_DIR = "/run/campus-swarm-probe"
READ_TIMEOUT = 2.0  # the server's wait for a TCP prober's line
LINGER = 0.5  # the server keeps answering this long after the last expected probe (lost UDP answers)
TERM_WAIT = 5.0  # collect's wait for the result file after SIGTERM


# --- binding ----------------------------------------------------------------------------------------------------

def _socktype(proto: str) -> int:
    return socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM


def _bind_candidates(bind_address: str, port: int, socktype: int) -> List[Tuple[int, Any]]:
    """(family, sockaddr) to try in order; the wildcard is one dual-stack IPv6 socket, else IPv4."""
    if not bind_address.strip():
        wildcard: List[Tuple[int, Any]] = [(socket.AF_INET6, ("::", port, 0, 0))] if socket.has_ipv6 else []
        return [*wildcard, (socket.AF_INET, ("0.0.0.0", port))]
    host = unbracket(bind_address)
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socktype, 0, socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise ProbeError(f"bind_address {bind_address!r} cannot be resolved: {exc}") from exc
    return [(info[0], info[4]) for info in infos[:1]]


def bind_socket(bind_address: str, port: int, proto: str) -> socket.socket:
    """A bound (and for TCP listening) socket; raises OSError, EADDRINUSE when the port is held."""
    socktype = _socktype(proto)
    candidates = _bind_candidates(bind_address, port, socktype)
    last: Optional[OSError] = None
    for family, sockaddr in candidates:
        try:
            sock = socket.socket(family, socktype)
        except OSError as exc:  # no IPv6 in this kernel
            last = exc
            continue
        try:
            if family == socket.AF_INET6 and sockaddr[0] == "::":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            if proto == "tcp":
                # Lets a new run bind while connections of the last one sit in TIME_WAIT; a LISTEN
                # socket still conflicts. Never on UDP: there it would share the port with its holder.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sockaddr)
            if proto == "tcp":
                sock.listen(128)
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) and family == socket.AF_INET6 \
                    and len(candidates) > 1:
                last = exc  # IPv6 disabled: fall back to IPv4
                continue
            raise
        return sock
    raise last if last is not None else OSError(errno.EADDRNOTAVAIL, "no address to bind")


def open_listeners(ports: List[Endpoint], bind_address: str,
                   bind: Callable[[str, int, str], socket.socket] = bind_socket
                   ) -> Tuple[Dict[Endpoint, socket.socket], List[Endpoint]]:
    """Bind every port: (sockets by endpoint, endpoints already in use). Other bind errors raise ProbeError."""
    listeners: Dict[Endpoint, socket.socket] = {}
    held: List[Endpoint] = []
    for port, proto in ports:
        try:
            listeners[(port, proto)] = bind(bind_address, port, proto)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                held.append((port, proto))
                continue
            for sock in listeners.values():
                sock.close()
            where = f" on {bind_address}" if bind_address else ""
            raise ProbeError(f"cannot listen on {port}/{proto}{where}: {exc.strerror or exc}") from exc
    return listeners, held


# --- the server -------------------------------------------------------------------------------------------------

def _safe_hostname() -> str:
    return "".join(ch for ch in socket.gethostname() if not ch.isspace()) or "unknown"


def _peer_address(peer: Any) -> str:
    host = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
    if host.startswith("::ffff:") and "." in host:
        return host[len("::ffff:"):]
    return host


class _Connection:
    __slots__ = ("address", "buffer", "deadline", "endpoint")

    def __init__(self, endpoint: Endpoint, address: str, deadline: float) -> None:
        self.endpoint = endpoint
        self.address = address
        self.deadline = deadline
        self.buffer = b""


class ProbeServer:
    """Answers the probes of one run on already bound sockets and records them.

    :meth:`serve` returns ``complete`` (every expected probe came), ``deadline``
    or ``terminated`` (:meth:`stop`, which a signal handler may call); it has
    closed every socket by then.
    """

    def __init__(self, run_id: str, listeners: Dict[Endpoint, socket.socket], expected: List[Expected],
                 deadline: float, hostname: Optional[str] = None, clock: Callable[[], float] = time.monotonic,
                 linger: float = LINGER, read_timeout: float = READ_TIMEOUT) -> None:
        self.run_id = run_id
        self.listeners = dict(listeners)
        self.expected = list(expected)
        self.deadline = deadline
        self.clock = clock
        self.linger = linger
        self.read_timeout = read_timeout
        hostname = hostname or _safe_hostname()
        self._tcp_answer = answer_message(run_id, hostname)
        self._udp_answer = self._tcp_answer.rstrip(b"\n")
        self.received: Dict[Expected, str] = {}  # -> the address it came from
        self._stopping = False
        self._connections: Dict[socket.socket, _Connection] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        for endpoint, sock in self.listeners.items():
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, endpoint)

    def stop(self) -> None:
        """Ask :meth:`serve` to return; safe from a signal handler or another thread."""
        self._stopping = True
        with contextlib.suppress(OSError):  # buffer full or closed: serve() is waking up or gone
            self._wake_w.send(b"x")

    def complete(self) -> bool:
        return all(probe in self.received for probe in self.expected)

    def serve(self) -> str:
        done_at: Optional[float] = None
        try:
            while True:
                now = self.clock()
                complete = self.complete()
                if self._stopping:
                    return "complete" if complete else "terminated"
                if complete:
                    done_at = min(now + self.linger, self.deadline) if done_at is None else done_at
                    if now >= done_at:
                        return "complete"
                elif now >= self.deadline:
                    return "deadline"
                self._expire(now)
                wake = min([self.deadline, done_at or self.deadline, *(c.deadline for c in self._connections.values())])
                for key, _events in self._selector.select(max(wake - now, 0.0)):
                    self._dispatch(key)
        finally:
            self.close()

    def close(self) -> None:
        """Close every socket, listeners first: the ports are free when this returns."""
        for sock in [*self.listeners.values(), *self._connections]:
            sock.close()
        self._connections.clear()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _dispatch(self, key: selectors.SelectorKey) -> None:
        sock = cast(socket.socket, key.fileobj)
        if sock is self._wake_r:
            with contextlib.suppress(OSError):  # nothing left to read
                self._wake_r.recv(64)
        elif sock in self._connections:
            self._read_line(sock)
        elif key.data[1] == "tcp":
            self._accept(sock, key.data)
        else:
            self._datagram(sock, key.data)

    def _record(self, source: str, endpoint: Endpoint, address: str) -> None:
        self.received.setdefault((source, endpoint[0], endpoint[1]), address)

    def _datagram(self, sock: socket.socket, endpoint: Endpoint) -> None:
        try:
            data, peer = sock.recvfrom(MAX_MESSAGE)
        except OSError:
            return  # spurious wake-up, or an ICMP error from an earlier answer
        source = parse_probe(data, self.run_id)
        if source is None:
            return
        with contextlib.suppress(OSError):  # the prober sends again
            sock.sendto(self._udp_answer, peer)
        self._record(source, endpoint, _peer_address(peer))

    def _accept(self, sock: socket.socket, endpoint: Endpoint) -> None:
        try:
            conn, peer = sock.accept()
        except OSError:
            return  # the prober gave up before we got to it
        conn.setblocking(False)
        self._connections[conn] = _Connection(endpoint, _peer_address(peer), self.clock() + self.read_timeout)
        self._selector.register(conn, selectors.EVENT_READ, endpoint)

    def _drop(self, conn: socket.socket) -> None:
        self._selector.unregister(conn)
        del self._connections[conn]
        conn.close()

    def _read_line(self, conn: socket.socket) -> None:
        state = self._connections[conn]
        try:
            chunk = conn.recv(MAX_MESSAGE)
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn)
            return
        state.buffer += chunk
        if chunk and b"\n" not in state.buffer and len(state.buffer) < MAX_MESSAGE:
            return
        source = parse_probe(state.buffer.split(b"\n", 1)[0], self.run_id) if b"\n" in state.buffer else None
        if source is not None:
            with contextlib.suppress(OSError):  # the prober has gone; it came all the same
                conn.send(self._tcp_answer)  # a few bytes into an empty send buffer
            self._record(source, state.endpoint, state.address)
        self._drop(conn)

    def _expire(self, now: float) -> None:
        for conn in [c for c, state in self._connections.items() if state.deadline <= now]:
            self._drop(conn)

    def result(self, reason: str) -> Dict[str, Any]:
        return {
            "run_id": self.run_id,
            "reason": reason,
            "timed_out": reason != "complete",
            "expected": [_probe_dict(p) for p in self.expected],
            "received": [dict(_probe_dict(p), address=address) for p, address in self.received.items()],
        }


def _probe_dict(probe: Expected) -> Dict[str, Any]:
    return {"source": probe[0], "port": probe[1], "proto": probe[2]}


def _endpoint_dict(endpoint: Endpoint) -> Dict[str, Any]:
    return {"port": endpoint[0], "proto": endpoint[1]}


# --- state files ------------------------------------------------------------------------------------------------

def process_start(pid: int) -> Optional[str]:
    """The start time of process ``pid`` (Linux /proc), to tell it from a later process with its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19].decode() if len(fields) > 19 else None


class StateFiles:
    """``<run_id>.pid`` (written by listen) and ``<run_id>.json`` (written by the server) in ``state_dir``."""

    def __init__(self, state_dir: str, run_id: str) -> None:
        self.state_dir = state_dir
        self.pid_path = os.path.join(state_dir, f"{run_id}.pid")
        self.result_path = os.path.join(state_dir, f"{run_id}.json")

    def prepare(self) -> None:
        """Make the directory (0700, ours) and clear what an earlier run of this id left behind."""
        try:
            os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
            info = os.lstat(self.state_dir)
            if not stat.S_ISDIR(info.st_mode):
                raise ProbeError(f"state_dir {self.state_dir} is not a directory")
            if info.st_uid != os.geteuid():
                raise ProbeError(f"state_dir {self.state_dir} belongs to uid {info.st_uid}, not to this user")
            os.chmod(self.state_dir, 0o700)
        except OSError as exc:
            raise ProbeError(f"cannot prepare state_dir {self.state_dir}: {exc.strerror or exc}") from exc
        old = self.read_pid()
        if old is not None and listener_alive(old):
            raise ProbeError(f"a listener of this run_id is still running (pid {old.get('pid')}): use a new run_id")
        self.remove()

    def _read(self, path: str) -> Optional[Dict[str, Any]]:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ProbeError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ProbeError(f"{path} does not hold a JSON object")
        return data

    def read_pid(self) -> Optional[Dict[str, Any]]:
        return self._read(self.pid_path)

    def read_result(self) -> Optional[Dict[str, Any]]:
        return self._read(self.result_path)

    def _write(self, path: str, data: Dict[str, Any]) -> None:
        """Atomically, mode 0600: a temporary file in the same directory, then rename."""
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):  # already gone
                os.unlink(tmp)
            raise

    def write_pid(self, data: Dict[str, Any]) -> None:
        self._write(self.pid_path, data)

    def write_result(self, data: Dict[str, Any]) -> None:
        self._write(self.result_path, data)

    def remove(self) -> None:
        for path in (self.result_path, self.pid_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def listener_alive(info: Dict[str, Any]) -> bool:
    """Whether the listener described by a pid file still runs (and is not another process with its pid)."""
    pid = info.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not ours
    start = info.get("start")
    return start is None or process_start(pid) in (None, start)


# --- detaching --------------------------------------------------------------------------------------------------

def _open_fds() -> List[int]:
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return [int(name) for name in os.listdir(folder) if name.isdigit()]
        except OSError:
            continue
    return list(range(3, min(os.sysconf("SC_OPEN_MAX"), 65536)))


def _detach_descriptors(keep: List[int]) -> None:
    """stdin, stdout and stderr on /dev/null; every other descriptor but ``keep`` closed."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for fd in _open_fds():
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own descriptor, already closed
                os.close(fd)


def spawn_detached(child: Callable[[], int], keep_fds: List[int]) -> int:
    """Run ``child`` in a detached grandchild (double fork, setsid); return its pid.

    The grandchild has no controlling terminal and holds none of the caller's
    descriptors but ``keep_fds``: neither an SSH channel nor sudo's pty waits
    for it. It never returns into the caller's code.
    """
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    first = os.fork()
    if first == 0:  # first child: new session, fork again, report the grandchild's pid
        code = 1
        try:
            os.close(read_fd)
            os.setsid()
            second = os.fork()
            if second == 0:  # grandchild: not a session leader, so it can never get a terminal
                os.close(write_fd)
                os.chdir("/")
                os.umask(0o077)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                _detach_descriptors(keep_fds)
                status = 1
                try:
                    status = child()
                finally:
                    os._exit(status)
            os.write(write_fd, str(second).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    data = b""
    while True:
        chunk = os.read(read_fd, 64)
        if not chunk:
            break
        data += chunk
    os.close(read_fd)
    os.waitpid(first, 0)
    if not data.isdigit():
        raise ProbeError("could not start the detached listener")
    return int(data)


def run_server(server: ProbeServer, state: StateFiles) -> int:
    """The detached process: serve, then (sockets closed) write the result file."""
    def on_signal(_signum: int, _frame: Any) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reason = server.serve()
    result = server.result(reason)
    result["hostname"] = _safe_hostname()
    result["pid"] = os.getpid()
    result["ended"] = time.time()
    try:
        state.write_result(result)
    except OSError:
        return 1
    return 0


# --- the two modes ----------------------------------------------------------------------------------------------

def listen(run_id: str, ports: Optional[Entries], expect: Entries, timeout: float = LISTEN_TIMEOUT,
           bind_address: str = "", state_dir: str = DEFAULT_STATE_DIR, hostname: Optional[str] = None,
           spawn: Callable[[Callable[[], int], List[int]], int] = spawn_detached) -> Dict[str, Any]:
    """Bind ``ports``, start the detached server, return ``listening``, ``held``, ``expected`` and ``pid``."""
    run_id = check_run_id(run_id)
    wanted = endpoints(ports)
    probes = expected_probes(expect, wanted)
    seconds = check_timeout(timeout)
    state = StateFiles(state_dir, run_id)
    state.prepare()
    listeners, held = open_listeners(wanted, bind_address)
    # Probes towards a held port reach its holder (the engine), never this server: do not wait for them.
    expected = [p for p in probes if (p[1], p[2]) in listeners]
    started = time.time()

    def child() -> int:
        server = ProbeServer(run_id, listeners, expected, time.monotonic() + seconds, hostname)
        return run_server(server, state)

    try:
        pid = spawn(child, [sock.fileno() for sock in listeners.values()])
    except OSError as exc:
        raise ProbeError(f"cannot start the detached listener: {exc.strerror or exc}") from exc
    finally:
        for sock in listeners.values():
            sock.close()  # the server has its own copies
    try:
        state.write_pid({"pid": pid, "start": process_start(pid), "started": started, "timeout": seconds,
                         "expected": [_probe_dict(p) for p in expected]})
    except OSError as exc:
        os.kill(pid, signal.SIGTERM)
        raise ProbeError(f"cannot write the listener's state in {state_dir}: {exc.strerror or exc}") from exc
    return {
        "listening": [_endpoint_dict(e) for e in wanted if e in listeners],
        "held": [_endpoint_dict(e) for e in held],
        "expected": [_probe_dict(p) for p in expected],
        "pid": pid,
    }


def collect(run_id: str, timeout: float = LISTEN_TIMEOUT, state_dir: str = DEFAULT_STATE_DIR,
            clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
            kill: Callable[[int, int], None] = os.kill) -> Dict[str, Any]:
    """Wait for the server's result (stopping it at ``timeout``), remove the state, report what came."""
    run_id = check_run_id(run_id)
    seconds = check_timeout(timeout)
    state = StateFiles(state_dir, run_id)
    info = state.read_pid()
    result = state.read_result()
    if info is None and result is None:
        return {"received": [], "missing": [], "timed_out": False, "ended": "none"}
    warnings: List[str] = []

    def wait(until: float) -> Optional[Dict[str, Any]]:
        """The result file, once there; None at ``until`` or when the listener has gone without one."""
        found = state.read_result()
        while found is None and clock() < until:
            alive = info is None or listener_alive(info)
            sleep(0.1)
            found = state.read_result()
            if not alive:
                break
        return found

    if result is None:
        result = wait(clock() + seconds)
    if result is None and info is not None and listener_alive(info):
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile; its file may be on the way
            kill(int(info["pid"]), signal.SIGTERM)
        result = wait(clock() + TERM_WAIT)
    if result is None:
        warnings.append(f"the listener of run {run_id} (pid {(info or {}).get('pid')}) ended without writing "
                        f"{state.result_path}")
        result = {"expected": (info or {}).get("expected") or [], "received": [], "reason": "lost"}
    state.remove()
    received = [{"source": r["source"], "port": r["port"], "proto": r["proto"], "address": r.get("address", "")}
                for r in result.get("received") or []]
    came = {(r["source"], r["port"], r["proto"]) for r in received}
    missing = [e for e in result.get("expected") or [] if (e["source"], e["port"], e["proto"]) not in came]
    reason = str(result.get("reason") or "unknown")
    out: Dict[str, Any] = {"received": received, "missing": missing, "timed_out": reason != "complete",
                           "ended": reason}
    if warnings:
        out["warnings"] = warnings
    return out
