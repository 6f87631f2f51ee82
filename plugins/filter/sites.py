# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The sites behind the nginx entrance (role campus.swarm.proxy) and the certificates they need (role campus.swarm.certbot)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.plugins.filter.core import get_encrypted_password

from ansible_collections.campus.swarm.plugins.plugin_utils._filter_errors import reports

MODES = ("single", "per_site")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SIZE = re.compile(r"^[0-9]+[kKmMgG]?$")
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_KEYS = {"names", "upstream", "websockets", "max_body_size", "basic_auth", "allow", "certificate", "name"}


class SiteError(ValueError):
    """A site declaration that nginx could not serve."""


def _seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _upstream(label: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str) and ":" in value:
        service, port_text = value.rsplit(":", 1)
        value = {"service": service, "port": port_text}
    if not isinstance(value, Mapping):
        raise SiteError(f"{label}: upstream must be 'service:port' or {{service, port, scheme}}, got {value!r}")
    service, scheme = str(value.get("service", "")), value.get("scheme", "http")
    if not _SERVICE.match(service):
        raise SiteError(f"{label}: upstream service must be a swarm service name, got {service!r}")
    try:
        port = int(value.get("port", ""))
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise SiteError(f"{label}: upstream port must be 1-65535, got {value.get('port')!r}")
    if scheme not in ("http", "https"):
        raise SiteError(f"{label}: upstream scheme must be http or https, got {scheme!r}")
    return {"service": service, "port": port, "scheme": scheme, "url": f"{scheme}://{service}:{port}"}


def _users(label: str, value: Any, passwords: bool) -> list[dict[str, str]]:
    if not _seq(value):
        raise SiteError(f"{label}: basic_auth must be a list of {{user, password}}")
    users = []
    for entry in value:
        if not isinstance(entry, Mapping) or not entry.get("user") or not entry.get("password"):
            raise SiteError(f"{label}: each basic_auth entry needs user and password")
        user = str(entry["user"])
        if ":" in user or user.strip() != user:
            raise SiteError(f"{label}: basic_auth user {user!r} may not hold ':' or surrounding blanks")
        users.append({"user": user, "password": str(entry["password"])} if passwords else {"user": user})
    return users


def _allow(label: str, value: Any) -> list[str]:
    if not _seq(value):
        raise SiteError(f"{label}: allow must be a list of addresses or CIDR ranges, got {value!r}")
    ranges = []
    for item in value:
        try:
            ranges.append(str(ipaddress.ip_network(str(item), strict=False)))
        except ValueError:
            raise SiteError(f"{label}: allow entry {item!r} is not an address or CIDR range") from None
    return ranges


