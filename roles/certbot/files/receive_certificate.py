"""Receive a certificate for nginx on this edge host (campus.swarm certbot role).

usage: python3 receive_certificate.py PROXY_DIR SERVICE CONF   < tar stream

The tar stream holds NAME/fullchain.pem and NAME/privkey.pem and nothing else
(certbot's deploy hook on certbot_host sends it, here or over SSH as the
hand-over user, whose forced command this is). The certificate is checked
(PEM, the key belongs to the certificate, PROXY_DIR/tls/NAME exists: the role
made it), written next to the old files and moved over them, then nginx in
every running task of SERVICE on this host reloads in place with CONF: new
workers take the new certificate, old ones finish their requests. Files that
already hold the same bytes are left alone and nothing reloads. An empty
stream only answers "ready" (the role's check that the hand-over path works).
"""

import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile

LIMIT = 1 << 20
FILES = {"fullchain.pem": 0o644, "privkey.pem": 0o600}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def fail(message: str) -> None:
    sys.stderr.write(f"receive_certificate: {message}\n")
    sys.exit(1)


def read_bundle(data: bytes) -> tuple[str, dict[str, bytes]]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            members = archive.getmembers()
            names = {os.path.dirname(member.name) for member in members}
            files = sorted(os.path.basename(member.name) for member in members)
            if len(names) != 1 or files != sorted(FILES) or not all(member.isfile() for member in members):
                fail("the stream must hold NAME/fullchain.pem and NAME/privkey.pem (regular files) and nothing else")
            contents = {}
            for member in members:
                handle = archive.extractfile(member)
                contents[os.path.basename(member.name)] = handle.read() if handle else b""
    except tarfile.TarError as exc:
        fail(f"not a tar stream: {exc}")
    name = names.pop()
    if not NAME.fullmatch(name):
        fail(f"{name!r} is not a certificate name")
    return name, contents


def public_key(kind: str, pem: bytes) -> bytes:
    argv = ["openssl", "x509", "-noout", "-pubkey"] if kind == "cert" else ["openssl", "pkey", "-pubout"]
    done = subprocess.run(argv, input=pem, capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        fail(f"the {'certificate' if kind == 'cert' else 'private key'} cannot be read")
    return done.stdout


def install(directory: str, contents: dict[str, bytes]) -> bool:
    changed = False
    # The key first: nginx reads both only when it reloads, after both are in place.
    for file in sorted(FILES, reverse=True):
        path = os.path.join(directory, file)
        try:
            with open(path, "rb") as current:
                if current.read() == contents[file]:
                    continue
        except FileNotFoundError:
            pass
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{file}.")
        try:
            os.fchmod(handle, FILES[file])
            os.write(handle, contents[file])
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temporary, path)
        changed = True
    return changed


def reload_nginx(service: str, conf: str) -> int:
    tasks = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}", "--filter", "status=running"],
        capture_output=True,
        text=True,
        check=False,
    )
    if tasks.returncode != 0:
        fail(f"docker ps: {tasks.stderr.strip()}")
    for task in tasks.stdout.split():
        done = subprocess.run(["docker", "exec", task, "nginx", "-c", conf, "-s", "reload"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            fail(f"nginx in task {task} did not reload: {done.stderr.strip()}")
    return len(tasks.stdout.split())


def main() -> None:
    if len(sys.argv) != 4:
        fail("usage: receive_certificate.py PROXY_DIR SERVICE CONF < tar stream")
    proxy_dir, service, conf = sys.argv[1:]
    data = sys.stdin.buffer.read(LIMIT + 1)
    if not data:
        print("ready")
        return
    if len(data) > LIMIT:
        fail(f"the stream is larger than {LIMIT} bytes")
    name, contents = read_bundle(data)
    directory = os.path.join(proxy_dir, "tls", name)
    if not os.path.isdir(directory):
        fail(f"no certificate {name} is kept for nginx on this host ({directory} is missing)")
    if b"-----BEGIN CERTIFICATE-----" not in contents["fullchain.pem"]:
        fail(f"{name}/fullchain.pem holds no PEM certificate")
    if public_key("cert", contents["fullchain.pem"]) != public_key("key", contents["privkey.pem"]):
        fail(f"{name}: the private key does not belong to the certificate")
    os.umask(0o077)
    if not install(directory, contents):
        print(f"{name} unchanged")
        return
    print(f"{name} installed; nginx reloaded in {reload_nginx(service, conf)} task(s)")


if __name__ == "__main__":
    main()
