# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.campus.swarm.plugins.filter.sites import (
    FilterModule,
    certbot_certificates,
    certbot_current,
    certbot_handover,
    certbot_lineage,
    proxy_certificates,
    proxy_htpasswd,
    proxy_sites,
)

APP = {"names": ["App.Campus.Test.", "www.campus.test"], "upstream": "demo_web:8080"}
PORTAINER = {"names": ["portainer.campus.test"], "upstream": {"service": "portainer_portainer", "port": 9000},
             "websockets": True, "allow": ["10.1.2.3", "192.0.2.0/24"], "max_body_size": "0"}


def test_exports() -> None:
    assert sorted(FilterModule().filters()) == ["certbot_certificates", "certbot_current", "certbot_handover", "certbot_lineage",
                                                "proxy_certificates", "proxy_htpasswd", "proxy_sites"]


def test_sites_completed() -> None:
    app, portainer = proxy_sites([APP, PORTAINER])
    assert app == {
        "name": "app.campus.test", "names": ["app.campus.test", "www.campus.test"],
        "upstream": {"service": "demo_web", "port": 8080, "scheme": "http", "url": "http://demo_web:8080"},
        "websockets": False, "max_body_size": "10m", "basic_auth": [], "allow": [], "certificate": "campus-swarm",
    }
    assert portainer["websockets"] is True
    assert portainer["allow"] == ["10.1.2.3/32", "192.0.2.0/24"]
    assert portainer["max_body_size"] == "0"
    assert portainer["upstream"]["url"] == "http://portainer_portainer:9000"


def test_one_certificate_for_all_names() -> None:
    assert proxy_certificates(proxy_sites([APP, PORTAINER])) == [
        {"name": "campus-swarm", "domains": ["app.campus.test", "www.campus.test", "portainer.campus.test"]}]


def test_a_certificate_per_site() -> None:
    sites = proxy_sites([APP, dict(PORTAINER, name="portainer")], mode="per_site")
    assert [s["certificate"] for s in sites] == ["app.campus.test", "portainer"]
    assert proxy_certificates(sites) == [
        {"name": "app.campus.test", "domains": ["app.campus.test", "www.campus.test"]},
        {"name": "portainer", "domains": ["portainer.campus.test"]}]


def test_basic_auth_passwords_only_when_asked() -> None:
    sites = [dict(APP, basic_auth=[{"user": "ops", "password": "s3cret"}])]
    assert proxy_sites(sites)[0]["basic_auth"] == [{"user": "ops"}]
    assert "s3cret" not in repr(proxy_sites(sites))
    assert proxy_sites(sites, passwords=True)[0]["basic_auth"] == [{"user": "ops", "password": "s3cret"}]


