"""Delivery's answers on the wire, byte for byte: status line, every header in its order, body.

Each scenario sends one raw HTTP/1.1 request on a fresh connection to the real app and
keeps the raw answer (``Date``, and a file's ``Etag`` and ``Last-Modified``, masked,
``Server`` checked against aiohttp's own value and masked); the request counter of
``/metrics`` is compared too. The expected bytes in ``wire_golden.json`` were written by
the code before the hot path's CPU cuts (commit 5e1bc22) with this file's writer::

    PYTHONPATH=<checkout> python -m tests.unit.delivery.test_wire_identity write \\
        tests/unit/delivery/wire_golden.json

so any change to what a route answers (an error path, CORS, auth, rate limits, a held
request answered by arrival, answer, timeout, a full or released hold) fails here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.test_utils import TestServer

from pipeline.delivery.app import DeliveryState, build_app
from pipeline.delivery.options import DeliveryOptions
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.delivery.factories import NOW_MS, decision

GOLDEN = Path(__file__).with_name("wire_golden.json")
KEY = "wire-key-0123456789abcdef"
METRICS = "wire-metrics-0123456789"
ALLOWED = "https://shop.example"


def _request(method: str, target: str, headers: dict[str, str] | None = None,
             body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(port: int, raw: bytes) -> bytes:
    """One request on a fresh connection; the whole answer (a chunked one: to its end or,
    an SSE answer, to its first frame)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            body = b""
            while b"\n\n\r\n" not in body and not body.endswith(b"0\r\n\r\n"):
                body += await reader.read(4096)
            return head + body
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line[15:])
        return head + await reader.readexactly(length)
    finally:
        writer.close()


def _masked(answer: bytes) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = []
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b": ")
        if name.lower() in (b"date", b"etag", b"last-modified"):  # the clock, file times
            line = name + b": <" + name.lower() + b">"
        elif name.lower() == b"server":
            assert value.decode() == SERVER_SOFTWARE
            line = b"Server: <server>"
        lines.append(line)
    text = b"\r\n".join(lines) + b"\r\n\r\n"
    if len(body) > 2048:  # the tracker script, files: their length and first bytes
        return text.decode() + f"<{len(body)} bytes> " + base64.b64encode(body[:64]).decode()
    return text.decode("latin-1") + body.decode("latin-1")


def _metrics_masked(answer: bytes) -> str:
    """/metrics: its head without the length, and the request and wait counters."""
    head, _, body = answer.partition(b"\r\n\r\n")
    kept = [line for line in head.split(b"\r\n") if not line.lower().startswith(
        (b"date:", b"server:", b"content-length:"))]
    counters = sorted(line for line in body.decode().splitlines()
                      if line.startswith(("rtp_delivery_requests_total",
                                          "rtp_delivery_waits_total")))
    return b"\r\n".join(kept).decode() + "\n" + "\n".join(counters)


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("an unexpected failure (the wire test's route)")


def _state(options: DeliveryOptions) -> DeliveryState:
    state = DeliveryState.standalone(options, clock=lambda: NOW_MS / 1000)
    state.tokens = VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000)
    state.store.offer(decision("alice", decision_id="d-alice"), NOW_MS)
    state.store.offer(decision("alice", "overlay", decision_id="d-alice-o"), NOW_MS)
    state.store.offer(decision("bob", decision_id="d-bob"), NOW_MS)
    return state


