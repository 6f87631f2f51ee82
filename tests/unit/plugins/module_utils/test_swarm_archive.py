# SPDX-License-Identifier: GPL-3.0-or-later
"""The swarm state archive: written 0600 with a manifest, checked file by file, put back with the old state kept."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from ansible_collections.campus.swarm.plugins.module_utils._swarm_archive import (
    MANIFEST,
    ArchiveError,
    create,
    restore,
    verify,
)

META = {"engine_version": "20.10.24+dfsg1", "node_id": "abc", "swarm": {"data_path_port": 4790}}


def state(root: Path) -> Path:
    swarm = root / "swarm"
    (swarm / "raft" / "wal-v3-encrypted").mkdir(parents=True)
    (swarm / "certificates").mkdir()
    (swarm / "raft" / "wal-v3-encrypted" / "0000.wal").write_bytes(b"raft log " * 1000)
    (swarm / "certificates" / "swarm-node.key").write_bytes(b"KEY")
    (swarm / "certificates" / "swarm-node.key").chmod(0o600)
    (swarm / "state.json").write_text('[{"node_id": "abc"}]')
    return swarm


def test_archive_is_0600_with_a_manifest_and_a_checksum(tmp_path: Path) -> None:
    swarm = state(tmp_path)
    dest = tmp_path / "out" / "b.tar.gz"
    result = create(str(swarm), str(dest), META, clock=lambda: 0)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert result["manifest"] == {"format": 1, "created": "1970-01-01T00:00:00Z", "metadata": META, "file_count": 3}
    assert len(result["sha256"]) == 64
    assert [p.name for p in dest.parent.iterdir()] == ["b.tar.gz"]  # no temporary file left
    assert verify(str(dest))["files"]["certificates/swarm-node.key"] == hashlib.sha256(b"KEY").hexdigest()
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == result["sha256"]


def test_restore_puts_the_state_back_and_keeps_the_old_one_aside(tmp_path: Path) -> None:
    swarm = state(tmp_path)
    (swarm / "state.json").chmod(0o640)
    dest = tmp_path / "b.tar.gz"
    create(str(swarm), str(dest), META)
    original = {p.relative_to(swarm): p.read_bytes() for p in swarm.rglob("*") if p.is_file()}
    modes = {p.relative_to(swarm): stat.S_IMODE(p.stat().st_mode) for p in swarm.rglob("*")}
    (swarm / "state.json").write_text("broken")
    (swarm / "extra").write_text("new since")
    result = restore(str(dest), str(swarm), clock=lambda: 0)
    assert result["moved_aside"] == f"{swarm}.before-restore-19700101T000000Z"
    assert (Path(result["moved_aside"]) / "state.json").read_text() == "broken"
    assert {p.relative_to(swarm): p.read_bytes() for p in swarm.rglob("*") if p.is_file()} == original
    assert stat.S_IMODE((swarm / "certificates" / "swarm-node.key").stat().st_mode) == 0o600
    assert {p.relative_to(swarm): stat.S_IMODE(p.stat().st_mode) for p in swarm.rglob("*")} == modes
    assert result["manifest"]["metadata"] == META


def test_restore_onto_a_host_with_no_state(tmp_path: Path) -> None:
    swarm = state(tmp_path / "src")
    dest = tmp_path / "b.tar.gz"
    create(str(swarm), str(dest), META)
    target = tmp_path / "docker" / "swarm"
    target.parent.mkdir()
    assert restore(str(dest), str(target))["moved_aside"] is None
    assert (target / "state.json").read_text() == '[{"node_id": "abc"}]'


def rewrite(src: Path, dest: Path, change: str) -> None:
    """Copy the archive with one member changed the way damage or tampering would."""
    with tarfile.open(src, "r:gz") as tar_in, tarfile.open(dest, "w:gz") as tar_out:
        for member in tar_in.getmembers():
            stream = tar_in.extractfile(member) if member.isfile() else None
            data = stream.read() if stream else None
            if change == "altered" and member.name == "swarm/state.json":
                data = b"[]"
                member.size = len(data)
            if change == "dropped" and member.name == "swarm/state.json":
                continue
            if change == "escape" and member.name == "swarm/state.json":
                member.name = "swarm/../../etc/passwd"
            if change == "format" and member.name == MANIFEST and data is not None:
                data = json.dumps({**json.loads(data), "format": 9}).encode()
                member.size = len(data)
            tar_out.addfile(member, io.BytesIO(data) if data is not None else None)


@pytest.mark.parametrize(("change", "match"), [
    ("altered", r"does not match its manifest \(damaged or altered\): state.json checksum differs"),
    ("dropped", "state.json missing"),
    ("escape", r"member swarm/../../etc/passwd lies outside swarm/"),
    ("format", "archive format 9; this collection reads 1"),
])
def test_a_damaged_archive_is_refused_and_nothing_changes(tmp_path: Path, change: str, match: str) -> None:
    swarm = state(tmp_path)
    good = tmp_path / "good.tar.gz"
    create(str(swarm), str(good), META)
    bad = tmp_path / "bad.tar.gz"
    rewrite(good, bad, change)
    with pytest.raises(ArchiveError, match=match):
        restore(str(bad), str(swarm))
    assert (swarm / "state.json").exists() and not list(tmp_path.glob("swarm.before-restore-*"))
    assert not list(tmp_path.glob(".campus-restore-*"))  # the half-written new state is gone


def test_not_an_archive_and_no_state_are_named(tmp_path: Path) -> None:
    (tmp_path / "x.tar.gz").write_text("no")
    with pytest.raises(ArchiveError, match=r"x\.tar\.gz is not a readable backup archive"):
        verify(str(tmp_path / "x.tar.gz"))
    os.mkdir(tmp_path / "empty")
    with pytest.raises(ArchiveError, match="holds no swarm state"):
        create(str(tmp_path / "empty"), str(tmp_path / "b.tar.gz"), META)
