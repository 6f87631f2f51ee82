"""The certificate receiver (roles/certbot/files/receive_certificate.py), run as
the deploy hook and the hand-over user's forced command run it: a tar stream on
stdin. Real openssl makes and compares the keys; `docker` is a stub on PATH
that lists two nginx tasks and records the reloads (the engine itself is the
Molecule frontdoor scenario's part)."""

import io
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

RECEIVER = Path(__file__).parents[3] / "roles" / "certbot" / "files" / "receive_certificate.py"

DOCKER_STUB = """#!/bin/sh
echo "$@" >> "$DOCKER_CALLS"
if [ "$1" = ps ]; then printf 'task1\\ntask2\\n'; fi
"""


def _keypair(directory: Path, name: str) -> tuple[bytes, bytes]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={name}.campus.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert.read_bytes(), key.read_bytes()


def _stream(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture(name="env")
def fixture_env(tmp_path: Path) -> dict:
    proxy = tmp_path / "proxy"
    (proxy / "tls" / "campus-swarm").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(DOCKER_STUB)
    (bin_dir / "docker").chmod(0o755)
    cert, key = _keypair(tmp_path, "one")
    other_cert, other_key = _keypair(tmp_path, "two")
    return {"proxy": proxy, "calls": tmp_path / "calls", "bin": bin_dir, "cert": cert, "key": key, "other_cert": other_cert, "other_key": other_key}


def _receive(env: dict, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RECEIVER), str(env["proxy"]), "campus_proxy", "/etc/nginx/campus/current/nginx.conf"],
        input=data,
        capture_output=True,
        check=False,
        env={**os.environ, "PATH": f"{env['bin']}:{os.environ['PATH']}", "DOCKER_CALLS": str(env["calls"])},
    )


def _bundle(env: dict, cert: bytes | None = None, key: bytes | None = None, name: str = "campus-swarm") -> bytes:
    return _stream({f"{name}/fullchain.pem": cert or env["cert"], f"{name}/privkey.pem": key or env["key"]})


def test_installs_with_modes_and_reloads_every_task(env: dict) -> None:
    done = _receive(env, _bundle(env))
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "campus-swarm installed; nginx reloaded in 2 task(s)"
    directory = env["proxy"] / "tls" / "campus-swarm"
    assert (directory / "fullchain.pem").read_bytes() == env["cert"]
    assert (directory / "privkey.pem").read_bytes() == env["key"]
    assert stat.S_IMODE((directory / "privkey.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / "fullchain.pem").stat().st_mode) == 0o644
    assert sorted(path.name for path in directory.iterdir()) == ["fullchain.pem", "privkey.pem"]
    calls = env["calls"].read_text().splitlines()
    assert calls[1:] == [f"exec task{n} nginx -c /etc/nginx/campus/current/nginx.conf -s reload" for n in (1, 2)]


def test_same_bytes_again_change_and_reload_nothing(env: dict) -> None:
    assert _receive(env, _bundle(env)).returncode == 0
    env["calls"].unlink()
    done = _receive(env, _bundle(env))
    assert done.returncode == 0
    assert done.stdout.decode().strip() == "campus-swarm unchanged"
    assert not env["calls"].exists()


def test_empty_stream_answers_ready(env: dict) -> None:
    done = _receive(env, b"")
    assert (done.returncode, done.stdout.decode().strip()) == (0, "ready")


@pytest.mark.parametrize(
    "case, message",
    [
        ("foreign key", "does not belong to the certificate"),
        ("unknown name", "no certificate other-site is kept"),
        ("traversal", "is not a certificate name"),
        ("extra member", "nothing else"),
        ("not tar", "not a tar stream"),
        ("no certificate", "holds no PEM certificate"),
    ],
)
def test_refuses_and_leaves_files_alone(env: dict, case: str, message: str) -> None:
    data = {
        "foreign key": _bundle(env, key=env["other_key"]),
        "unknown name": _bundle(env, name="other-site"),
        "traversal": _bundle(env, name=".."),
        "extra member": _stream({"campus-swarm/fullchain.pem": env["cert"], "campus-swarm/privkey.pem": env["key"], "campus-swarm/evil.pem": b"x"}),
        "not tar": b"hello" * 200,
        "no certificate": _bundle(env, cert=b"not a certificate\n"),
    }[case]
    done = _receive(env, data)
    assert done.returncode == 1
    assert message in done.stderr.decode()
    assert list((env["proxy"] / "tls" / "campus-swarm").iterdir()) == []
    assert not env["calls"].exists()
