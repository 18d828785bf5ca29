"""Sinks: the webhook gets JSON without the address and a non-2xx is a SinkError; the file
sink writes one line per message; SMTP errors are SinkErrors; bad sink specs are refused."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from pipeline.channels import (
    ChannelOptionsError,
    Contact,
    FileSink,
    OutboundMessage,
    SinkError,
    SmtpOptions,
    SmtpSink,
    WebhookSink,
    build_sink,
)

MESSAGE = OutboundMessage("d-1", "v-1", "cart_reminder_sms", "sms", "p-1", "", "Hi", 5,
                          {"code": "WELCOME10"})
CONTACT = Contact("p-1", "+4915100000000", "Europe/Berlin")


@pytest.fixture
def hook() -> Iterator[tuple[str, list[bytes], list[int]]]:
    received: list[bytes] = []
    status = [204]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sms", received, status
    server.shutdown()
    server.server_close()


def test_the_webhook_receives_the_message_with_the_reference_not_the_number(
        hook: tuple[str, list[bytes], list[int]]) -> None:
    url, received, _ = hook
    WebhookSink(url).send(MESSAGE, CONTACT)
    [body] = received
    assert json.loads(body) == MESSAGE.as_record()
    assert b"+4915100000000" not in body


def test_a_webhook_error_answer_or_no_answer_is_a_sink_error(
        hook: tuple[str, list[bytes], list[int]]) -> None:
    url, _, status = hook
    status[0] = 503
    with pytest.raises(SinkError, match="503"):
        WebhookSink(url).send(MESSAGE, CONTACT)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SinkError, match="unreachable"):
        WebhookSink(f"http://127.0.0.1:{port}/", timeout_s=2).send(MESSAGE, CONTACT)


def test_the_file_sink_appends_one_json_line_per_message(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out" / "sms.jsonl")
    sink.send(MESSAGE, CONTACT)
    sink.send(MESSAGE, CONTACT)
    sink.close()
    lines = (tmp_path / "out" / "sms.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [MESSAGE.as_record()] * 2


def test_an_unreachable_smtp_server_is_a_sink_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SinkError, match="SMTP"):
        SmtpSink(SmtpOptions("127.0.0.1", port, timeout_s=2)).send(MESSAGE, CONTACT)


@pytest.mark.parametrize("spec", ["", "file:", "webhook:", "kafka:x", "webhook:ftp://x"])
def test_bad_sink_specs_are_refused(spec: str) -> None:
    with pytest.raises(ChannelOptionsError):
        build_sink(spec, "email")


def test_a_contact_never_shows_its_address_in_a_repr() -> None:
    assert "+4915100000000" not in repr(CONTACT)
