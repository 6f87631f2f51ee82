# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Checks of one host's role variables against their real domains (beyond their types).

Each ``check_ROLE`` takes the host's typed variables (after the role's argument
spec), the host's name and the run's :class:`Problems`, and adds a problem for
each value that a role would accept but that cannot work: a port outside its
range, a size nginx or Docker does not read, a name Docker reserves, an e-mail
address without a domain. Checks that need the node itself (its addresses,
routes, interfaces) or other hosts live in ``_plan``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.campus.swarm.plugins.plugin_utils._plan_problems import Problems

# Docker's own names for networks it makes or keeps (network create refuses them, or they collide).
RESERVED_NETWORKS = ("bridge", "host", "none", "ingress", "docker_gwbridge")
# What the kernel takes for a link (IPv4's minimum) and what VXLAN adds on top of a container's MTU.
MIN_MTU = 68
MAX_MTU = 65535
VXLAN_OVERHEAD = 50
# A data-path port: Docker takes 1024-49151 (docker swarm init --help).
DATA_PATH_PORTS = (1024, 49151)
GOSSIP_PORT = 7946
# The logging drivers whose files rotate by max-size and max-file.
ROTATING_LOG_DRIVERS = ("json-file", "local")
LOG_DRIVERS = ("json-file", "local", "journald", "syslog", "gelf", "fluentd", "awslogs", "splunk", "gcplogs",
               "logentries", "etwlogs", "none")
DOCKER_CHANNELS = ("stable", "test", "nightly")
NGINX_LOG_LEVELS = ("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg")
TSIG_ALGORITHMS = ("HMAC-MD5", "HMAC-SHA1", "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512")
# daemon.json keys Debian's and Docker's docker.service already give as flags: dockerd refuses to start.
DAEMON_FLAG_KEYS = ("hosts",)

