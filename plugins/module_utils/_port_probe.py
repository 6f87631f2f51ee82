# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Pairwise port probes between swarm nodes, before any node joins: input and wire format.

Private to campus.swarm.swarm_port_probe. Three steps, one per module mode:

* ``listen`` (:mod:`._port_probe_listen`) binds the ports (a port already in
  use is *held*, not an error), then starts a detached ``ProbeServer`` and
  returns at once. The server answers probes of its run, records who probed,
  and exits when every expected probe has come, at its deadline or on SIGTERM.
* ``probe_targets`` (:mod:`._port_probe_probe`) probes every target at once.
* ``collect`` (:mod:`._port_probe_listen`) waits for the server's result
  file, stops a server that is still running, and returns what came and what
  did not.

This file holds what both sides share: the checks of the module's options
that its argument spec cannot make (types, choices and required options are
its job), the data types they produce, and the wire format. The probe
``campus-swarm-probe <run_id> <source>`` and the answer
``campus-swarm-probe <run_id> ok <hostname>`` (ASCII, fields separated by one
space) are each a line over TCP or one datagram over UDP. Probes of another
run get no answer.

Runs on the managed host: Python 3.8+, standard library only.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

MAGIC = "campus-swarm-probe"
LISTEN_TIMEOUT = 20
PROBE_TIMEOUT = 5
MAX_MESSAGE = 512

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOKEN = re.compile(r"^\S{1,255}$")

Endpoint = Tuple[int, str]  # (port, proto)
Expected = Tuple[str, int, str]  # (source, port, proto)
Entries = List[Dict[str, Any]]  # a list option of dicts, as the module's argument spec checked it

# The argument spec's required_if takes an explicit null for given: ports, source and targets may be None.


class ProbeError(Exception):
    """Bad input or a failure the module reports with ``fail_json``."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


# --- input ------------------------------------------------------------------------------------------------------

def check_run_id(run_id: str) -> str:
    """The run id names the state file and travels in every probe: a short token."""
    if not _RUN_ID.match(run_id):
        raise ProbeError(
            f"run_id must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, got {run_id!r}"
        )
    return run_id


def check_token(what: str, value: Optional[str]) -> str:
    """A node name as it travels in a probe: no spaces."""
    if value is None or not _TOKEN.match(value):
        raise ProbeError(f"{what} must be a non-empty string without spaces (at most 255 characters), got {value!r}")
    return value


def check_port(what: str, value: int) -> int:
    # The argument spec's int takes a boolean as it is.
    if isinstance(value, bool) or not 1 <= value <= 65535:
        raise ProbeError(f"{what} must be a port number from 1 to 65535, got {value!r}")
    return value


def check_timeout(value: float) -> float:
    if isinstance(value, bool) or value <= 0:
        raise ProbeError(f"timeout must be a positive number of seconds, got {value!r}")
    return float(value)


def endpoints(ports: Optional[Entries]) -> List[Endpoint]:
    """The ``ports`` option as (port, proto) pairs, in order; a pair given twice is refused."""
    if ports is None:
        raise ProbeError("ports must be a list of {port, proto} dicts, got None")
    result: List[Endpoint] = []
    for index, entry in enumerate(ports):
        endpoint = (check_port(f"ports[{index}].port", entry["port"]), str(entry["proto"]))
        if endpoint in result:
            raise ProbeError(f"ports: {endpoint[0]}/{endpoint[1]} is given twice")
        result.append(endpoint)
    return result


def expected_probes(expect: Entries, ports: List[Endpoint]) -> List[Expected]:
    """The ``expect`` option as (source, port, proto); each must name one of ``ports``."""
    result: List[Expected] = []
    for index, entry in enumerate(expect):
        probe = (check_token(f"expect[{index}].source", entry["source"]),
                 check_port(f"expect[{index}].port", entry["port"]), str(entry["proto"]))
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


def targets(entries: Optional[Entries]) -> List[Target]:
    """The ``targets`` option as Target objects (``held`` defaults to false)."""
    if entries is None:
        raise ProbeError("targets must be a list of {name, address, port, proto} dicts, got None")
    result: List[Target] = []
    for index, entry in enumerate(entries):
        address = entry["address"]
        if not address.strip():
            raise ProbeError(f"targets[{index}].address must be a non-empty string, got {address!r}")
        result.append(Target(check_token(f"targets[{index}].name", entry["name"]), unbracket(address),
                             check_port(f"targets[{index}].port", entry["port"]), str(entry["proto"]),
                             bool(entry.get("held"))))
    return result


def unbracket(address: str) -> str:
    """An address as given (``[2001:db8::1]``, `` 10.0.0.1 ``) as the socket functions take it."""
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
