# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""Which certificate nginx on this host serves (role campus.swarm.certbot, hand-over).

Usage: served_certificates.py TLS_DIR NAME=HOST [NAME=HOST ...]

For each certificate NAME (TLS_DIR/NAME/fullchain.pem) a TLS handshake with
127.0.0.1:443 for the host name HOST. Prints one JSON object, NAME -> "served"
(nginx shows that certificate), "stale" (it shows another one: a hand-over whose
reload did not happen), "no answer" (nothing answered: nginx is not running, and
reads the files when it starts) or "no file". Python 3 standard library only.
"""

import hashlib
import json
import socket
import ssl
import sys

END = "-----END CERTIFICATE-----"


def leaf_digest(path):
    with open(path, encoding="ascii") as handle:
        pem = handle.read()
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem[: pem.index(END) + len(END)])).hexdigest()


def served_digest(host):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", 443), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def main(tls_dir, pairs):
    result = {}
    for pair in pairs:
        name, host = pair.split("=", 1)
        try:
            want = leaf_digest(f"{tls_dir}/{name}/fullchain.pem")
        except (OSError, ValueError):
            result[name] = "no file"
            continue
        try:
            result[name] = "served" if served_digest(host) == want else "stale"
        except (OSError, ssl.SSLError):
            result[name] = "no answer"
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
