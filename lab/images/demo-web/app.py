"""The example web app: GET / (or /whoami) answers JSON naming the task (its
hostname) and the client address nginx passed on (X-Real-IP); GET /work?text=...
sends the text through RabbitMQ to a worker (RPC on queue "work": an exclusive
reply queue, a correlation id) and answers the worker's result with its own
name, {"web", "worker", "words", "sha256"}; 503 {"error": ...} when there is no
broker or no worker, or no answer within 10 s. Other paths are 404.

Environment: PORT (default 8080), AMQP_HOST (default rabbitmq; empty: no broker,
/work answers 503), AMQP_USER (default app), AMQP_PASSWORD_FILE (default
/run/secrets/amqp_password; trailing newlines are not part of the password).
Each /work request has a connection of its own. The password is never answered
nor logged.
"""

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

PORT = int(os.environ.get("PORT", "8080"))
AMQP_HOST = os.environ.get("AMQP_HOST", "rabbitmq")
AMQP_USER = os.environ.get("AMQP_USER", "app")
AMQP_PASSWORD_FILE = os.environ.get("AMQP_PASSWORD_FILE", "/run/secrets/amqp_password")
QUEUE = "work"
CONNECT_TIMEOUT = 5  # seconds to reach the broker
REPLY_TIMEOUT = 10  # seconds for a worker's answer
HOSTNAME = socket.gethostname()


class Unavailable(Exception):
    """The work cannot be done now (503); the message is the answer's error."""


def connection_parameters() -> pika.ConnectionParameters:
    if not AMQP_HOST:
        raise Unavailable("no broker configured")
    try:
        with open(AMQP_PASSWORD_FILE, encoding="utf-8") as f:
            password = f.read().rstrip("\r\n")
    except (OSError, UnicodeError) as exc:
        raise Unavailable(f"no broker password: cannot read {AMQP_PASSWORD_FILE} ({type(exc).__name__})") from None
    return pika.ConnectionParameters(
        host=AMQP_HOST,
        credentials=pika.PlainCredentials(AMQP_USER, password),
        connection_attempts=1,
        socket_timeout=CONNECT_TIMEOUT,
        stack_timeout=CONNECT_TIMEOUT,
        blocked_connection_timeout=REPLY_TIMEOUT,
        client_properties={"connection_name": f"campus-demo-web {HOSTNAME}"},
    )


def describe(exc: Exception) -> str:
    """One line on a failure (pika's messages are in the repr; none holds the password)."""
    return repr(exc) if isinstance(exc, pika.exceptions.AMQPError) else f"{type(exc).__name__}: {exc}"


def ask_worker(text: str) -> dict[str, object]:
    """Send text to queue "work", wait for the reply with our correlation id; raise Unavailable."""
    try:
        connection = pika.BlockingConnection(connection_parameters())
    except pika.exceptions.ProbableAuthenticationError:
        raise Unavailable(f"broker {AMQP_HOST} refused user {AMQP_USER}") from None
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise Unavailable(f"broker {AMQP_HOST} unreachable ({describe(exc)})") from None
    try:
        channel = connection.channel()
        try:
            # passive: the worker declares the queue; a missing queue closes the channel (404).
            queue = channel.queue_declare(queue=QUEUE, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            raise Unavailable(f"no worker: queue {QUEUE} does not exist") from None
        if queue.method.consumer_count == 0:
            raise Unavailable(f"no worker consumes queue {QUEUE}")
        reply_queue = channel.queue_declare(queue="", exclusive=True).method.queue
        correlation_id = uuid.uuid4().hex
        replies: list[bytes] = []

        def on_reply(ch: BlockingChannel, method: Basic.Deliver, props: BasicProperties, body: bytes) -> None:
            if props.correlation_id == correlation_id:
                replies.append(body)

        channel.basic_consume(queue=reply_queue, on_message_callback=on_reply, auto_ack=True)
        channel.basic_publish(
            exchange="",
            routing_key=QUEUE,
            body=text.encode(),
            # Unanswered within the timeout, the text expires rather than wait for a worker nobody waits for.
            properties=BasicProperties(
                reply_to=reply_queue,
                correlation_id=correlation_id,
                content_type="text/plain; charset=utf-8",
                expiration=str(REPLY_TIMEOUT * 1000),
            ),
        )
        deadline = time.monotonic() + REPLY_TIMEOUT
        while not replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unavailable(f"no answer from a worker within {REPLY_TIMEOUT} s")
            connection.process_data_events(time_limit=remaining)
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise Unavailable(f"lost the broker {AMQP_HOST} ({describe(exc)})") from None
    finally:
        if connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()
    try:
        answer = json.loads(replies[0])
        return {"web": HOSTNAME, "worker": answer["worker"], "words": answer["words"], "sha256": answer["sha256"]}
    except (ValueError, TypeError, KeyError):
        raise Unavailable("the worker's answer is not what was expected") from None


class Handler(BaseHTTPRequestHandler):
    server_version = "campus-demo-web"

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path in ("/", "/whoami"):
            self.answer(200, {
                "task": HOSTNAME,
                "client": self.headers.get("X-Real-IP", self.client_address[0]),
                "proto": self.headers.get("X-Forwarded-Proto", "http"),
                "host": self.headers.get("Host", ""),
            })
        elif path == "/work":
            texts = parse_qs(query, keep_blank_values=True).get("text")
            if texts is None:
                self.answer(400, {"error": "give the text: /work?text=..."})
                return
            try:
                self.answer(200, ask_worker(texts[0]))
            except Unavailable as exc:
                print(f"campus-demo-web: /work: 503 {exc}", file=sys.stderr, flush=True)
                self.answer(503, {"error": str(exc)})
        else:
            self.send_error(404)

    def answer(self, status: int, data: dict[str, object]) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def stop(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


# pika would log a failed connection at length (tracebacks): the 503 says it in one line.
logging.getLogger("pika").setLevel(logging.CRITICAL)
# PID 1 in its container: without a handler, SIGTERM (docker stop) would be ignored.
signal.signal(signal.SIGTERM, stop)
ThreadingHTTPServer(("", PORT), Handler).serve_forever()
