"""The example stack's worker: consumes RabbitMQ's queue "work" and answers each
message (a UTF-8 text) to its reply_to queue, with its correlation_id, as JSON
{"worker": hostname, "words": word count, "sha256": hex digest of the text}.

Environment: AMQP_HOST (default rabbitmq), AMQP_USER (default app),
AMQP_PASSWORD_FILE (default /run/secrets/amqp_password; trailing newlines are
not part of the password). Until the broker answers, and after it goes away, it
tries again every 2 s; the password is never logged.
"""

import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import sys
import time
from types import FrameType

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

AMQP_HOST = os.environ.get("AMQP_HOST", "rabbitmq")
AMQP_USER = os.environ.get("AMQP_USER", "app")
AMQP_PASSWORD_FILE = os.environ.get("AMQP_PASSWORD_FILE", "/run/secrets/amqp_password")
QUEUE = "work"
RETRY_SECONDS = 2
# While the broker stays away: the first failed attempt is logged, then one in 30 (a minute).
LOG_EVERY = 30
HOSTNAME = socket.gethostname()

log = logging.getLogger("campus-demo-worker")


def connection_parameters() -> pika.ConnectionParameters:
    with open(AMQP_PASSWORD_FILE, encoding="utf-8") as f:
        password = f.read().rstrip("\r\n")
    return pika.ConnectionParameters(
        host=AMQP_HOST,
        credentials=pika.PlainCredentials(AMQP_USER, password),
        heartbeat=30,
        blocked_connection_timeout=60,
        connection_attempts=1,
        socket_timeout=5,
        stack_timeout=10,
        client_properties={"connection_name": f"campus-demo-worker {HOSTNAME}"},
    )


def on_request(channel: BlockingChannel, method: Basic.Deliver, props: BasicProperties, body: bytes) -> None:
    """Answer one text; acknowledged once the answer is published (unanswered texts go back to the queue)."""
    text = body.decode("utf-8", errors="replace")
    result = {"worker": HOSTNAME, "words": len(text.split()), "sha256": hashlib.sha256(body).hexdigest()}
    if props.reply_to:
        channel.basic_publish(
            exchange="",
            routing_key=props.reply_to,
            body=json.dumps(result).encode(),
            properties=BasicProperties(correlation_id=props.correlation_id, content_type="application/json"),
        )
    else:
        log.warning("message without reply_to dropped (correlation_id %s)", props.correlation_id)
    channel.basic_ack(delivery_tag=method.delivery_tag)


def describe(exc: Exception) -> str:
    """One line on a failure (pika's messages are in the repr; none holds the password)."""
    return repr(exc) if isinstance(exc, pika.exceptions.AMQPError) else f"{type(exc).__name__}: {exc}"


def consume(connection: pika.BlockingConnection) -> None:
    """Consume until the connection fails (raises) or the process is told to stop."""
    try:
        channel = connection.channel()
        channel.queue_declare(queue=QUEUE)
        channel.basic_qos(prefetch_count=1)
        channel.basic_consume(queue=QUEUE, on_message_callback=on_request)
        log.info("connected to %s as %s, consuming queue %s", AMQP_HOST, AMQP_USER, QUEUE)
        channel.start_consuming()
    finally:
        if connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()


def stop(signum: int, frame: FrameType | None) -> None:
    log.info("stopping (signal %d)", signum)
    sys.exit(0)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    # pika logs each failed attempt at length (tracebacks): the worker says it in one line.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    # PID 1 in its container: without a handler, SIGTERM (docker stop) would be ignored.
    signal.signal(signal.SIGTERM, stop)
    failures = 0
    while True:
        try:
            connection = pika.BlockingConnection(connection_parameters())
        except (pika.exceptions.AMQPError, OSError) as exc:
            if failures % LOG_EVERY == 0:
                log.warning("broker %s not reachable (%s), trying again every %d s", AMQP_HOST, describe(exc), RETRY_SECONDS)
            failures += 1
            time.sleep(RETRY_SECONDS)
            continue
        failures = 0
        try:
            consume(connection)
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning("lost the broker %s (%s), connecting again", AMQP_HOST, describe(exc))
        else:
            log.info("consuming stopped, connecting again")
        time.sleep(RETRY_SECONDS)


if __name__ == "__main__":
    main()
