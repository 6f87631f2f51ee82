# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Archive a manager's swarm state (``/var/lib/docker/swarm``) and put it back.

Private to campus.swarm.swarm_archive. An archive is a gzipped tar with the
state under ``swarm/`` and a manifest, ``campus-backup.json``: the archive
format, what the caller recorded about the swarm (engine version, node ID, the
swarm's settings) and the SHA-256 of every file of the state. The archive is
written 0600 through a temporary file in the same directory, so a run that
dies leaves no half archive under the final name. Before its state is put
back, every file is checked against the manifest; a state there already is
moved aside (never deleted). The state holds the swarm's raft log, with the
encrypted store of its secrets and the node's TLS key: it is never printed.
Runs on the managed host: Python 3.8+.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

FORMAT = 1
MANIFEST = "campus-backup.json"
PREFIX = "swarm"


class ArchiveError(Exception):
    """The state cannot be archived or put back; the message names the file and the problem."""


def _sha256(stream: Any) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def state_files(swarm_dir: str) -> Dict[str, str]:
    """Every regular file of the state, relative to ``swarm_dir``, with its SHA-256."""
    if not os.path.isdir(swarm_dir) or not os.listdir(swarm_dir):
        raise ArchiveError(f"{swarm_dir} holds no swarm state: is this host a swarm manager?")
    files: Dict[str, str] = {}
    for top, dirs, names in os.walk(swarm_dir):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(top, name)
            if os.path.islink(path) or not os.path.isfile(path):
                raise ArchiveError(f"{path} is not a regular file: the swarm state has none such")
            with open(path, "rb") as stream:
                files[os.path.relpath(path, swarm_dir)] = _sha256(stream)
    return files


def create(swarm_dir: str, dest: str, metadata: Dict[str, Any],
           clock: Callable[[], float] = time.time) -> Dict[str, Any]:
    """Write the archive of ``swarm_dir`` to ``dest`` (0600); returns its manifest and the archive's SHA-256."""
    files = state_files(swarm_dir)
    manifest = {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock())),
                "metadata": metadata, "files": files}
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".campus-backup-", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(clock())
            tar.addfile(info, io.BytesIO(data))
            tar.add(swarm_dir, arcname=PREFIX, recursive=True)
        with open(temp, "rb") as stream:
            digest = _sha256(stream)
        os.replace(temp, dest)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return {"manifest": public(manifest), "sha256": digest}


def public(manifest: Dict[str, Any]) -> Dict[str, Any]:
    """The manifest without its file list (what the module returns)."""
    return {**{k: v for k, v in manifest.items() if k != "files"}, "file_count": len(manifest.get("files") or {})}


def verify(path: str) -> Dict[str, Any]:
    """Read the archive's manifest and check every file of the state against it; returns the manifest."""
    return _read(path, None)


def _read(path: str, into: Optional[str]) -> Dict[str, Any]:
    """Check every member against the manifest in one pass over the archive, writing the state into the
    folder ``into`` (when given) on the way; returns the manifest."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            return _checked(tar, path, into)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"{path} is not a readable backup archive: {exc}") from exc


def _checked(tar: tarfile.TarFile, path: str, into: Optional[str]) -> Dict[str, Any]:
    try:
        raw = tar.extractfile(MANIFEST)
    except KeyError:
        raw = None
    if raw is None:
        raise ArchiveError(f"{path} has no {MANIFEST}: it is not an archive of playbooks/backup.yml")
    manifest = json.load(raw)
    if manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is of archive format {manifest.get('format')!r}; this collection reads {FORMAT}")
    expected: Dict[str, str] = dict(manifest.get("files") or {})
    seen: Dict[str, str] = {}
    folders: List[tarfile.TarInfo] = []
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        rel = _relative(member.name, path)
        if member.isdir():
            folders.append(member)
            continue
        if not member.isfile():
            raise ArchiveError(f"{path}: {member.name} is neither a file nor a folder")
        seen[rel] = _copy(tar.extractfile(member), os.path.join(into, rel) if into else None, member.mode & 0o7777)
    bad = sorted(r for r in expected if seen.get(r) != expected[r])
    extra = sorted(set(seen) - set(expected))
    if bad or extra:
        raise ArchiveError(f"{path} does not match its manifest (damaged or altered): "
                           + ", ".join([f"{r} {'missing' if r not in seen else 'checksum differs'}" for r in bad]
                                       + [f"{r} not in the manifest" for r in extra]))
    if into:
        # The folders' modes last: a folder made read-only first would refuse its files.
        for member in folders:
            target = os.path.join(into, _relative(member.name, path))
            os.makedirs(target, mode=0o700, exist_ok=True)
            os.chmod(target, member.mode & 0o7777)
    return manifest


def _copy(stream: Any, target: Optional[str], mode: int) -> str:
    """The SHA-256 of ``stream``, written on the way to the new file ``target`` (when given) with ``mode``."""
    if target is None:
        return _sha256(stream) if stream else ""
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    digest = hashlib.sha256()
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        for block in iter(lambda: stream.read(1 << 20), b"") if stream else ():
            digest.update(block)
            out.write(block)
    os.chmod(target, mode)
    return digest.hexdigest()


def _relative(name: str, path: str) -> str:
    """The member's path under the state folder; refuses any member outside ``swarm/``."""
    parts = name.split("/")
    if parts[0] != PREFIX or ".." in parts or name.startswith("/"):
        raise ArchiveError(f"{path}: member {name} lies outside {PREFIX}/")
    return "/".join(parts[1:])


def restore(path: str, swarm_dir: str, clock: Callable[[], float] = time.time) -> Dict[str, Any]:
    """Put the archive's state in ``swarm_dir``: written into a new folder beside it and checked on the way,
    then a state there already moved aside and the new one moved in. An archive that fails its check leaves
    ``swarm_dir`` as it was.

    Returns the manifest (without the file list) and where the old state went (``None`` when there was none)."""
    staging = tempfile.mkdtemp(prefix=".campus-restore-", dir=os.path.dirname(os.path.abspath(swarm_dir)))
    try:
        manifest = _read(path, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    aside: Optional[str] = None
    if os.path.lexists(swarm_dir):
        aside = f"{swarm_dir}.before-restore-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(clock()))}"
        os.rename(swarm_dir, aside)
    os.rename(staging, swarm_dir)
    return {"manifest": public(manifest), "moved_aside": aside}
