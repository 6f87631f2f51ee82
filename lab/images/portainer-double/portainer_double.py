"""campus-portainer-double: a TEST DOUBLE for Portainer CE server and agent.

THIS IS NOT PORTAINER. No registry is reachable where campus.swarm is tested, so
portainer/portainer-ce and portainer/agent cannot be pulled; this stand-in takes
their place so a test can prove what the role delivered to them:

  server mode (the default, like the portainer-ce image whose entrypoint is the
  server binary): accepts Portainer's own server flags, so the role's real
  command line runs unchanged, and
    - refuses to start (exit 1) when --admin-password-file is missing, names a
      file that cannot be read, or names an empty file (proof the secret arrived);
    - refuses what Portainer refuses: --admin-password together with
      --admin-password-file, an -H URL that is not unix:// tcp:// npipe://, or a
      unix:// socket that does not exist;
    - serves on --bind (default :9000) plain HTTP and on --bind-https (default
      :9443) HTTPS with a self-signed certificate (or --sslcert/--sslkey):
        GET /api/system/status (and legacy /api/status)
        GET /api/test-double/admin-password-sha256  (hashes only, never the password)
        GET /api/test-double/agent  (TCP + HTTP /ping to every A record of -H's host)
        anything else: 404; every answer is JSON carrying "test_double": true;
    - keeps, like Portainer, the admin password of its FIRST start in --data:
      later starts report the stored hash, whatever the file says now;
    - does NOT listen on --tunnel-port (the Edge tunnel, 8000): it only logs it.
  agent mode (command `agent`, or no arguments at all with AGENT_CLUSTER_ADDR set,
  which is how the real portainer/agent image is run): needs /var/run/docker.sock
  (it only checks that the socket is there, it never talks to Docker), listens on
  AGENT_PORT (default 9001) in plain HTTP (the real agent speaks HTTPS) and answers
  GET /ping.

It proves arguments, mounts, secrets, environment, networks and DNS; it proves
nothing about Portainer itself (UI, API, Docker management, agent TLS, the
5-minute admin-init lockout, the Edge tunnel). Python 3 standard library only.
"""

from __future__ import annotations

import contextlib
import datetime
import grp
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, NoReturn

NAME = "campus-portainer-double"
NOTICE = "TEST DOUBLE of Portainer for campus.swarm tests: this is NOT Portainer"
MARKER = "campus-portainer-double.json"
RUN_AS = "nobody"

# Portainer CE server flags (api/cli/cli.go): those taking a value, and switches.
VALUE_FLAGS = {
    "--admin-password", "--admin-password-file", "--assets", "-a", "--base-url", "-b", "--bind", "-p",
    "--bind-https", "--data", "-d", "--host", "-H", "--hide-label", "-l", "--initial-mmap-size",
    "--license-key", "--log-level", "--log-mode", "--logo", "--max-batch-delay", "--max-batch-size",
    "--mtlscacert", "--mtlscert", "--mtlskey", "--secret-key-name", "--snapshot-interval", "--sslcacert",
    "--sslcert", "--sslkey", "--templates", "-t", "--tlscacert", "--tlscert", "--tlskey", "--trusted-origins",
    "--tunnel-addr", "--tunnel-port", "--feat",
}
BOOL_FLAGS = {
    "--tlsskipverify", "--tlsverify", "--http-disabled", "--http-enabled", "--ssl", "--no-analytics",
    "--edge-compute", "--generate-admin-password", "--rollback", "--demo",
}
ALIASES = {"-a": "--assets", "-b": "--base-url", "-p": "--bind", "-d": "--data", "-H": "--host", "-l": "--hide-label", "-t": "--templates"}
REPEATABLE = {"--hide-label", "--feat"}
DEFAULTS: dict[str, Any] = {
    "--bind": ":9000", "--bind-https": ":9443", "--tunnel-addr": "0.0.0.0", "--tunnel-port": "8000", "--data": "/data",
}


def log(message: str) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {NAME}: {message}", file=sys.stderr, flush=True)


def fail(message: str) -> NoReturn:
    log(f"REFUSING TO START: {message}")
    sys.exit(1)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def secret_report(name: str) -> dict[str, Any]:
    value = os.environ.get(name)
    return {"set": value is not None, "sha256": sha256(value.encode()) if value is not None else None}