async def capture() -> dict[str, str]:
    """Every scenario's masked answer, by name."""
    tokens = VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000)
    alice, bob, carol = tokens.issue("alice"), tokens.issue("bob"), tokens.issue("carol")
    forged = VisitorTokens(("another-key-0123456789abc",),
                           clock=lambda: NOW_MS / 1000).issue("alice")
    out: dict[str, str] = {}

    state = _state(DeliveryOptions(http_port=0, metrics_token=METRICS,
                                   cors_origins=frozenset({ALLOWED}), max_wait_ms=5000))
    app = build_app(state)
    app.router.add_get("/boom", _boom)
    server = TestServer(app)
    await server.start_server()
    port = server.port
    assert port is not None
    try:
        async def get(name: str, target: str, headers: dict[str, str] | None = None,
                      method: str = "GET", body: bytes = b"") -> None:
            out[name] = _masked(await _exchange(port, _request(method, target, headers, body)))

        d = "/v1/decisions?visitor=alice&slots=hero,overlay,grid&token=" + alice
        await get("decisions", d)
        await get("decisions all slots", "/v1/decisions?token=" + alice)
        await get("decisions bearer", "/v1/decisions?slots=hero",
                  {"Authorization": "Bearer " + bob})
        await get("decisions unknown visitor", "/v1/decisions?slots=hero&token=" + carol)
        await get("decisions no token", "/v1/decisions?visitor=alice&slots=hero")
        await get("decisions forged token", "/v1/decisions?slots=hero&token=" + forged)
        await get("decisions other visitor", "/v1/decisions?visitor=bob&token=" + alice)
        await get("decisions bad slots", "/v1/decisions?slots=a%20b&token=" + alice)
        await get("decisions too many slots", "/v1/decisions?token=" + alice + "&slots="
                  + ",".join(f"s{i}" for i in range(20)))
        await get("decisions wait without trigger", d + "&wait_ms=10")
        await get("decisions bad wait", d + "&trigger=e1&wait_ms=-3")
        await get("decisions empty trigger", d + "&trigger=%20&wait_ms=3")
        await get("decisions post", d, method="POST", body=b"{}")
        await get("decisions allowed origin", d, {"Origin": ALLOWED})
        await get("decisions refused origin", d, {"Origin": "https://evil.example"})
        await get("decisions refused origin bad token", "/v1/decisions?token=x",
                  {"Origin": "https://evil.example"})
        await get("decisions same origin", d, {"Origin": "http://127.0.0.1"})
        await get("decisions allowed origin bad token", "/v1/decisions?token=x",
                  {"Origin": ALLOWED})
        await get("preflight", "/v1/decisions", {
            "Origin": ALLOWED, "Access-Control-Request-Method": "GET"}, method="OPTIONS")
        await get("preflight refused", "/v1/decisions", {
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
                  method="OPTIONS")
        await get("options without preflight", "/v1/decisions", {"Origin": ALLOWED},
                  method="OPTIONS")
        await get("path too long", "/v1/" + "a/" * 600)
        await get("path too long refused origin", "/v1/" + "a/" * 600,
                  {"Origin": "https://evil.example"})
        await get("segment too long", "/shop/" + "a" * 300, {"Origin": ALLOWED})
        await get("no route", "/v2/nothing")
        await get("no route allowed origin", "/v2/nothing", {"Origin": ALLOWED})
        await get("root redirect", "/", {"Origin": ALLOWED})
        await get("unexpected failure", "/boom", {"Origin": ALLOWED})
        await get("unexpected failure html", "/boom", {"Accept": "text/html"})
        await get("healthz", "/healthz")
        await get("readyz", "/readyz", {"Origin": ALLOWED})
        await get("metrics no token", "/metrics")
        await get("metrics wrong token", "/metrics", {"Authorization": "Bearer nope"})
        await get("config.js", "/shop/config.js")
        await get("tracker", "/rtp.js", {"Origin": ALLOWED})
        await get("shop index", "/shop/")
        await get("shop missing file", "/shop/missing.css")
        await get("outcomes bad json", "/v1/outcomes?token=" + alice, method="POST",
                  body=b"{not json")
        await get("outcomes too large", "/v1/outcomes?token=" + alice, method="POST",
                  body=b"[" + b" " * (70 * 1024) + b"]")
        await get("outcomes not held", "/v1/outcomes?token=" + alice, method="POST",
                  body=json.dumps({"decision_id": "d-bob", "visitor_id": "alice",
                                   "kind": "shown", "outcome_id": "o1",
                                   "event_time": NOW_MS}).encode())
        await get("export no person", "/v1/privacy/export?token=" + alice)
        await get("stream", "/v1/stream?token=" + carol, {"Origin": ALLOWED})
        await get("stream no token", "/v1/stream")

        # held requests: answered by the arrival of their decision, by the worker's
        # "nothing", by their budget, at once (seen before, full), and at shutdown
        async def held(name: str, target: str, release: Callable[[], object],
                       headers: dict[str, str] | None = None) -> None:
            asking = asyncio.ensure_future(_exchange(port, _request("GET", target, headers)))
            while state.waits.held == 0:
                await asyncio.sleep(0.001)
            release()
            out[name] = _masked(await asking)

        arrival = decision("alice", decision_id="d-arrived", created_at=NOW_MS - 5)
        arrival["trigger_event_id"] = "pv-1"
        await held("held arrived", d + "&trigger=pv-1&wait_ms=5000",
                   lambda: state.receive([arrival]), {"Origin": ALLOWED})
        await get("held seen", d + "&trigger=pv-1&wait_ms=5000")
        await held("held nothing", d + "&trigger=pv-2&wait_ms=5000",
                   lambda: state.receive_answers([{"visitor_id": "alice",
                                                   "trigger_event_id": "pv-2"}]))
        await get("held seen nothing", d + "&trigger=pv-2")
        await get("held timeout", d + "&trigger=pv-3&wait_ms=20")
        await get("held zero wait", d + "&trigger=pv-4&wait_ms=0")
        await get("held default wait", d + "&trigger=pv-5")
        await held("held released", d + "&trigger=pv-6&wait_ms=5000",
                   state.waits.release_all)
        state.waits.max_held = 0
        await get("held full", d + "&trigger=pv-7&wait_ms=5000")
        out["metrics"] = _metrics_masked(await _exchange(port, _request(
            "GET", "/metrics", {"Authorization": "Bearer " + METRICS})))
    finally:
        await server.close()

    # rate limits: an address's burst, then a visitor's
    limited = _state(DeliveryOptions(http_port=0, address_rate_per_s=1e-9, address_burst=3,
                                     visitor_rate_per_s=1e-9, visitor_burst=1))
    server = TestServer(build_app(limited))
    await server.start_server()
    port = server.port
    assert port is not None
    try:
        # burst 3 per address, 1 per visitor: alice, alice (her visitor's 429), bob, bob (the
        # address's 429), and /healthz, which is not limited
        names = ["limited first", "limited visitor", "limited other visitor",
                 "limited address", "limited healthz"]
        targets = [f"/v1/decisions?slots=hero&token={alice}",
                   f"/v1/decisions?slots=hero&token={alice}",
                   f"/v1/decisions?slots=hero&token={bob}",
                   f"/v1/decisions?slots=hero&token={bob}", "/healthz"]
        for name, target in zip(names, targets, strict=True):
            out[name] = _masked(await _exchange(port, _request("GET", target)))
        out["limited preflight"] = _masked(await _exchange(port, _request(
            "OPTIONS", "/v1/decisions", {"Origin": "https://evil.example",
                                         "Access-Control-Request-Method": "GET"})))
    finally:
        await server.close()
    return out


async def test_every_answer_is_byte_identical_to_the_recorded_one() -> None:
    expected = json.loads(GOLDEN.read_text())
    got = await capture()
    assert sorted(got) == sorted(expected)  # no scenario lost, none extra
    different = [name for name in expected if got[name] != expected[name]]
    assert not different, "\n\n".join(
        f"{name}:\n--- expected\n{expected[name]}\n--- got\n{got[name]}" for name in different)


if __name__ == "__main__" and sys.argv[1:2] == ["write"]:
    answers = asyncio.run(capture())
    Path(sys.argv[2]).write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n")
    print(f"{len(answers)} answers written to {sys.argv[2]}")