@pytest.mark.parametrize(
    ("sites", "message"),
    [
        ("app", "proxy_sites must be a list"),
        ([{"upstream": "a:1"}], r"proxy_sites\[0\]: names must be a non-empty list"),
        ([dict(APP, names=["*.campus.test"])], "is not a host name"),
        ([dict(APP, names=["bad_name.test"])], "is not a host name"),
        ([APP, dict(PORTAINER, names=["www.campus.test"])], r"www.campus.test is also a name of proxy_sites\[0\]"),
        ([dict(APP, upstream="demo_web")], "upstream must be 'service:port'"),
        ([dict(APP, upstream="demo_web:70000")], "upstream port must be 1-65535"),
        ([dict(APP, upstream=":80")], "upstream service must be a swarm service name"),
        ([dict(APP, upstream={"service": "x", "port": 1, "scheme": "ftp"})], "scheme must be http or https"),
        ([dict(APP, upstream=None)], "upstream must be 'service:port'"),
        ([dict(APP, allow=["10.0.0.0/33"])], "allow entry '10.0.0.0/33' is not"),
        ([dict(APP, allow="10.0.0.0/8")], "allow must be a list"),
        ([dict(APP, basic_auth=[{"user": "a:b", "password": "x"}])], "may not hold ':'"),
        ([dict(APP, basic_auth=[{"user": "ops"}])], "needs user and password"),
        ([dict(APP, max_body_size="10 MB")], "max_body_size must be a size"),
        ([dict(APP, websocket=True)], "unknown keys websocket"),
        ([dict(APP, name="App")], "name 'App' must be lower-case"),
        ([dict(APP, name="x"), dict(PORTAINER, name="x")], "found twice: x"),
    ],
)
def test_bad_sites(sites: Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^proxy_sites: .*" + message):
        proxy_sites(sites)


def test_bad_mode() -> None:
    with pytest.raises(AnsibleFilterError, match="single or per_site"):
        proxy_sites([APP], mode="each")


def test_certificates_need_completed_sites() -> None:
    with pytest.raises(AnsibleFilterError, match="output of proxy_sites"):
        proxy_certificates([APP])


def test_certbot_certificates_filled_in() -> None:
    certs = certbot_certificates([
        {"name": "campus-swarm", "domains": ["App.Campus.Test", "www.campus.test"]},
        {"name": "intranet", "domains": ["*.intra.campus.test"], "challenge": "dns-01"},
    ])
    assert certs == [
        {"name": "campus-swarm", "domains": ["app.campus.test", "www.campus.test"], "challenge": "http-01"},
        {"name": "intranet", "domains": ["*.intra.campus.test"], "challenge": "dns-01"},
    ]
    assert certbot_certificates([{"name": "a", "domains": ["a.test"]}], "dns-01")[0]["challenge"] == "dns-01"


def test_certbot_certificates_from_the_sites() -> None:
    certs = certbot_certificates(proxy_certificates(proxy_sites([APP, PORTAINER])))
    assert [c["challenge"] for c in certs] == ["http-01"]


@pytest.mark.parametrize(
    ("certs", "challenge", "message"),
    [
        ([], "tls-alpn-01", "certbot_challenge must be http-01 or dns-01"),
        ("x", "http-01", "must be a list"),
        ([{"name": "A", "domains": ["a.test"]}], "http-01", "name 'A' must be lower-case"),
        ([{"name": "a", "domains": []}], "http-01", "domains must be a non-empty list"),
        ([{"name": "a", "domains": ["a.test"]}, {"name": "a", "domains": ["b.test"]}], "http-01", "a is declared twice"),
        ([{"name": "a", "domains": ["*.a.test"]}], "http-01", "the wildcard [*].a.test needs challenge dns-01"),
        ([{"name": "a", "domains": ["a..test"]}], "http-01", "is not a host name"),
        ([{"name": "a", "domains": ["a.test"], "challenge": "dns"}], "http-01", "challenge must be http-01 or dns-01"),
    ],
)
def test_bad_certbot_certificates(certs: Any, challenge: str, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^certbot_certificates: .*" + message):
        certbot_certificates(certs, challenge)


def test_certbot_lineage() -> None:
    cert = {"name": "c", "domains": ["www.a.test", "a.test"], "challenge": "http-01"}
    assert certbot_lineage(cert, "https://acme/dir") == ["c", "https://acme/dir", "webroot", "a.test,www.a.test"]
    assert certbot_lineage(dict(cert, challenge="dns-01"), "s")[2] == "dns-rfc2136"
    with pytest.raises(AnsibleFilterError, match="certbot_lineage: give an item"):
        certbot_lineage({"name": "c"}, "s")


def test_htpasswd_is_stable_and_salted_per_site_user_and_host() -> None:
    sites = [{"name": "ops", "basic_auth": [{"user": "ops", "password": "secret one"}]}, {"name": "open", "basic_auth": []}]
    first = proxy_htpasswd(sites, "/etc/p/auth", "m1", 33)
    assert [f["path"] for f in first] == ["/etc/p/auth/ops.htpasswd"]
    assert first == proxy_htpasswd(sites, "/etc/p/auth", "m1", 33)  # the same file on every run
    assert first[0]["content"] != proxy_htpasswd(sites, "/etc/p/auth", "m2", 33)[0]["content"]
    line = first[0]["content"]
    assert line.startswith("ops:$6$") and line.endswith("\n") and "secret one" not in line
    assert {k: first[0][k] for k in ("mode", "group")} == {"mode": "0640", "group": 33}
    with pytest.raises(AnsibleFilterError, match="with passwords"):
        proxy_htpasswd([{"name": "ops", "basic_auth": [{"user": "ops"}]}], "/etc/p/auth", "m1", 33)


RENEWAL = "# renew_before_expiry = 30 days\n[renewalparams]\nserver = https://acme.test/dir\nauthenticator = webroot\n"
CERT = {"name": "site", "domains": ["b.campus.test", "a.campus.test"], "challenge": "http-01"}


@pytest.mark.parametrize(("files", "certs", "server", "current"), [
    ({"/etc/letsencrypt/renewal/site.conf": {"content": RENEWAL}},
     {"/etc/letsencrypt/live/site/cert.pem": {"names": ["a.campus.test", "b.campus.test"]}}, "https://acme.test/dir", ["site"]),
    ({"/etc/letsencrypt/renewal/site.conf": {"content": RENEWAL}},
     {"/etc/letsencrypt/live/site/cert.pem": {"names": ["a.campus.test"]}}, "https://acme.test/dir", []),
    ({"/etc/letsencrypt/renewal/site.conf": {"content": RENEWAL}},
     {"/etc/letsencrypt/live/site/cert.pem": {"names": ["a.campus.test", "b.campus.test"]}}, "https://other/dir", []),
    ({}, {}, "https://acme.test/dir", []),
])
def test_certbot_current(files: dict[str, Any], certs: dict[str, Any], server: str, current: list[str]) -> None:
    assert certbot_current([CERT], server, files, certs) == current


def test_certbot_handover_copies_only_what_differs() -> None:
    pairs = [[CERT, {"file": "privkey.pem", "mode": "0600"}], [CERT, {"file": "fullchain.pem", "mode": "0644"}]]
    held = {"/etc/letsencrypt/live/site/privkey.pem": {"checksum": "k1"}, "/etc/letsencrypt/live/site/fullchain.pem": {"checksum": "c1"}}
    here = {"/tls/site/privkey.pem": {"type": "file", "checksum": "k1", "mode": "0600"},
            "/tls/site/fullchain.pem": {"type": "file", "checksum": "c0", "mode": "0644"}}
    assert certbot_handover(here, pairs, held, "/tls") == [pairs[1]]
    assert certbot_handover(here, pairs, held, "/tls", True) == pairs
    assert certbot_handover(here, pairs, {}, "/tls") == []  # certbot holds nothing yet
