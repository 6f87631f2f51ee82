# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.campus.swarm.plugins.modules import swarm_port_probe
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_port_probe import free_port, gone, wait_for


def run_main(capsys: pytest.CaptureFixture[str], args: dict[str, Any]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        swarm_port_probe.main()
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


@pytest.mark.parametrize("check_mode", [False, True])
def test_listen_probe_collect_through_main(capsys: pytest.CaptureFixture[str], tmp_path: Path, check_mode: bool) -> None:
    tcp, udp = free_port(), free_port()
    ports = [{"port": tcp, "proto": "tcp"}, {"port": udp, "proto": "udp"}]
    common = {"run_id": "main-1", "state_dir": str(tmp_path), "_ansible_check_mode": check_mode}
    listened = run_main(capsys, {**common, "mode": "listen", "ports": ports, "timeout": 5,
                                 "expect": [{"source": "near", **p} for p in ports]})
    assert listened["changed"] is False
    assert listened["held"] == []
    assert listened["listening"] == ports
    pid = listened["pid"]
    assert not gone(pid)
    probed = run_main(capsys, {**common, "mode": "probe", "source": "near", "timeout": 1,
                               "targets": [{"name": "far", "address": "127.0.0.1", **p} for p in ports]
                               + [{"name": "far", "address": "127.0.0.1", "port": free_port(), "proto": "tcp"}]})
    assert probed["changed"] is False
    assert "failed" not in probed  # a closed port is reported, not a failure
    assert [r["status"] for r in probed["results"]] == ["open", "open", "refused"]
    assert [r["status"] for r in probed["blocked"]] == ["refused"]
    assert probed["source"] == "near"
    assert wait_for(lambda: gone(pid))
    collected = run_main(capsys, {**common, "mode": "collect", "timeout": 2})
    assert collected["changed"] is False
    assert collected["missing"] == []
    assert collected["ended"] == "complete"
    assert len(collected["received"]) == 2
    assert os.listdir(tmp_path) == []


def test_collect_without_listener(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = run_main(capsys, {"mode": "collect", "run_id": "never", "state_dir": str(tmp_path / "none")})
    assert out["changed"] is False
    assert (out["received"], out["missing"], out["timed_out"], out["ended"]) == ([], [], False, "none")


def test_listen_reports_a_held_port(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("0.0.0.0", 0))
        port = holder.getsockname()[1]
        out = run_main(capsys, {"mode": "listen", "run_id": "held-1", "state_dir": str(tmp_path),
                                "ports": [{"port": port, "proto": "udp"}],
                                "expect": [{"source": "w1", "port": port, "proto": "udp"}]})
    assert out["held"] == [{"port": port, "proto": "udp"}]
    assert (out["listening"], out["expected"]) == ([], [])
    assert wait_for(lambda: gone(out["pid"]))  # nothing to wait for: it ends at once


def test_collect_warns_when_the_listener_left_no_result(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "lost-1.pid").write_text(json.dumps({"pid": 999999999, "expected": []}))
    started = time.monotonic()
    out = run_main(capsys, {"mode": "collect", "run_id": "lost-1", "state_dir": str(tmp_path), "timeout": 20})
    assert time.monotonic() - started < 1  # no wait for a listener that is gone
    assert out["ended"] == "lost"
    # The warning itself is asserted on collect(): once controller code is imported (the filter tests),
    # AnsibleModule.warn goes to the display rather than into the result.
    assert "failed" not in out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"mode": "listen", "run_id": "r1"}, "mode is listen but all of the following are missing: ports"),
        ({"mode": "probe", "run_id": "r1", "targets": []}, "mode is probe but all of the following are missing: source"),
        ({"mode": "scan", "run_id": "r1"}, "value of mode must be one of"),
        ({"mode": "collect", "run_id": "../../etc/passwd"}, "run_id must be"),
        ({"mode": "probe", "run_id": "r1", "source": "w1", "targets": [{"name": "m1", "address": "10.0.0.1", "port": 1}]},
         "missing required arguments: proto"),
        ({"mode": "probe", "run_id": "r1", "source": "w 1", "targets": []}, "source must be a non-empty string without spaces"),
        ({"mode": "probe", "run_id": "r1", "source": "w1", "targets": [], "timeout": 0}, "timeout must be a positive number"),
        ({"mode": "listen", "run_id": "r1", "ports": [{"port": 70000, "proto": "tcp"}]}, "ports[0].port must be a port number"),
        ({"mode": "listen", "run_id": "r1", "ports": [{"port": 47001, "proto": "tcp"}],
          "expect": [{"source": "w1", "port": 47002, "proto": "tcp"}]}, "47002/tcp from w1 is not one of the ports"),
        # What the argument spec checks, and the functions behind it no longer do.
        ({"mode": "listen", "run_id": "r1", "ports": "7946/tcp"}, "dictionary requested, could not parse JSON"),
        ({"mode": "listen", "run_id": "r1", "ports": [{"port": "7946x", "proto": "tcp"}]},
         "argument 'port' is of type str found in 'ports'. and we were unable to convert to int"),
        ({"mode": "listen", "run_id": "r1", "ports": [{"port": 7946, "proto": "sctp"}]},
         "value of proto must be one of: tcp, udp, got: sctp found in ports"),
        ({"mode": "listen", "run_id": "r1", "ports": [], "expect": {"source": "w1"}},
         "argument 'expect' is of type dict and we were unable to convert to list"),
        ({"mode": "probe", "run_id": "r1", "source": "w1", "targets": ["m1:2377"]}, "dictionary requested"),
        ({"mode": "probe", "run_id": "r1", "source": "w1",
          "targets": [{"name": "m1", "address": "10.0.0.1", "port": 1, "proto": "icmp"}]}, "value of proto must be one of"),
        ({"mode": "probe", "run_id": "r1", "source": "w1",
          "targets": [{"name": "m1", "address": "10.0.0.1", "port": 1, "proto": "tcp", "held": "maybe"}]},
         "argument 'held' is of type str found in 'targets'. and we were unable to convert to bool"),
        ({"mode": "probe", "run_id": "r1", "source": "w1", "targets": [], "timeout": "5s"},
         "argument 'timeout' is of type str and we were unable to convert to int"),
        # What it lets through: an explicit null where required_if asks for a value, a required string as ''.
        ({"mode": "listen", "run_id": "r1", "ports": None}, "ports must be a list of {port, proto} dicts, got None"),
        ({"mode": "probe", "run_id": "r1", "source": None, "targets": []}, "source must be a non-empty string"),
        ({"mode": "probe", "run_id": "r1", "source": "w1", "targets": None}, "targets must be a list of"),
        ({"mode": "probe", "run_id": None, "source": "w1", "targets": []}, "run_id must be"),
        ({"mode": "probe", "run_id": "r1", "source": "w1",
          "targets": [{"name": "m1", "address": None, "port": 1, "proto": "tcp"}]}, "targets[0].address must be a non-empty"),
        ({"mode": "listen", "run_id": "r1", "ports": [{"port": True, "proto": "tcp"}]}, "ports[0].port must be a port number"),
        ({"mode": "probe", "run_id": "r1", "source": "w1", "targets": [], "timeout": True}, "timeout must be a positive number"),
    ],
)
def test_main_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: dict[str, Any], match: str) -> None:
    out = run_main(capsys, {"state_dir": str(tmp_path), **args})
    assert out["failed"] is True
    assert match in out["msg"]
    assert os.listdir(tmp_path) == []  # no listener started, no state left


@pytest.mark.parametrize(("mode", "expected"), [("listen", 20), ("probe", 5), ("collect", 20)])
def test_timeout_defaults_by_mode(monkeypatch: pytest.MonkeyPatch, mode: str, expected: int) -> None:
    seen: list[Any] = []

    def fake(*args: Any) -> dict[str, Any]:
        seen.append(args)
        return {}

    monkeypatch.setattr(swarm_port_probe, {"listen": "listen", "probe": "probe_targets", "collect": "collect"}[mode], fake)
    params: dict[str, Any] = {"mode": mode, "run_id": "r1", "timeout": None, "ports": [], "expect": [], "source": "w1",
                              "targets": [], "bind_address": "", "state_dir": "/nonexistent"}
    swarm_port_probe.run_module(params)
    assert seen[0][3 if mode != "collect" else 1] == expected
