"""Request loop for the front-door tests: GET URL over and over, each on a new
connection, for SECONDS; print one JSON line with the counts and the first
errors. Any answer other than 200 is a failed request.

usage: request_loop.py URL SECONDS [CAFILE|-] [ADDRESS]
(no CAFILE or -: the certificate is not checked; ADDRESS: connect there instead
of where the URL's host name resolves, as a client the DNS sends to that edge
host would; the name still goes in SNI and Host)
"""

import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

url, seconds = sys.argv[1], float(sys.argv[2])
cafile = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
context = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
if len(sys.argv) > 4:
    host, address, resolve = urllib.parse.urlsplit(url).hostname, sys.argv[4], socket.getaddrinfo
    socket.getaddrinfo = lambda name, *rest, **kw: resolve(address if name == host else name, *rest, **kw)
counts = {"ok": 0, "failed": 0}
errors: list[str] = []
tasks: set[str] = set()
end = time.monotonic() + seconds
stop = os.environ.get("REQUEST_LOOP_STOP")
while time.monotonic() < end:
    if stop and os.path.exists(stop):
        end, stop = min(end, time.monotonic() + 3), None
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as answer:
            body = answer.read()
            counts["ok" if answer.status == 200 else "failed"] += 1
            tasks.add(json.loads(body).get("task", "?"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        counts["failed"] += 1
        if len(errors) < 10:
            errors.append(f"{time.strftime('%H:%M:%S')} {exc}")
print(json.dumps({**counts, "errors": errors, "tasks": sorted(tasks)}))
