"""Delivery with visitor tokens: decisions, streams and outcomes only for the token's holder.

Forged tokens, expired ones, tokens signed with another key and other visitors' tokens
are refused (401/403) with a message; outcomes are accepted only for decisions held for
the token's visitor, flagged as browser-reported, a converted value bounded. /metrics
needs its own token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.delivery.app import DeliveryState, build_app
from pipeline.delivery.options import DeliveryOptions
from pipeline.web.rate_limits import RequestLimits
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.delivery.factories import NOW_MS, decision
from tests.unit.delivery.test_app import FakeSink

KEY, OLD_KEY, OTHER_KEY = "key-now-0123456789", "key-old-0123456789", "key-evil-0123456789"
METRICS = "metrics-token-0123456789"


def tokens(*keys: str, now_ms: int = NOW_MS) -> VisitorTokens:
    return VisitorTokens(keys or (KEY,), clock=lambda: now_ms / 1000)


@dataclass
class Parts:
    client: TestClient
    state: DeliveryState
    sink: FakeSink


@pytest.fixture
async def parts() -> AsyncIterator[Parts]:
    sink = FakeSink()
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, metrics_token=METRICS),
                                     outcomes=sink, clock=lambda: NOW_MS / 1000)
    state.tokens = tokens(KEY, OLD_KEY)
    state.store.offer(decision("alice", decision_id="d-alice"), NOW_MS)
    state.store.offer(decision("bob", decision_id="d-bob"), NOW_MS)
    client = TestClient(TestServer(build_app(state)))
    await client.start_server()
    yield Parts(client, state, sink)
    await client.close()


def alice(*keys: str, now_ms: int = NOW_MS) -> str:
    return tokens(*keys, now_ms=now_ms).issue("alice")


async def decisions(parts: Parts, **params: str) -> tuple[int, dict[str, object]]:
    r = await parts.client.get("/v1/decisions", params={"slots": "hero", **params})
    return r.status, await r.json()


async def test_the_token_holder_gets_its_decisions(parts: Parts) -> None:
    for token in (alice(), alice(OLD_KEY)):  # signed with the current or the previous key
        status, body = await decisions(parts, visitor="alice", token=token)
        assert status == 200 and body["decisions"]["hero"]["decision_id"] == "d-alice"  # type: ignore[index]
    r = await parts.client.get("/v1/decisions", params={"slots": "hero"},
                               headers={"Authorization": f"Bearer {alice()}"})
    assert r.status == 200 and (await r.json())["visitor_id"] == "alice"


@pytest.mark.parametrize(("token", "status", "says"), [
    (None, 401, "token is required"),
    ("garbage", 401, "malformed"),
    (alice()[:-3] + "AAA", 401, "not valid"),                     # tampered signature
    (alice(OTHER_KEY), 401, "not valid"),                         # forged with another key
    (alice(now_ms=NOW_MS - 2 * 86_400_000), 401, "expired"),
    (tokens().issue("bob"), 403, "another visitor"),              # bob's token, alice's id
])
async def test_no_decisions_without_the_visitors_own_token(parts: Parts, token: str | None,
                                                             status: int, says: str) -> None:
    params = {"visitor": "alice"} if token is None else {"visitor": "alice", "token": token}
    got, body = await decisions(parts, **params)
    assert got == status and says in str(body["error"]) and "decisions" not in body
    r = await parts.client.get("/v1/stream", params=params)
    assert r.status == status and says in (await r.json())["error"]


async def test_a_forged_visitor_inside_a_token_does_not_verify(parts: Parts) -> None:
    good = alice().split(".")
    bob = tokens().issue("bob").split(".")[0]
    got, body = await decisions(parts, visitor="bob", token=".".join((bob, *good[1:])))
    assert got == 401 and "not valid" in str(body["error"])


async def test_the_stream_opens_for_the_token_holder(parts: Parts) -> None:
    r = await parts.client.get("/v1/stream", params={"visitor": "alice", "token": alice()})
    assert r.status == 200 and r.headers["Content-Type"] == "text/event-stream"
    r.close()


async def post(parts: Parts, body: object, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = await parts.client.post("/v1/outcomes", data=json.dumps(body), headers=headers)
    return r.status, await r.text()


async def test_outcomes_of_the_holder_for_its_decisions_are_flagged_browser(parts: Parts
                                                                           ) -> None:
    status, text = await post(parts, {"decision_id": "d-alice", "visitor_id": "alice",
                                      "kind": "converted", "value": 49.5, "token": alice()})
    assert status == 202, text
    assert [(o["decision_id"], o["kind"], o["value"], o["reported_by"])
            for o in parts.sink.sent] == [("d-alice", "converted", 49.5, "browser")]


@pytest.mark.parametrize(("outcome", "token", "status", "says"), [
    ({"decision_id": "d-alice", "visitor_id": "alice", "kind": "shown"}, None, 401, "required"),
    ({"decision_id": "d-alice", "visitor_id": "alice", "kind": "shown"}, "forged", 401,
     "malformed"),
    ({"decision_id": "d-alice", "visitor_id": "alice", "kind": "shown"},
     alice(OTHER_KEY), 401, "not valid"),
    ({"decision_id": "d-bob", "visitor_id": "bob", "kind": "converted"}, alice(), 403,
     "another visitor"),
    ({"decision_id": "d-bob", "visitor_id": "alice", "kind": "converted"}, alice(), 403,
     "not delivered to this visitor"),
    ({"decision_id": "made-up", "visitor_id": "alice", "kind": "clicked"}, alice(), 403,
     "not delivered to this visitor"),
    ({"decision_id": "d-alice", "visitor_id": "alice", "kind": "converted", "value": 1e6},
     alice(), 400, "between 0 and 10000"),
    ({"decision_id": "d-alice", "visitor_id": "alice", "kind": "converted", "value": -1e6},
     alice(), 400, "must not be negative"),
    ({"decision_id": "d-alice", "visitor_id": "alice", "kind": "shown", "value": 92184},
     alice(), 400, "between 0 and 10000"),
])
async def test_outcomes_are_refused_unless_the_holders_own(
        parts: Parts, outcome: dict[str, object], token: str | None, status: int,
        says: str) -> None:
    got, text = await post(parts, outcome, token)
    assert got == status and says in json.loads(text)["error"], text
    assert parts.sink.sent == []


async def test_a_list_with_one_foreign_outcome_is_refused_as_a_whole(parts: Parts) -> None:
    body = [{"decision_id": "d-alice", "visitor_id": "alice", "kind": "shown"},
            {"decision_id": "d-bob", "visitor_id": "alice", "kind": "clicked"}]
    got, _ = await post(parts, body, alice())
    assert got == 403 and parts.sink.sent == []
    got, text = await post(parts, body[:1], alice())
    assert got == 202 and len(parts.sink.sent) == 1, text


@pytest.mark.parametrize(("authorization", "status"), [
    (None, 401), ("Bearer wrong", 401), (f"Basic {METRICS}", 401), (f"Bearer {METRICS}", 200)])
async def test_metrics_need_their_token(parts: Parts, authorization: str | None,
                                        status: int) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    r = await parts.client.get("/metrics", headers=headers)
    assert r.status == status
    text = await r.text()
    assert ("rtp_delivery_decisions_held" in text) == (status == 200)


async def test_metrics_are_off_without_a_configured_token() -> None:
    state = DeliveryState.standalone(DeliveryOptions(http_port=0))
    async with TestClient(TestServer(build_app(state))) as client:
        r = await client.get("/metrics", headers={"Authorization": "Bearer "})
        assert r.status == 403 and "RTP_*_METRICS_TOKEN" in (await r.json())["error"]


async def test_a_visitor_over_its_rate_gets_429_and_another_visitor_is_served(
        parts: Parts) -> None:
    """Per visitor: Alice's burst spent (the test's clock stands still, nothing refills),
    her next request gets 429 with a message and Retry-After; Bob still gets his."""
    parts.state.limits = RequestLimits(1000.0, 1000, visitor_rate_per_s=1.0, visitor_burst=3,
                                       monotonic=lambda: 0.0)
    bob = tokens(KEY).issue("bob")
    statuses = [(await decisions(parts, token=alice()))[0] for _ in range(4)]
    r = await parts.client.get("/v1/decisions", params={"slots": "hero", "token": alice()})
    assert statuses == [200, 200, 200, 429] and r.status == 429
    assert r.headers["Retry-After"] == "1"
    assert "too many requests for this visitor" in (await r.json())["error"]
    status, text = await post(parts, {"decision_id": "d-alice", "visitor_id": "alice",
                                      "kind": "shown"}, alice())
    assert status == 429 and "for this visitor" in text
    assert parts.sink.sent == []  # nothing produced for a refusal
    status, body = await decisions(parts, token=bob)
    assert status == 200 and body["visitor_id"] == "bob"


async def test_an_address_over_its_rate_gets_429_whatever_token_it_sends(
        parts: Parts) -> None:
    """Per address: forged tokens count too (the address is checked first)."""
    parts.state.limits = RequestLimits(1.0, 2, visitor_rate_per_s=1000.0, visitor_burst=1000,
                                       monotonic=lambda: 0.0)
    assert (await decisions(parts, token="forged"))[0] == 401
    assert (await decisions(parts, token=alice()))[0] == 200
    status, body = await decisions(parts, token=alice())
    assert status == 429 and "too many requests from this address" in str(body["error"])


@pytest.mark.parametrize(("sent", "kept"), [
    ("o-alice-1", "o-alice-1"),                          # one word: kept for de-duplication
    ("ann.example@example.com", "d-alice:shown"),        # an e-mail never reaches Kafka
    ("Ann Example", "d-alice:shown"),                     # nor a name
    ("Ann\u00a0Example", "d-alice:shown")])               # (any whitespace)
async def test_a_browsers_outcome_id_is_kept_only_when_it_is_one_word(
        parts: Parts, sent: str, kept: str) -> None:
    status, text = await post(parts, {"decision_id": "d-alice", "visitor_id": "alice",
                                      "kind": "shown", "outcome_id": sent}, alice())
    assert status == 202, text
    assert [o["outcome_id"] for o in parts.sink.sent] == [kept]
