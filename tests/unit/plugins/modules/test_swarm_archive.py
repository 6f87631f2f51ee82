# SPDX-License-Identifier: GPL-3.0-or-later
"""swarm_archive through main(): check mode writes nothing, a bad archive fails naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.campus.swarm.plugins.modules import swarm_archive
from ansible_collections.campus.swarm.tests.unit.plugins.module_utils.test_swarm_archive import META, state


def run(capsys: pytest.CaptureFixture[str], args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    with patch_module_args({**args, "_ansible_check_mode": check}), pytest.raises(SystemExit):
        swarm_archive.main()
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_archive_verify_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    swarm = state(tmp_path)
    path = str(tmp_path / "b.tar.gz")
    dry = run(capsys, {"path": path, "swarm_dir": str(swarm), "metadata": META}, check=True)
    assert dry["changed"] is True and dry["manifest"]["file_count"] == 3 and not Path(path).exists()
    made = run(capsys, {"path": path, "swarm_dir": str(swarm), "metadata": META})
    assert made["changed"] is True and len(made["sha256"]) == 64
    checked = run(capsys, {"path": path, "state": "verified"})
    assert checked["changed"] is False and checked["manifest"]["metadata"] == META
    (swarm / "state.json").write_text("broken")
    assert run(capsys, {"path": path, "swarm_dir": str(swarm), "state": "restored"}, check=True)["changed"] is True
    assert (swarm / "state.json").read_text() == "broken"  # check mode only checked the archive
    restored = run(capsys, {"path": path, "swarm_dir": str(swarm), "state": "restored"})
    assert restored["moved_aside"].startswith(f"{swarm}.before-restore-")
    assert (swarm / "state.json").read_text() == '[{"node_id": "abc"}]'


def test_a_missing_archive_fails_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, {"path": str(tmp_path / "none.tar.gz"), "state": "verified"})
    assert out["failed"] is True and "none.tar.gz is not a readable backup archive" in out["msg"]
