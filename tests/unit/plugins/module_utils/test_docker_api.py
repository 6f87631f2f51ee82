# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The modules' Docker client against an engine that refuses old API versions, as Docker Engine 29 does.

Docker 29 raised its minimum API version to 1.44 and refuses older clients ("client version 1.41 is too old").
The fake engine here is a test double of only that: an HTTP server on a Unix socket that answers the unversioned
``/version`` with API 1.52 (minimum 1.44), serves ``/v1.52/info`` and refuses any request under a version below
1.44 with Docker 29's message. It proves that the client asks the engine for its version instead of pinning one
(it spoke 1.41 to engine 20.10 in the lab), with the Docker SDK installed here; not the rest of Docker 29.
"""

from __future__ import annotations

import json
import re
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._docker_api import DockerApi, DockerApiError
from ansible_collections.campus.swarm.plugins.module_utils._node_info import read_docker

INFO = {"ServerVersion": "29.8.2", "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "ControlAvailable": False}}


class Engine29(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Engine29.paths.append(self.path)
        version = re.match(r"^/v(\d+)\.(\d+)/", self.path)
        if self.path == "/version":
            self._send(200, {"Version": "29.8.2", "ApiVersion": "1.52", "MinAPIVersion": "1.44"})
        elif version and (int(version[1]), int(version[2])) < (1, 44):
            self._send(400, {"message": f"client version {version[1]}.{version[2]} is too old. Minimum supported API "
                                        "version is 1.44, please upgrade your client to a newer version"})
        elif self.path.endswith("/info"):
            self._send(200, INFO)
        elif "/images/json" in self.path:
            self._send(200, [])
        elif "/networks/docker_gwbridge" in self.path:
            self._send(404, {"message": "network docker_gwbridge not found"})
        else:
            self._send(404, {"message": f"page not found: {self.path}"})

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass

    def address_string(self) -> str:  # a Unix socket has no client address
        return "unix"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "docker.sock")
    server = socketserver.UnixStreamServer(path, Engine29)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Engine29.paths = []
    yield f"unix://{path}"
    server.shutdown()
    server.server_close()


def test_the_client_speaks_the_api_version_the_engine_offers(engine: str) -> None:
    client = DockerApi(engine, timeout=5)
    assert client.call("info", client.api.info)["ServerVersion"] == "29.8.2"
    assert Engine29.paths[0] == "/version"
    assert Engine29.paths[-1].startswith("/v1.52/info")


def test_node_info_reads_such_an_engine(engine: str) -> None:
    found = read_docker(lambda: DockerApi(engine, timeout=5))
    assert (found["ready"], found["error"], found["version"]) == (True, "", "29.8.2")
    assert not [p for p in Engine29.paths if re.match(r"^/v1\.(2|3|4[0-3])", p)]


def test_a_pinned_old_version_is_what_this_engine_refuses(engine: str) -> None:
    # The double refuses as Docker 29 does: a client pinned to the version engine 20.10 speaks fails.
    client = DockerApi(engine, timeout=5)
    client.api._version = "1.41"
    with pytest.raises(DockerApiError, match=r"client version 1\.41 is too old"):
        client.call("info", client.api.info)