def split_addr(addr: str, what: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        fail(f"{what} {addr!r} is not [HOST]:PORT")
    return host.strip("[]"), int(port)


def parse_server_args(argv: list[str]) -> dict[str, Any]:
    """Portainer's flags (kingpin: --flag value, --flag=value, -Xvalue not needed); unknown ones are logged and skipped."""
    opts: dict[str, Any] = dict(DEFAULTS)
    for name in BOOL_FLAGS:
        opts[name] = False
    for name in REPEATABLE:
        opts[name] = []
    ignored: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        name = ALIASES.get(name, name)
        if name in BOOL_FLAGS:
            opts[name] = value.lower() not in ("false", "0") if eq else True
        elif name in VALUE_FLAGS:
            if not eq:
                i += 1
                if i >= len(argv):
                    fail(f"flag {name} expects a value")
                value = argv[i]
            if name in REPEATABLE:
                opts[name].append(value)
            else:
                opts[name] = value
        elif name == "--version":
            print("double")
            sys.exit(0)
        else:
            # Not a Portainer flag we know: skip it (and its value, if it seems to have one).
            skipped = [arg]
            if arg.startswith("-") and not eq and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                i += 1
                skipped.append(argv[i])
            ignored.append(" ".join(skipped))
        i += 1
    for item in ignored:
        log(f"ignoring unknown argument: {item}")
    opts["ignored"] = ignored
    return opts


def validate_server(opts: dict[str, Any]) -> None:
    if opts.get("--admin-password") and opts.get("--admin-password-file"):
        fail("Cannot use --admin-password with --admin-password-file (Portainer refuses this too)")
    host = opts.get("--host") or ""
    if host:
        if not host.startswith(("unix://", "tcp://", "npipe://")):
            fail(f"-H {host!r}: Portainer only supports unix://, npipe:// or tcp://")
        if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
            fail(f"-H {host!r}: unable to locate Unix socket")
        if host.startswith("tcp://"):
            split_addr(host.removeprefix("tcp://"), "-H")
    path = opts.get("--admin-password-file")
    if not path:
        fail("no --admin-password-file given (the real Portainer would start without an admin and lock its setup after 5 minutes)")
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        fail(f"cannot read the admin password file {path}: {exc.strerror}")
    if not content.strip():
        fail(f"the admin password file {path} is empty")
    opts["password_content"] = content


def load_data_dir(opts: dict[str, Any]) -> dict[str, Any]:
    """Like Portainer: the admin is created on the first start only; later starts keep it."""
    data_dir = opts["--data"]
    marker = os.path.join(data_dir, MARKER)
    content: bytes = opts.pop("password_content")
    portainer_view = content.removesuffix(b"\n")  # Portainer: strings.TrimSuffix(string(content), "\n")
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    state: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, ValueError), open(marker, encoding="utf-8") as handle:
        state = json.load(handle)
    created = "admin_password_sha256" not in state
    if created:
        state.update(admin_password_sha256=sha256(portainer_view), admin_created_at=now, starts=0)
        log("created admin user with the given password (double: only its sha256 is kept, in the data directory)")
    else:
        log("instance already has an administrator user defined, skipping admin password related flags")
    state["starts"] = int(state.get("starts", 0)) + 1
    state["last_start"] = now
    state["test_double"] = True
    writable = True
    try:
        os.makedirs(data_dir, exist_ok=True)
        tmp = marker + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(tmp, marker)
    except OSError as exc:
        writable = False
        log(f"WARNING: data directory {data_dir} is not writable ({exc.strerror}): nothing persists")
    return {
        "test_double": True,
        "file": opts["--admin-password-file"],
        # The file exactly as read at start, and as Portainer uses it (one trailing "\n" removed).
        "sha256": sha256(content),
        "sha256_as_portainer_uses_it": sha256(portainer_view),
        "ends_with_newline": content.endswith(b"\n"),
        # The admin password the instance really has: the one of its first start.
        "admin_created_this_start": created,
        "admin_password_sha256": state["admin_password_sha256"],
        "admin_created_at": state.get("admin_created_at"),
        "data_dir": data_dir,
        "data_dir_writable": writable,
        "starts": state["starts"],
    }


