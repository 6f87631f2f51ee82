"""Request loop for the front-door tests: GET URL over and over, each on a new
connection, for SECONDS; print one JSON line with the counts and the first
errors. Any answer other than 200 is a failed request.

usage: request_loop.py URL SECONDS [CAFILE]   (no CAFILE: the certificate is not checked)
"""

import json
import ssl
import sys
import time
import urllib.error
import urllib.request

url, seconds = sys.argv[1], float(sys.argv[2])
context = ssl.create_default_context(cafile=sys.argv[3]) if len(sys.argv) > 3 else ssl._create_unverified_context()
counts = {"ok": 0, "failed": 0}
errors: list[str] = []
tasks: set[str] = set()
end = time.monotonic() + seconds
while time.monotonic() < end:
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
