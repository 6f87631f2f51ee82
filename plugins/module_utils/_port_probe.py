# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Pairwise port probes between swarm nodes, before any node joins.

Private to campus.swarm.swarm_port_probe. Three steps, one per module mode:

* :func:`listen` binds the ports (a port already in use is *held*, not an
  error), then starts a detached :class:`ProbeServer` (double fork, new
  session, stdio on /dev/null, every other descriptor closed) and returns at
  once. The server answers probes of its run, records who probed, and exits
  when every expected probe has come, at its deadline or on SIGTERM: it
  closes its sockets first, then writes ``<state_dir>/<run_id>.json``.
* :func:`probe_targets` probes every target at once, one thread each, with
  :class:`Prober` (TCP connect plus a line exchange, or UDP datagrams every
  0.2 s).
* :func:`collect` waits for the server's result file, stops a server that is
  still running, and returns what came and what did not.

Wire format (ASCII, fields separated by one space): the probe
``campus-swarm-probe <run_id> <source>`` and the answer
``campus-swarm-probe <run_id> ok <hostname>``, each a line over TCP or one
datagram over UDP. Probes of another run get no answer.

Runs on the managed host: Python 3.8+, standard library only. Everything the
detached server needs is imported here, before it forks: the module's files
may be gone by the time it runs.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import selectors
import signal
import socket
import stat
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

MAGIC = "campus-swarm-probe"
PROTOCOLS = ("tcp", "udp")
DEFAULT_STATE_DIR = "/run/campus-swarm-probe"
LISTEN_TIMEOUT = 20
PROBE_TIMEOUT = 5
RETRY_INTERVAL = 0.2  # between refused TCP connects and between UDP datagrams
READ_TIMEOUT = 2.0  # the server's wait for a TCP prober's line
ANSWER_WAIT = 0.5  # a TCP prober's least wait for the answer once connected
LINGER = 0.5  # the server keeps answering this long after the last expected probe (lost UDP answers)
TERM_WAIT = 5.0  # collect's wait for the result file after SIGTERM
MAX_MESSAGE = 512
MAX_WORKERS = 256  # threads for one probe call; more targets than this take longer than timeout
BLOCKED = ("refused", "timeout", "error")

REFUSED_TCP = "connection refused"
REFUSED_UDP = "port unreachable (ICMP)"
HOST_UNREACHABLE = "host unreachable (an ICMP reject such as host-prohibited from a firewall, or no host at that address)"

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOKEN = re.compile(r"^\S{1,255}$")

Endpoint = Tuple[int, str]  # (port, proto)
Expected = Tuple[str, int, str]  # (source, port, proto)


class ProbeError(Exception):
    """Bad input or a failure the module reports with ``fail_json``."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


# --- input ------------------------------------------------------------------------------------------------------

def check_run_id(run_id: Any) -> str:
    """The run id names the state file and travels in every probe: a short token."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ProbeError(
            f"run_id must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, got {run_id!r}"
        )
    return run_id


def check_token(what: str, value: Any) -> str:
    """A node name as it travels in a probe: no spaces."""
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise ProbeError(f"{what} must be a non-empty string without spaces (at most 255 characters), got {value!r}")
    return value


def check_port(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ProbeError(f"{what} must be a port number from 1 to 65535, got {value!r}")
    return value


def check_proto(what: str, value: Any) -> str:
    if value not in PROTOCOLS:
        raise ProbeError(f"{what} must be tcp or udp, got {value!r}")
    return str(value)


def check_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ProbeError(f"timeout must be a positive number of seconds, got {value!r}")
    return float(value)


def endpoints(ports: Any) -> List[Endpoint]:
    """The ``ports`` option as (port, proto) pairs, in order; a pair given twice is refused."""
    if not isinstance(ports, list):
        raise ProbeError(f"ports must be a list of {{port, proto}} dicts, got {ports!r}")
    result: List[Endpoint] = []
    for index, entry in enumerate(ports):
        if not isinstance(entry, dict):
            raise ProbeError(f"ports[{index}] must be a dict with port and proto, got {entry!r}")
        endpoint = (check_port(f"ports[{index}].port", entry.get("port")),
                    check_proto(f"ports[{index}].proto", entry.get("proto")))
        if endpoint in result:
            raise ProbeError(f"ports: {endpoint[0]}/{endpoint[1]} is given twice")
        result.append(endpoint)
    return result


def expected_probes(expect: Any, ports: List[Endpoint]) -> List[Expected]:
    """The ``expect`` option as (source, port, proto); each must name one of ``ports``."""
    if not isinstance(expect, list):
        raise ProbeError(f"expect must be a list of {{source, port, proto}} dicts, got {expect!r}")
    result: List[Expected] = []
    for index, entry in enumerate(expect):
        if not isinstance(entry, dict):
            raise ProbeError(f"expect[{index}] must be a dict with source, port and proto, got {entry!r}")
        probe = (check_token(f"expect[{index}].source", entry.get("source")),
                 check_port(f"expect[{index}].port", entry.get("port")),
                 check_proto(f"expect[{index}].proto", entry.get("proto")))
        if probe[1:] not in ports:
            raise ProbeError(f"expect[{index}]: {probe[1]}/{probe[2]} from {probe[0]} is not one of the ports to listen on")
        if probe not in result:
            result.append(probe)
    return result


class Target:
    """One entry of the ``targets`` option."""

    __slots__ = ("address", "held", "name", "port", "proto")

    def __init__(self, name: str, address: str, port: int, proto: str, held: bool = False) -> None:
        self.name = name
        self.address = address
        self.port = port
        self.proto = proto
        self.held = held

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address}) {self.port}/{self.proto}"


