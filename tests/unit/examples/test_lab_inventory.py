# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab inventory (lab/inventory.py) labels exactly one node for the example stack's
broker, the label examples/stack/stack.yml places the broker with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the venv

ROOT = Path(__file__).resolve().parents[3]


def _hosts(tmp_path: Path, workers: int) -> dict[str, Any]:
    out = tmp_path / f"hosts-{workers}.yml"
    subprocess.run([sys.executable, str(ROOT / "lab/inventory.py"), "--managers", "3", "--workers", str(workers),
                    "--state-dir", str(tmp_path), "--output", str(out)], check=True)
    groups = yaml.safe_load(out.read_text())["all"]["children"]["swarm"]["children"]
    return {**groups["swarm_managers"]["hosts"], **(groups["swarm_workers"]["hosts"] or {})}


@pytest.mark.parametrize(("workers", "broker_host"), [(2, "campus-lab-w1"), (0, "campus-lab-m1")])
def test_one_node_carries_the_broker_label(tmp_path: Path, workers: int, broker_host: str) -> None:
    stack = yaml.safe_load((ROOT / "examples/stack/stack.yml").read_text())["stacks_deploy"][0]
    label = stack["vars"]["broker_label"].split("'")[1]  # the default of demo_broker_label
    hosts = _hosts(tmp_path, workers)
    labelled = [name for name, host in hosts.items() if (host.get("swarm_labels") or {}).get(label) == "true"]
    assert labelled == [broker_host]