def tls_context(opts: dict[str, Any]) -> ssl.SSLContext | None:
    cert, key = opts.get("--sslcert"), opts.get("--sslkey")
    if not (cert and key):
        cert_dir = os.path.join(opts["--data"], "certs") if os.access(opts["--data"], os.W_OK) else "/tmp/campus-portainer-double-certs"
        cert, key = os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem")
        if not (os.path.exists(cert) and os.path.exists(key)):
            if not shutil.which("openssl"):
                log("WARNING: no openssl, no certificate: HTTPS is not served")
                return None
            os.makedirs(cert_dir, mode=0o700, exist_ok=True)
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                 "-subj", "/CN=campus-portainer-double", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                 "-keyout", key, "-out", cert],
                check=True, capture_output=True,
            )
            log(f"generated a self-signed certificate in {cert_dir}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def drop_privileges() -> None:
    """Read secrets and write /data as root (as Portainer, which runs as root, would), then serve as nobody."""
    if os.getuid() != 0:
        return
    user = pwd.getpwnam(RUN_AS)
    os.setgroups([])
    os.setgid(grp.getgrgid(user.pw_gid).gr_gid)
    os.setuid(user.pw_uid)
    os.environ["HOME"] = "/"


class JSONHandler(BaseHTTPRequestHandler):
    server_version = NAME
    sys_version = ""
    routes: ClassVar[dict[str, Any]] = {}

    def answer(self, code: int, body: dict[str, Any]) -> None:
        data = (json.dumps({"test_double": True, **body}, indent=1) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Test-Double", NAME)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        route = self.routes.get(self.path.split("?")[0])
        if route is None:
            self.answer(404, {"message": "not found", "path": self.path, "notice": NOTICE})
            return
        try:
            self.answer(200, route())
        except Exception as exc:  # noqa: BLE001 (a double answers, it does not die)
            self.answer(500, {"message": f"{type(exc).__name__}: {exc}"})

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        log(f"{self.client_address[0]} {format % args}")


def resolve_ipv4(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return sorted({str(info[4][0]) for info in infos}, key=lambda ip: tuple(int(x) for x in ip.split(".")))


def probe_agent(host_url: str, server_secret_sha: str | None) -> dict[str, Any]:
    if not host_url.startswith("tcp://"):
        return {"host": host_url, "message": "-H is not tcp://HOST:PORT: no agent to probe"}
    host, port = split_addr(host_url.removeprefix("tcp://"), "-H")
    addresses = resolve_ipv4(host)
    agents = []
    for ip in addresses:
        entry: dict[str, Any] = {"address": ip, "port": port, "tcp": False}
        try:
            with socket.create_connection((ip, port), timeout=2):
                entry["tcp"] = True
            with urllib.request.urlopen(f"http://{ip}:{port}/ping", timeout=3) as reply:
                ping = json.load(reply)
            entry["ping"] = ping
            entry["agent_secret_matches"] = ping.get("agent_secret_sha256") == server_secret_sha
        except (OSError, ValueError) as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        agents.append(entry)
    return {
        "host": host,
        "port": port,
        "resolved": addresses,
        "answered": [a["address"] for a in agents if a["tcp"]],
        "agents": agents,
    }


def serve(servers: list[tuple[str, ThreadingHTTPServer]]) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    for label, httpd in servers:
        host, port = str(httpd.server_address[0]), httpd.server_address[1]
        log(f"listening on {host or '*'}:{port} ({label})")
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    stop.wait()
    log("stopping")


def make_server(addr: tuple[str, int], handler: type[JSONHandler], context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer(addr, handler)
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    return httpd


def run_server(argv: list[str]) -> None:
    log(f"{NOTICE}; server mode, arguments: {' '.join(argv) or '(none)'}")
    opts = parse_server_args(argv)
    validate_server(opts)
    password = load_data_dir(opts)
    http_host, http_port = split_addr(opts["--bind"], "--bind")
    https_host, https_port = split_addr(opts["--bind-https"], "--bind-https")
    context = tls_context(opts)
    agent_secret = secret_report("AGENT_SECRET")
    log(f"AGENT_SECRET is {'set' if agent_secret['set'] else 'not set'}; environment URL: {opts['--host'] or '(none)'}")
    log(f"edge tunnel: --tunnel-addr {opts['--tunnel-addr']} --tunnel-port {opts['--tunnel-port']} (the double does NOT listen there)")
    status = {
        "Version": "double",
        "notice": NOTICE,
        "hostname": socket.gethostname(),
        "flags": {
            "host": opts["--host"],
            "tlsskipverify": opts["--tlsskipverify"],
            "bind": opts["--bind"],
            "bind_https": opts["--bind-https"],
            "http_disabled": opts["--http-disabled"],
            "http_enabled": opts["--http-enabled"],
            "tunnel_addr": opts["--tunnel-addr"],
            "tunnel_port": opts["--tunnel-port"],
            "data": opts["--data"],
            "admin_password_file": opts["--admin-password-file"],
            "ignored": opts["ignored"],
        },
        "agent_secret_set": agent_secret["set"],
    }

    class Handler(JSONHandler):
        routes: ClassVar[dict[str, Any]] = {
            "/api/system/status": lambda: status,
            "/api/status": lambda: status,
            "/api/test-double/admin-password-sha256": lambda: password,
            "/api/test-double/agent": lambda: {
                "agent_secret_set": agent_secret["set"],
                "agent_secret_sha256": agent_secret["sha256"],
                **probe_agent(opts["--host"] or "", agent_secret["sha256"]),
            },
        }

    servers = []
    if opts["--http-disabled"]:
        log("--http-disabled: no plain HTTP")
    else:
        servers.append(("HTTP", make_server((http_host, http_port), Handler)))
    if context is not None:
        servers.append(("HTTPS, self-signed unless --sslcert/--sslkey", make_server((https_host, https_port), Handler, context)))
    if not servers:
        fail("nothing to serve (--http-disabled and no certificate)")
    drop_privileges()
    serve(servers)


def run_agent(argv: list[str]) -> None:
    log(f"{NOTICE}; agent mode")
    for arg in argv:
        log(f"ignoring unknown argument: {arg}")
    sock = "/var/run/docker.sock"
    try:
        if not stat.S_ISSOCK(os.stat(sock).st_mode):
            fail(f"{sock} is not a socket (mount the engine's socket, as for the real agent)")
    except FileNotFoundError:
        fail(f"{sock} is missing (the real agent needs it: mount /var/run/docker.sock)")
    volumes = "/var/lib/docker/volumes"
    port = os.environ.get("AGENT_PORT", "9001")
    if not port.isdigit():
        fail(f"invalid port format in AGENT_PORT: {port!r}")
    secret = secret_report("AGENT_SECRET")
    cluster_addr = os.environ.get("AGENT_CLUSTER_ADDR", "")
    log(f"AGENT_SECRET is {'set' if secret['set'] else 'not set'}; AGENT_CLUSTER_ADDR={cluster_addr or '(none)'}")

    def ping() -> dict[str, Any]:
        return {
            "notice": NOTICE,
            "node": socket.gethostname(),
            "agent_secret_set": secret["set"],
            "agent_secret_sha256": secret["sha256"],
            "docker_sock_mounted": True,
            "volumes_dir_mounted": os.path.isdir(volumes),
            "cluster_addr": cluster_addr,
            "cluster_members": resolve_ipv4(cluster_addr) if cluster_addr else [],
        }

    class Handler(JSONHandler):
        routes: ClassVar[dict[str, Any]] = {"/ping": ping}

    httpd = make_server((os.environ.get("AGENT_HOST", "0.0.0.0"), int(port)), Handler)
    drop_privileges()
    serve([("agent HTTP (the real agent speaks HTTPS)", httpd)])


def main(argv: list[str]) -> None:
    if argv[:1] == ["agent"]:
        run_agent(argv[1:])
    elif argv[:1] == ["server"]:
        run_server(argv[1:])
    elif not argv and os.environ.get("AGENT_CLUSTER_ADDR"):
        run_agent([])  # how portainer/agent runs: no arguments, configured by its environment
    else:
        run_server(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