@reports("proxy_sites", SiteError)
def proxy_sites(sites: Any, mode: str = "single", certificate: str = "campus-swarm", max_body_size: str = "10m",
                passwords: bool = False) -> list[dict[str, Any]]:
    """``proxy_sites`` checked and completed: every key filled in, ``upstream`` split into
    service, port, scheme and url, ``certificate`` the name of the certificate that serves it
    (``certificate`` for all sites in mode ``single``, the site's name in mode ``per_site``).
    ``basic_auth`` keeps the users only unless ``passwords``: the result may become a fact,
    and facts are printed."""
    if not _seq(sites):
        raise SiteError(f"proxy_sites must be a list, got {type(sites).__name__}")
    if mode not in MODES:
        raise SiteError(f"the certificate mode must be single or per_site, got {mode!r}")
    seen: dict[str, str] = {}
    result: list[dict[str, Any]] = []
    ids: list[str] = []
    for index, site in enumerate(sites):
        if not isinstance(site, Mapping):
            raise SiteError(f"proxy_sites[{index}] must be a dict, got {type(site).__name__}")
        names = site.get("names")
        if isinstance(names, str):
            names = [names]
        if not _seq(names) or not names:
            raise SiteError(f"proxy_sites[{index}]: names must be a non-empty list of host names")
        names = [str(n).lower().rstrip(".") for n in names]
        label = f"proxy_sites[{index}] ({names[0]})"
        unknown = sorted(set(site) - _KEYS)
        if unknown:
            raise SiteError(f"{label}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
        for name in names:
            if not _HOST.match(name):
                raise SiteError(f"{label}: {name!r} is not a host name (wildcards are not served)")
            if name in seen:
                raise SiteError(f"{label}: {name} is also a name of {seen[name]}")
            seen[name] = label
        name = str(site.get("name", names[0]))
        if not _ID.match(name):
            raise SiteError(f"{label}: name {name!r} must be lower-case letters, digits, '.' and '-'")
        body = str(site.get("max_body_size", max_body_size))
        if not _SIZE.match(body):
            raise SiteError(f"{label}: max_body_size must be a size such as 10m, got {body!r}")
        cert = str(site.get("certificate", certificate if mode == "single" else name))
        if not _ID.match(cert):
            raise SiteError(f"{label}: certificate {cert!r} must be lower-case letters, digits, '.' and '-'")
        ids.append(name)
        result.append({
            "name": name,
            "names": names,
            "upstream": _upstream(label, site.get("upstream")),
            "websockets": bool(site.get("websockets", False)),
            "max_body_size": body,
            "basic_auth": _users(label, site.get("basic_auth", []), passwords),
            "allow": _allow(label, site.get("allow", [])),
            "certificate": cert,
        })
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise SiteError(f"site names must be unique, found twice: {', '.join(twice)}")
    return result


@reports("proxy_certificates", SiteError)
def proxy_certificates(sites: Any) -> list[dict[str, Any]]:
    """The certificates the sites (the output of ``proxy_sites``) need: ``name`` and the
    ``domains`` it must cover, in the order the sites declare them."""
    if not _seq(sites):
        raise SiteError(f"sites must be a list, got {sites!r}")
    certs: dict[str, list[str]] = {}
    for site in sites:
        if not isinstance(site, Mapping) or "certificate" not in site:
            raise SiteError("give the output of proxy_sites (each site with its certificate)")
        certs.setdefault(site["certificate"], []).extend(site["names"])
    return [{"name": name, "domains": domains} for name, domains in certs.items()]


CHALLENGES = ("http-01", "dns-01")
_WILDCARD = re.compile(r"^\*\.(.+)$")


@reports("certbot_certificates", SiteError)
def certbot_certificates(certificates: Any, challenge: str = "http-01") -> list[dict[str, Any]]:
    """``certbot_certificates`` checked, each with ``name``, ``domains`` and ``challenge``
    (default ``challenge``). Wildcard names need ``dns-01``."""
    if challenge not in CHALLENGES:
        raise SiteError(f"certbot_challenge must be http-01 or dns-01, got {challenge!r}")
    if not _seq(certificates):
        raise SiteError(f"certbot_certificates must be a list, got {certificates!r}")
    result, names = [], set()
    for index, cert in enumerate(certificates):
        if not isinstance(cert, Mapping):
            raise SiteError(f"certbot_certificates[{index}] must be a dict, got {cert!r}")
        name = str(cert.get("name", ""))
        if not _ID.match(name):
            raise SiteError(f"certbot_certificates[{index}]: name {name!r} must be lower-case letters, digits, '.' and '-'")
        if name in names:
            raise SiteError(f"certbot_certificates: {name} is declared twice")
        names.add(name)
        domains = cert.get("domains")
        if not _seq(domains) or not domains:
            raise SiteError(f"certbot_certificates[{index}] ({name}): domains must be a non-empty list")
        kind = cert.get("challenge", challenge)
        if kind not in CHALLENGES:
            raise SiteError(f"certbot_certificates[{index}] ({name}): challenge must be http-01 or dns-01, got {kind!r}")
        clean = []
        for domain in domains:
            domain = str(domain).lower().rstrip(".")
            wildcard = _WILDCARD.match(domain)
            if not _HOST.match(wildcard.group(1) if wildcard else domain):
                raise SiteError(f"certbot_certificates[{index}] ({name}): {domain!r} is not a host name")
            if wildcard and kind != "dns-01":
                raise SiteError(f"certbot_certificates[{index}] ({name}): the wildcard {domain} needs challenge dns-01")
            clean.append(domain)
        result.append({"name": name, "domains": clean, "challenge": kind})
    return result


AUTHENTICATORS = {"http-01": "webroot", "dns-01": "dns-rfc2136"}


@reports("certbot_lineage", SiteError)
def certbot_lineage(certificate: Any, server: str) -> list[str]:
    """What certbot records of ``certificate`` (an item of ``certbot_certificates``) when it is as
    wanted: name, ACME server, authenticator and the sorted names joined by commas."""
    if not isinstance(certificate, Mapping) or certificate.get("challenge") not in AUTHENTICATORS:
        raise SiteError("give an item of the output of certbot_certificates")
    domains = sorted(str(domain) for domain in certificate.get("domains", []))
    return [str(certificate["name"]), server, AUTHENTICATORS[str(certificate["challenge"])], ",".join(domains)]


@reports("proxy_htpasswd", SiteError)
def proxy_htpasswd(sites: Any, directory: str, host: str, group: Any) -> list[dict[str, Any]]:
    """The basic-auth file of each site of ``sites`` (the output of ``proxy_sites`` with passwords) that has users:
    ``{path, content, mode, group}``, each password as SHA-512 crypt with 5000 rounds (glibc's default: nginx checks
    it on every request) and a salt of its own per site, user and ``host`` that is the same on every run (else every
    run rewrites the file) and never derived from the password (a fast hash of it would help guessing). The result
    holds password hashes: never print it."""
    files = []
    for site in sites if _seq(sites) else []:
        lines = []
        for entry in site.get("basic_auth") or []:
            if "password" not in entry:
                raise SiteError("give the output of proxy_sites with passwords")
            salt = hashlib.sha256(f"{site['name']}:{entry['user']}:{host}".encode()).hexdigest()[:16]
            lines.append(f"{entry['user']}:{get_encrypted_password(entry['password'], 'sha512', salt=salt, rounds=5000)}\n")
        if lines:
            files.append({"path": f"{directory}/{site['name']}.htpasswd", "content": "".join(lines), "mode": "0640", "group": group})
    return files


@reports("certbot_current", SiteError)
def certbot_current(certificates: Any, server: str, files: Any, certs: Any, live: str = "/etc/letsencrypt") -> list[str]:
    """The names of ``certificates`` (items of ``certbot_certificates``) that certbot holds as wanted: its renewal
    file names ``server`` and the challenge's authenticator, and its certificate covers exactly the names. ``files``
    and ``certs`` are node_info's ``files`` (with the renewal files' content) and ``certificates`` of certbot_host."""
    if not _seq(certificates) or not isinstance(files, Mapping) or not isinstance(certs, Mapping):
        raise SiteError("give certbot_certificates, the server, and node_info's files and certificates")
    current = []
    for cert in certificates:
        conf = str((files.get(f"{live}/renewal/{cert['name']}.conf") or {}).get("content") or "")
        fields = dict(line.split("=", 1) for line in conf.splitlines() if "=" in line and not line.lstrip().startswith("#"))
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        names = (certs.get(f"{live}/live/{cert['name']}/cert.pem") or {}).get("names")
        if names is None:
            continue
        held = [cert["name"], fields.get("server", ""), fields.get("authenticator", ""), ",".join(sorted(names))]
        if held == certbot_lineage(cert, server):
            current.append(cert["name"])
    return current


@reports("certbot_handover", SiteError)
def certbot_handover(here: Any, files: Any, held: Any, tls: str, everything: bool = False, live: str = "/etc/letsencrypt/live") -> list[Any]:
    """The items of ``files`` (``[certificate, {file, mode}]`` pairs) whose copy in ``tls``/NAME/FILE on an edge
    host differs from what certbot holds (``here``: that host's node_info ``files``; ``held``: certbot_host's), or
    every item when ``everything`` (a certificate was obtained in this run). A file certbot does not hold is left out."""
    if not _seq(files) or not isinstance(held, Mapping) or not isinstance(here, Mapping):
        raise SiteError("give the certificate files and node_info's files of certbot_host and of this host")
    result = []
    for cert, spec in files:
        source = held.get(f"{live}/{cert['name']}/{spec['file']}") or {}
        target = here.get(f"{tls}/{cert['name']}/{spec['file']}") or {}
        if not source.get("checksum") and not everything:
            continue
        if everything or target.get("checksum") != source.get("checksum") or target.get("mode") != spec["mode"] \
                or target.get("type") != "file":
            result.append([cert, spec])
    return result


class FilterModule:
    """Site filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"proxy_sites": proxy_sites, "proxy_certificates": proxy_certificates, "certbot_certificates": certbot_certificates,
                "certbot_lineage": certbot_lineage, "proxy_htpasswd": proxy_htpasswd, "certbot_current": certbot_current,
                "certbot_handover": certbot_handover}