def targets(entries: Any) -> List[Target]:
    """The ``targets`` option as Target objects."""
    if not isinstance(entries, list):
        raise ProbeError(f"targets must be a list of {{name, address, port, proto}} dicts, got {entries!r}")
    result: List[Target] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ProbeError(f"targets[{index}] must be a dict with name, address, port and proto, got {entry!r}")
        address = entry.get("address")
        if not isinstance(address, str) or not address.strip():
            raise ProbeError(f"targets[{index}].address must be a non-empty string, got {address!r}")
        held = entry.get("held")
        if held is not None and not isinstance(held, bool):
            raise ProbeError(f"targets[{index}].held must be true or false, got {held!r}")
        result.append(Target(check_token(f"targets[{index}].name", entry.get("name")), _unbracket(address),
                             check_port(f"targets[{index}].port", entry.get("port")),
                             check_proto(f"targets[{index}].proto", entry.get("proto")), bool(held)))
    return result


def _unbracket(address: str) -> str:
    text = address.strip()
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1]
    return text


# --- wire format ------------------------------------------------------------------------------------------------

def probe_message(run_id: str, source: str) -> bytes:
    return f"{MAGIC} {run_id} {source}\n".encode()


def answer_message(run_id: str, hostname: str) -> bytes:
    return f"{MAGIC} {run_id} ok {hostname}\n".encode()


def _fields(data: bytes) -> List[str]:
    return data.decode("utf-8", "replace").strip().split(" ")


def parse_probe(data: bytes, run_id: str) -> Optional[str]:
    """The source named by a probe of run ``run_id``, else None."""
    fields = _fields(data)
    if len(fields) == 3 and fields[0] == MAGIC and fields[1] == run_id and _TOKEN.match(fields[2]):
        return fields[2]
    return None


def parse_answer(data: bytes, run_id: str) -> Optional[str]:
    """The hostname in an answer of run ``run_id``, else None."""
    fields = _fields(data)
    if len(fields) == 4 and fields[0] == MAGIC and fields[1] == run_id and fields[2] == "ok" and fields[3]:
        return fields[3]
    return None


def _safe_hostname() -> str:
    return "".join(ch for ch in socket.gethostname() if not ch.isspace()) or "unknown"


def _peer_address(peer: Any) -> str:
    host = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
    if host.startswith("::ffff:") and "." in host:
        return host[len("::ffff:"):]
    return host


# --- listening --------------------------------------------------------------------------------------------------

def _socktype(proto: str) -> int:
    return socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM


def _bind_candidates(bind_address: str, port: int, socktype: int) -> List[Tuple[int, Any]]:
    """(family, sockaddr) to try in order; the wildcard is one dual-stack IPv6 socket, else IPv4."""
    if not bind_address.strip():
        wildcard: List[Tuple[int, Any]] = [(socket.AF_INET6, ("::", port, 0, 0))] if socket.has_ipv6 else []
        return [*wildcard, (socket.AF_INET, ("0.0.0.0", port))]
    host = _unbracket(bind_address)
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


# --- the three modes --------------------------------------------------------------------------------------------

def listen(run_id: Any, ports: Any, expect: Any, timeout: Any = LISTEN_TIMEOUT, bind_address: str = "",
           state_dir: str = DEFAULT_STATE_DIR, hostname: Optional[str] = None,
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


def collect(run_id: Any, timeout: Any = LISTEN_TIMEOUT, state_dir: str = DEFAULT_STATE_DIR,
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


# --- probing ----------------------------------------------------------------------------------------------------

def resolve(address: str, port: int, socktype: int) -> Tuple[int, Any]:
    """(family, sockaddr) of ``address``: an IPv4 or IPv6 address (brackets allowed) or a name."""
    host = _unbracket(address)
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socktype)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ProbeError(f"cannot resolve {address!r}: {reason}") from exc
    if not infos:
        raise ProbeError(f"cannot resolve {address!r}: no address")
    return infos[0][0], infos[0][4]


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
                    except ConnectionRefusedError:
                        refused = REFUSED_UDP
                        continue
                    except OSError as exc:
                        if exc.errno == errno.EHOSTUNREACH:
                            refused = HOST_UNREACHABLE
                            continue
                        return "error", f"cannot send: {exc.strerror or exc}"
                sock.settimeout(max(min(next_send, deadline) - self.clock(), 0.001))
                try:
                    data = sock.recv(MAX_MESSAGE)
                except socket.timeout:  # noqa: UP041 - not TimeoutError before Python 3.10, and hosts run 3.8
                    continue
                except ConnectionRefusedError:
                    refused = REFUSED_UDP
                    continue
                except OSError as exc:
                    if exc.errno == errno.EHOSTUNREACH:
                        refused = HOST_UNREACHABLE
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


def probe_targets(run_id: Any, source: Any, entries: Any, timeout: Any = PROBE_TIMEOUT,
                  prober: Optional[Prober] = None) -> Dict[str, Any]:
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
