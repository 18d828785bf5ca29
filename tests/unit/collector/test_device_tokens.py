"""The pure device check (:mod:`pipeline.collector.devices`) and the ingest pipeline around it.

A browser's request may name a visitor id only with that visitor's signed token: none, a
forged, malformed, expired or retired-key token is 401, another visitor's is 403, and the
request is refused whole. A server write key and the tracker's first batch are exempt.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.collector.devices import NO_TOKEN, prove_devices
from pipeline.collector.errors import CollectorError, Forbidden, Unauthorized
from pipeline.collector.ingest import Ingestor
from pipeline.collector.native import map_native
from pipeline.collector.options import CollectorOptions
from pipeline.collector.records import MappedRecord
from pipeline.collector.segment import map_segment_batch, map_segment_message
from pipeline.serde import Codec
from pipeline.web.visitor_token import VisitorTokens

NOW_S = 1_800_000_000.0
NEW, OLD = "new-token-key-0123456789", "old-token-key-0123456789"
TOKENS = VisitorTokens((NEW, OLD), clock=lambda: NOW_S)


def record(visitor: str, token: object) -> MappedRecord:
    return MappedRecord("ClickEvent", {"visitor_id": visitor}, "e", visitor_token=token)


def forged(token: str) -> str:
    head, expiry, mac = token.split(".")
    return ".".join((head, expiry, ("A" if mac[0] != "A" else "B") + mac[1:]))


def test_the_visitors_own_token_proves_it() -> None:
    proof = prove_devices([record("v-1", TOKENS.issue("v-1"))] * 3, TOKENS)
    assert (proof.visitors, proof.renew) == (("v-1",), None)


@pytest.mark.parametrize(("token", "message"), [
    (None, NO_TOKEN),
    ("", NO_TOKEN),
    (42, "the visitor token must be a string"),
    (["t"], "the visitor token must be a string"),
    ({"t": 1}, "the visitor token must be a string"),
    ("not-a-token", "the visitor token is malformed"),
    ("x" * 600, "the visitor token is too long"),
    (forged(TOKENS.issue("v-1")), "the visitor token is not valid"),
    (VisitorTokens(("a-guessed-key-0123456789",), clock=lambda: NOW_S).issue("v-1"),
     "the visitor token is not valid"),
    (VisitorTokens((NEW,), ttl_s=10, clock=lambda: NOW_S - 11).issue("v-1"),
     "the visitor token has expired"),
], ids=["none", "empty", "int", "list", "object", "malformed", "too-long", "forged",
        "other-key", "expired"])
def test_no_valid_token_is_401_and_names_the_message_not_the_id(token: object,
                                                                 message: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        prove_devices([record("v-1", TOKENS.issue("v-1")), record("v-1", token)], TOKENS)
    assert str(caught.value) == f"message 1: {message}" and caught.value.status == 401
    assert "v-1" not in str(caught.value)


def test_another_visitors_valid_token_is_403() -> None:
    with pytest.raises(Forbidden, match=r"^message 0: the visitor token is for another visitor$"):
        prove_devices([record("v-victim", TOKENS.issue("v-mallory"))], TOKENS)


def test_an_id_that_only_starts_like_the_tokens_is_another_visitor() -> None:
    for named in ("v-1 ", "v-10", "V-1", "v-"):
        with pytest.raises(Forbidden):
            prove_devices([record(named, TOKENS.issue("v-1"))], TOKENS)


def test_rotation_accepts_both_keys_until_the_old_is_dropped() -> None:
    by_old = VisitorTokens((OLD,), clock=lambda: NOW_S).issue("v-1")
    assert prove_devices([record("v-1", by_old)], TOKENS).visitors == ("v-1",)
    with pytest.raises(Unauthorized, match="not valid"):
        prove_devices([record("v-1", by_old)], VisitorTokens((NEW,), clock=lambda: NOW_S))


def test_a_server_key_names_any_visitor_without_a_token() -> None:
    assert prove_devices([record("v-any", None), record("v-other", "junk")], TOKENS,
                         trusted=True).visitors == ()


def test_several_visitors_each_with_its_own_token_and_no_renewal_for_a_mix() -> None:
    soon = VisitorTokens((NEW,), ttl_s=100, clock=lambda: NOW_S - 90).issue("v-2")
    tokens = VisitorTokens((NEW,), ttl_s=100, clock=lambda: NOW_S)
    proof = prove_devices([record("v-1", tokens.issue("v-1")), record("v-2", soon)], tokens)
    assert (proof.visitors, proof.renew) == (("v-1", "v-2"), None)


@pytest.mark.parametrize(("issued_s_ago", "renew"), [(0, None), (49, None), (51, "v-1"),
                                                     (99, "v-1")])
def test_the_answer_renews_a_token_past_half_its_lifetime(issued_s_ago: int,
                                                          renew: str | None) -> None:
    token = VisitorTokens((NEW,), ttl_s=100, clock=lambda: NOW_S - issued_s_ago).issue("v-1")
    tokens = VisitorTokens((NEW,), ttl_s=100, clock=lambda: NOW_S)
    assert prove_devices([record("v-1", token)], tokens).renew == renew


# -- where each kind of request carries its token ---------------------------------------------

def test_the_tracker_batch_carries_its_token_for_every_event() -> None:
    token = TOKENS.issue("v-1")
    records = map_native({"visitor": "v-1", "token": token, "page": {"url": "https://s.example/"},
                          "events": [{"id": "e1", "type": "page_view", "time": 1},
                                     {"id": "e2", "type": "consent", "time": 1,
                                      "personalization": False}]},
                         received_ms=1, sector="ecommerce", max_batch=5)
    assert [r.visitor_token for r in records] == [token, token]


def test_a_segment_message_carries_its_own_token_else_the_batchs() -> None:
    own, batch_wide = TOKENS.issue("v-2"), TOKENS.issue("v-1")
    records, _ = map_segment_batch({"context": {"visitorToken": batch_wide}, "batch": [
        {"type": "page", "anonymousId": "v-1", "properties": {"url": "https://s.example/"}},
        {"type": "page", "anonymousId": "v-2", "properties": {"url": "https://s.example/"},
         "context": {"visitorToken": own}}]}, received_ms=1, sector="ecommerce", max_batch=5)
    assert [r.visitor_token for r in records] == [batch_wide, own]
    assert prove_devices(records, TOKENS).visitors == ("v-1", "v-2")


def test_an_alias_must_prove_its_previous_id_the_id_it_stitches() -> None:
    alias = map_segment_message({"type": "alias", "previousId": "v-victim", "userId": "u-1",
                                 "context": {"visitorToken": TOKENS.issue("v-mallory")}},
                                received_ms=1, sector="ecommerce")
    assert alias is not None
    with pytest.raises(Forbidden):
        prove_devices([alias], TOKENS)


def test_a_segment_call_without_anonymous_id_is_keyed_by_user_id_and_must_prove_that() -> None:
    call = map_segment_message({"type": "page", "userId": "u-victim",
                                "properties": {"url": "https://s.example/"},
                                "context": {"visitorToken": TOKENS.issue("v-mallory")}},
                               received_ms=1, sector="ecommerce")
    assert call is not None and call.visitor_id == "u-victim"
    with pytest.raises(Forbidden):
        prove_devices([call], TOKENS)


# -- the ingest pipeline ------------------------------------------------------------------------

OPTIONS = CollectorOptions(write_keys=frozenset({"wk"}), server_keys=frozenset({"server-sk"}),
                           visitor_rate_per_s=1.0, visitor_burst=2)


def ingestor() -> Ingestor:
    return Ingestor(OPTIONS, Codec.default(), wall=lambda: NOW_S, monotonic=lambda: 0.0)


def native(visitor: str | None, token: object = None, key: str = "wk",
           event: str = "e1") -> bytes:
    body: dict[str, Any] = {"writeKey": key, "visitor": visitor, "token": token,
                            "page": {"url": "https://s.example/"},
                            "events": [{"id": event, "type": "page_view",
                                        "time": int(NOW_S * 1000)}]}
    return json.dumps(body).encode()


def test_ingest_refuses_a_named_visitor_without_its_token_before_any_limit_is_spent() -> None:
    pipeline = ingestor()
    for _ in range(5):  # more refusals than the visitor's burst: none of them costs its budget
        with pytest.raises(Unauthorized):
            pipeline.native(native("v-1"), None, tokens=TOKENS)
        with pytest.raises(Forbidden):
            pipeline.native(native("v-1", TOKENS.issue("v-2")), None, tokens=TOKENS)
    accepted = pipeline.native(native("v-1", TOKENS.issue("v-1")), None, tokens=TOKENS)
    assert [m.key for m in accepted.messages] == [b"v-1"] and accepted.renew is None


def test_ingest_lets_a_server_key_and_a_first_batch_through_without_a_token() -> None:
    pipeline = ingestor()
    served = pipeline.native(native("v-any", key="server-sk"), None, tokens=TOKENS)
    assert [m.key for m in served.messages] == [b"v-any"]
    first = pipeline.native(native(None, event="e2"), None, new_visitor="v-new", tokens=TOKENS)
    assert (first.new_visitor, [m.key for m in first.messages]) == ("v-new", [b"v-new"])
    # a Segment call with a server key, too
    segment = pipeline.segment("page", json.dumps({
        "writeKey": "server-sk", "anonymousId": "v-any", "messageId": "m1",
        "properties": {"url": "https://s.example/"}}).encode(), None, TOKENS)
    assert [m.key for m in segment.messages] == [b"v-any"]


def test_ingest_with_no_auth_still_authenticates_devices() -> None:
    # --no-auth accepts any write key, but no key is a server key: ids still need tokens
    pipeline = Ingestor(CollectorOptions(require_auth=False), Codec.default(),
                        wall=lambda: NOW_S)
    with pytest.raises(CollectorError) as caught:
        pipeline.native(native("v-1"), None, tokens=TOKENS)
    assert caught.value.status == 401