_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?")
_VERSION3 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_CHECKSUM = re.compile(r"(sha256|sha384|sha512):[0-9a-f]{64,128}")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*")
# apt takes a local mirror as a file: URI too.
_APT_URL = re.compile(r"(https?://[^\s/$.?#]|file:///)[^\s]*")
_PROXY_URL = re.compile(r"(https?|socks5)://[^\s]+")
_DOCKER_SIZE = re.compile(r"[1-9][0-9]*[kmgKMG]?")
_NGINX_SIZE = re.compile(r"[0-9]+[kKmMgG]?")
_NGINX_TIME = re.compile(r"([0-9]+(ms|s|m|h|d|w|M|y)?)+")
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
_REGISTRY = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?")
_NO_PROXY_ENTRY = re.compile(r"[^\s,]+")
# Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest], lower-case path.
_IMAGE = re.compile(r"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
                    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?")
# Service and network names: Docker's rule for object names, at most 63 (a DNS label).
_OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_LABEL_KEY = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+=*")
# Labels the collection sets on nodes itself.
MANAGED_NODE_LABELS = ("campus.swarm.edge", "campus.swarm.portainer")

Values = Mapping[str, Any]


def _port_ok(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _port(v: Values, name: str, host: str, p: Problems) -> None:
    if not _port_ok(v.get(name)):
        p.add(name, host, f"{v.get(name)!r} is not a port number", "use a port from 1 to 65535")


def _at_least(v: Values, name: str, minimum: int, host: str, p: Problems, why: str = "") -> None:
    value = v.get(name)
    if isinstance(value, int) and value < minimum:
        p.add(name, host, f"{value} is less than {minimum}" + (f" ({why})" if why else ""), f"set it to {minimum} or more")


def _match(v: Values, name: str, pattern: re.Pattern[str], host: str, p: Problems, what: str, fix: str,
           empty_ok: bool = False) -> None:
    value = v.get(name)
    if empty_ok and value in ("", None):
        return
    if not isinstance(value, str) or not pattern.fullmatch(value):
        p.add(name, host, f"{value!r} is not {what}", fix)


def _absolute(v: Values, name: str, host: str, p: Problems) -> None:
    value = v.get(name)
    if not isinstance(value, str) or not value.startswith("/"):
        p.add(name, host, f"{value!r} is not an absolute path", "give the directory as an absolute path such as /var/tmp")


def _sources(items: Any, label: str, host: str, p: Problems) -> None:
    for item in items or []:
        try:
            ipaddress.ip_network(str(item).strip("[]"), strict=False)
        except ValueError:
            p.add(label, host, f"{item!r} is not an address or CIDR range", "use addresses or ranges such as 192.0.2.0/24 or 2001:db8::/32")


def mtu_problem(mtu: int, underlay: int | None, what: str) -> str:
    """Why an overlay planned for ``mtu`` cannot carry traffic, '' when it can."""
    if mtu < MIN_MTU + VXLAN_OVERHEAD or mtu > MAX_MTU:
        return f"{what} {mtu} is outside {MIN_MTU + VXLAN_OVERHEAD}-{MAX_MTU} (containers get {VXLAN_OVERHEAD} bytes less for VXLAN, and Linux needs {MIN_MTU})"
    if underlay is not None and mtu > underlay:
        return f"{what} {mtu} is larger than the underlay MTU {underlay}: full-size packets between nodes would be dropped"
    return ""


def check_docker(v: Values, host: str, p: Problems) -> None:
    if v.get("docker_install_source") == "official":
        _match(v, "docker_official_version", _VERSION3, host, p, "a Docker CE release such as 28.5.2", "give MAJOR.MINOR.PATCH")
        _match(v, "docker_official_repo_url", _APT_URL, host, p, "an http(s) or file:/// URL",
               "give the repository's base URL, such as https://download.docker.com/linux")
        _match(v, "docker_official_gpg_key_checksum", _CHECKSUM, host, p, "a checksum such as sha256:<64 hex digits>",
               "give the key's checksum as ALGORITHM:HEX")
        if v.get("docker_official_channel") not in DOCKER_CHANNELS:
            p.add("docker_official_channel", host, f"{v.get('docker_official_channel')!r} is not a channel of Docker's repository",
                  f"use one of {', '.join(DOCKER_CHANNELS)}")
        if not v.get("docker_official_packages"):
            p.add("docker_official_packages", host, "is empty: no engine would be installed", "list the engine packages (docker-ce, docker-ce-cli)")
    elif not v.get("docker_distro_packages"):
        p.add("docker_distro_packages", host, "is empty: no engine would be installed", "list the engine package (docker.io)")
    for name in ("docker_official_packages", "docker_official_extra_packages", "docker_distro_packages", "docker_sdk_packages"):
        for item in v.get(name) or []:
            if not isinstance(item, str) or not _PACKAGE.fullmatch(item):
                p.add(name, host, f"{item!r} is not a Debian package name", "give package names such as docker.io (or name=version)")
    driver = v.get("docker_log_driver")
    if driver not in LOG_DRIVERS:
        p.add("docker_log_driver", host, f"{driver!r} is not a logging driver Docker has", f"use one of {', '.join(LOG_DRIVERS)}")
    if driver in ROTATING_LOG_DRIVERS:
        _match(v, "docker_log_max_size", _DOCKER_SIZE, host, p, "a size Docker reads, such as 10m", "give a number with k, m or g")
        _at_least(v, "docker_log_max_file", 1, host, p, "Docker keeps at least the current file")
    if v.get("docker_mtu") and not MIN_MTU <= v["docker_mtu"] <= MAX_MTU:
        p.add("docker_mtu", host, f"{v['docker_mtu']} is outside {MIN_MTU}-{MAX_MTU}", "set 0 (Docker's default) or an MTU the host's network carries")
    for url in v.get("docker_registry_mirrors") or []:
        if not isinstance(url, str) or not _URL.fullmatch(url):
            p.add("docker_registry_mirrors", host, f"{url!r} is not an http(s) URL", "give each mirror as a URL such as https://mirror.campus.example")
    for registry in (v.get("docker_registry_ca_files") or {}):
        if not _REGISTRY.fullmatch(str(registry)):
            p.add("docker_registry_ca_files", host, f"{registry!r} is not a registry as images name it",
                  "use host or host:port without scheme or path, such as registry.campus.example:5000")
    options = v.get("docker_daemon_options") or {}
    if options.get("live-restore") in (True, "true", "True", "yes"):
        p.add("docker_daemon_options", host, "live-restore is true, and this host is a swarm node: Docker refuses swarm mode "
              "with live-restore (and a daemon.json with it breaks swarm silently after a restart)",
              "remove live-restore from docker_daemon_options for hosts in group swarm")
    for key in DAEMON_FLAG_KEYS:
        if key in options:
            p.add("docker_daemon_options", host, f"{key!r} is already given to dockerd as a flag by docker.service, and dockerd "
                  "refuses to start when a setting is both a flag and in daemon.json", f"remove {key!r}, or change the unit's flags yourself")
    for name in ("docker_proxy_http", "docker_proxy_https"):
        value = v.get(name) or ""
        if value and not _PROXY_URL.fullmatch(value):
            p.add(name, host, "is not a proxy URL (value not shown: it may hold a password)", "give a URL such as http://proxy.campus.example:3128")
    for entry in v.get("docker_proxy_no_proxy") or []:
        if not isinstance(entry, str) or not _NO_PROXY_ENTRY.fullmatch(entry):
            p.add("docker_proxy_no_proxy", host, f"{entry!r} is not a NO_PROXY entry",
                  "give one name, .domain, address or CIDR range per item, without spaces or commas")


def check_firewall(v: Values, host: str, p: Problems) -> None:
    _port(v, "firewall_ssh_port", host, p)
    swarm_ports = {v.get("swarm_port"), GOSSIP_PORT, v.get("swarm_data_path_port")}
    for port in v.get("firewall_public_ports") or []:
        if not _port_ok(port):
            p.add("firewall_public_ports", host, f"{port!r} is not a port number", "use ports from 1 to 65535")
        elif port in swarm_ports:
            p.add("firewall_public_ports", host, f"{port} is a swarm port: the swarm's control and data paths would be open to the public",
                  "remove it; the members reach the swarm ports anyway")
    for name in ("firewall_ssh_sources", "firewall_public_sources", "firewall_cluster_addresses", "firewall_published_sources"):
        _sources(v.get(name), name, host, p)
    for index, rule in enumerate(v.get("firewall_extra_rules") or []):
        if not _port_ok(rule.get("port")):
            p.add(f"firewall_extra_rules[{index}]", host, f"port {rule.get('port')!r} is not a port number", "use a port from 1 to 65535")
        _sources(rule.get("sources"), f"firewall_extra_rules[{index}].sources", host, p)
        if not rule.get("sources"):
            p.add(f"firewall_extra_rules[{index}]", host, "has no sources: the rule would allow nothing",
                  "list the sources, or [0.0.0.0/0, ::/0] for anywhere")


def check_swarm(v: Values, host: str, p: Problems) -> None:
    _port(v, "swarm_port", host, p)
    port = v.get("swarm_port")
    data_path = v.get("swarm_data_path_port")
    if not (isinstance(data_path, int) and DATA_PATH_PORTS[0] <= data_path <= DATA_PATH_PORTS[1]):
        p.add("swarm_data_path_port", host, f"{data_path!r} is outside {DATA_PATH_PORTS[0]}-{DATA_PATH_PORTS[1]}, the range Docker takes",
              "choose a UDP port in that range (4789 is Docker's default; 4790 where the hypervisor owns 4789)")
    elif data_path in (port, GOSSIP_PORT):
        p.add("swarm_data_path_port", host, f"{data_path} is also {'swarm_port' if data_path == port else 'the gossip port 7946'}",
              "choose another UDP port")
    if port == GOSSIP_PORT:
        p.add("swarm_port", host, "7946 is the gossip port", "choose another port (2377 is Docker's default)")
    listen = v.get("swarm_listen_addr") or ""
    address, sep, listen_port = str(listen).rpartition(":")
    if not sep or not listen_port.isdigit() or not address:
        p.add("swarm_listen_addr", host, f"{listen!r} is not ADDRESS:PORT", "give an address and the port, such as 0.0.0.0:2377")
    elif int(listen_port) != port:
        p.add("swarm_listen_addr", host, f"listens on port {listen_port} but nodes join through swarm_port {port}",
              "give the same port in both (swarm_listen_addr defaults to 0.0.0.0:swarm_port)")
    _at_least(v, "swarm_port_check_timeout", 1, host, p)
    key_file = v.get("swarm_unlock_key_file") or ""
    if v.get("swarm_autolock") and not key_file:
        p.add("swarm_unlock_key_file", host, "is empty while swarm_autolock is true: the unlock key would be kept nowhere",
              "give a path on the controller for it (the file is written with mode 0600; keep it in a vault)")
    elif key_file and not str(key_file).startswith("/"):
        p.add("swarm_unlock_key_file", host, f"{key_file!r} is not an absolute path", "give the key file's absolute path on the controller")
    for key, value in (v.get("swarm_labels") or {}).items():
        if not _LABEL_KEY.fullmatch(str(key)):
            p.add("swarm_labels", host, f"label {key!r} is not a label key", "use letters, digits, '.', '_' and '-' such as zone or campus.role")
        elif str(key) in MANAGED_NODE_LABELS:
            p.add("swarm_labels", host, f"label {key} is set by the collection itself", "remove it from swarm_labels")
        if isinstance(value, (dict, list)) or value is None:
            p.add("swarm_labels", host, f"label {key} has a {type(value).__name__} value", "give a string, number or boolean")


def check_networks(v: Values, host: str, p: Problems) -> None:
    for name in ("networks_underlay_mtu", "networks_ingress_mtu"):
        value = v.get(name) or 0
        if value and not MIN_MTU + VXLAN_OVERHEAD <= value <= MAX_MTU:
            p.add(name, host, f"{value} is outside {MIN_MTU + VXLAN_OVERHEAD}-{MAX_MTU}", "set 0 (derived) or the MTU of the network between the nodes")


def check_images(v: Values, host: str, p: Problems, inventory_names: set[str]) -> None:
    for index, item in enumerate(v.get("images_list") or []):
        name = item.get("name") or ""
        if not _IMAGE.fullmatch(name):
            p.add(f"images_list[{index}].name", host, f"{name!r} is not an image reference",
                  "give it as services name it, such as registry.campus.example/team/app:1.4")
        for target in item.get("hosts") or []:
            if target not in inventory_names:
                p.add(f"images_list[{index}].hosts", host, f"{target!r} ({name}) is neither a group nor a host of the inventory",
                      "name groups or hosts of the inventory (default [swarm])")
    build = v.get("images_build_host")
    if build not in ("localhost", "127.0.0.1") and build not in inventory_names:
        p.add("images_build_host", host, f"{build!r} is neither localhost nor a host of the inventory",
              "give localhost (the controller) or the build node's inventory name")
    _absolute(v, "images_remote_dir", host, p)


def check_proxy(v: Values, host: str, p: Problems) -> None:
    image = v.get("proxy_image") or ""
    if not _IMAGE.fullmatch(image):
        p.add("proxy_image", host, f"{image!r} is not an image reference", "give a pinned image such as nginx:1.27.3")
    _object_name(v, "proxy_service_name", host, p)
    _network_name(v, "proxy_network", host, p)
    for name in ("proxy_config_dir", "proxy_acme_webroot", "proxy_mount_dir"):
        _absolute(v, name, host, p)
    if not (isinstance(v.get("proxy_worker_gid"), int) and 0 <= v["proxy_worker_gid"] <= 65535):
        p.add("proxy_worker_gid", host, f"{v.get('proxy_worker_gid')!r} is not a group ID",
              "give the group ID of proxy_worker_user in the image (official image 101, Debian 33)")
    if not _USER.fullmatch(str(v.get("proxy_worker_user") or "")):
        p.add("proxy_worker_user", host, f"{v.get('proxy_worker_user')!r} is not a user name", "give the user nginx's workers run as in the image")
    _at_least(v, "proxy_generations_kept", 1, host, p, "the current generation is kept")
    _at_least(v, "proxy_worker_connections", 16, host, p, "nginx needs a few connections for itself")
    _at_least(v, "proxy_hsts_max_age", 0, host, p)
    _at_least(v, "proxy_wait_timeout", 1, host, p)
    _match(v, "proxy_max_body_size", _NGINX_SIZE, host, p, "a size nginx reads, such as 10m", "give a number with k, m or g (0: no limit)")
    _match(v, "proxy_resolver_valid", _NGINX_TIME, host, p, "a time nginx reads, such as 10s", "give a number with ms, s, m or h")
    if v.get("proxy_error_log_level") not in NGINX_LOG_LEVELS:
        p.add("proxy_error_log_level", host, f"{v.get('proxy_error_log_level')!r} is not an nginx log level", f"use one of {', '.join(NGINX_LOG_LEVELS)}")
    for key, value in (v.get("proxy_security_headers") or {}).items():
        if not _HEADER_NAME.fullmatch(str(key)):
            p.add("proxy_security_headers", host, f"{key!r} is not an HTTP header name", "use a header name such as X-Frame-Options")
        if not isinstance(value, str) or '"' in value or "\n" in value or not value:
            p.add("proxy_security_headers", host, f"the value of {key} is empty, not a string or holds a double quote or a line break",
                  "give the header's value as one line of text")
        if str(key).lower() == "strict-transport-security":
            p.add("proxy_security_headers", host, "Strict-Transport-Security is set by proxy_hsts_max_age", "remove it here and set proxy_hsts_max_age")


def _object_name(v: Values, name: str, host: str, p: Problems) -> None:
    _match(v, name, _OBJECT_NAME, host, p, "a Docker object name",
           "use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 63 characters")


def _network_name(v: Values, name: str, host: str, p: Problems) -> None:
    _object_name(v, name, host, p)
    if v.get(name) in RESERVED_NETWORKS:
        p.add(name, host, f"{v[name]} is a network Docker keeps for itself", "choose another name")


def check_certbot(v: Values, host: str, p: Problems, controller_file: Callable[[str], str]) -> None:
    _match(v, "certbot_acme_server", re.compile(r"https://[^\s]+"), host, p, "an https:// directory URL",
           "give the ACME directory URL, such as https://acme-v02.api.letsencrypt.org/directory")
    if v.get("certbot_staging") and v.get("certbot_acme_server") != "https://acme-v02.api.letsencrypt.org/directory":
        p.add("certbot_staging", host, "only applies to Let's Encrypt's default server, and certbot_acme_server is another",
              "set certbot_staging: false, or give the staging directory as certbot_acme_server")
    _match(v, "certbot_email", _EMAIL, host, p, "an e-mail address", "give an address such as admin@campus.example, or '' for none", empty_ok=True)
    if bool(v.get("certbot_eab_kid")) != bool(v.get("certbot_eab_hmac_key")):
        p.add("certbot_eab_kid", host, "certbot_eab_kid and certbot_eab_hmac_key go together", "set both or neither")
    if v.get("certbot_eab_hmac_key") and not _BASE64.fullmatch(v["certbot_eab_hmac_key"]):
        p.add("certbot_eab_hmac_key", host, "is not base64url (value not shown)", "give the HMAC key as the ACME server issued it")
    _port(v, "certbot_rfc2136_port", host, p)
    if v.get("certbot_rfc2136_key_algorithm") not in TSIG_ALGORITHMS:
        p.add("certbot_rfc2136_key_algorithm", host, f"{v.get('certbot_rfc2136_key_algorithm')!r} is not a TSIG algorithm",
              f"use one of {', '.join(TSIG_ALGORITHMS)}")
    if v.get("certbot_rfc2136_server") and not _address_or_name(v["certbot_rfc2136_server"]):
        p.add("certbot_rfc2136_server", host, f"{v['certbot_rfc2136_server']!r} is neither an address nor a host name", "give the DNS server's address")
    if v.get("certbot_rfc2136_key_name") and not _HOSTNAME.fullmatch(v["certbot_rfc2136_key_name"]):
        p.add("certbot_rfc2136_key_name", host, f"{v['certbot_rfc2136_key_name']!r} is not a TSIG key name (a DNS name)",
              "give the key's name as the DNS server has it, such as certbot.campus.example")
    for entry in v.get("certbot_no_proxy") or []:
        if not isinstance(entry, str) or not _NO_PROXY_ENTRY.fullmatch(entry):
            p.add("certbot_no_proxy", host, f"{entry!r} is not a NO_PROXY entry", "give one name, .domain, address or CIDR range per item")
    if v.get("certbot_rfc2136_key_secret") and not _BASE64.fullmatch(v["certbot_rfc2136_key_secret"]):
        p.add("certbot_rfc2136_key_secret", host, "is not base64 (value not shown)", "give the TSIG secret as the DNS server has it")
    _at_least(v, "certbot_dns_propagation_seconds", 0, host, p)
    if not _USER.fullmatch(str(v.get("certbot_receiver_user") or "")):
        p.add("certbot_receiver_user", host, f"{v.get('certbot_receiver_user')!r} is not a user name",
              "use lower-case letters, digits, '_' and '-', at most 32")
    if v.get("certbot_proxy") and not _PROXY_URL.fullmatch(v["certbot_proxy"]):
        p.add("certbot_proxy", host, "is not a proxy URL (value not shown)", "give a URL such as http://proxy.campus.example:3128")
    ca_file = v.get("certbot_acme_ca_file") or ""
    if ca_file:
        problem = controller_file(ca_file)
        if problem:
            p.add("certbot_acme_ca_file", host, problem, "give the path of the ACME server's CA bundle on the controller")


def _address_or_name(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(_HOSTNAME.fullmatch(value))
    return True


def check_portainer(v: Values, host: str, p: Problems) -> None:
    if not v.get("portainer_admin_password"):
        return
    if len(v["portainer_admin_password"]) < 12:
        p.add("portainer_admin_password", host, "is shorter than 12 characters, which Portainer refuses (value not shown)",
              "give a longer password (in a vault)")
    for name in ("portainer_image", "portainer_agent_image"):
        if not _IMAGE.fullmatch(str(v.get(name) or "")):
            p.add(name, host, f"{v.get(name)!r} is not an image reference", "give a pinned image such as portainer/agent:2.45.1")
    _match(v, "portainer_stack", re.compile(r"[A-Za-z0-9]+(?:[-_]+[A-Za-z0-9]+)*"), host, p, "a stack name",
           "use letters and digits joined by '-' or '_'")
    for name in ("portainer_agent_network", "portainer_proxy_network"):
        _network_name(v, name, host, p)
    _at_least(v, "portainer_wait_timeout", 1, host, p)
    secret = v.get("portainer_agent_secret") or ""
    if secret and not re.fullmatch(r"[A-Za-z0-9._~+/=-]{16,}", secret):
        p.add("portainer_agent_secret", host, "is shorter than 16 characters or holds characters other than letters, digits and ._~+/=- "
              "(value not shown)", "give a longer random string, or leave it empty to have one generated")


def check_stacks(v: Values, host: str, p: Problems) -> None:
    _at_least(v, "stacks_min_running", 0, host, p)
    _at_least(v, "stacks_wait_timeout", 1, host, p)
    for index, entry in enumerate(v.get("stacks_registries") or []):
        if not isinstance(entry, Mapping) or not all(isinstance(entry.get(k), str) and entry.get(k) for k in ("registry", "username", "password")):
            p.add(f"stacks_registries[{index}]", host, "needs registry, username and password", "give all three (the password from a vault)")
        elif not _REGISTRY.fullmatch(entry["registry"]):
            p.add(f"stacks_registries[{index}].registry", host, f"{entry['registry']!r} is not a registry host[:port]",
                  "give the registry as images name it, such as registry.campus.example:5000")
