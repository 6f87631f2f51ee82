"""The example web app: GET / answers JSON naming the task (its hostname) and the
client address nginx passed on (X-Real-IP); other paths are 404."""

import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8080"))


class Handler(BaseHTTPRequestHandler):
    server_version = "campus-demo-web"

    def do_GET(self) -> None:
        if self.path.split("?")[0] not in ("/", "/whoami"):
            self.send_error(404)
            return
        body = json.dumps({
            "task": socket.gethostname(),
            "client": self.headers.get("X-Real-IP", self.client_address[0]),
            "proto": self.headers.get("X-Forwarded-Proto", "http"),
            "host": self.headers.get("Host", ""),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


ThreadingHTTPServer(("", PORT), Handler).serve_forever()
