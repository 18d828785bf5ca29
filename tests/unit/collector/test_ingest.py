"""The request pipeline without HTTP: auth, all-or-nothing, de-duplication, rate limits."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from pipeline.collector.errors import BadPayload, Forbidden, RateLimited, Unauthorized
from pipeline.collector.identity import user_hash
from pipeline.collector.ingest import Ingestor
from pipeline.collector.options import CollectorOptions
from pipeline.profiles import Pseudonyms, device_claim, is_claim
from pipeline.serde import Codec
from tests.unit.collector.strategies import NOW_MS

CODEC = Codec.default()


class Clock:
    def __init__(self) -> None:
        self.mono = 0.0

    def wall(self) -> float:
        return NOW_MS / 1000

    def monotonic(self) -> float:
        return self.mono


def make(**options: Any) -> tuple[Ingestor, Clock]:
    clock = Clock()
    opts = CollectorOptions(write_keys=frozenset({"wk"}), **options)
    return Ingestor(opts, CODEC, wall=clock.wall, monotonic=clock.monotonic), clock


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def page(message_id: str = "m1", visitor: str = "v1") -> dict[str, Any]:
    return {"type": "page", "anonymousId": visitor, "messageId": message_id,
            "properties": {"url": "https://shop.example/p/nc700"}}


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_basic_auth_and_body_write_key_are_both_accepted() -> None:
    ingestor, _ = make()
    assert len(ingestor.segment("page", body(page()), basic("wk")).messages) == 1
    batch = {"writeKey": "wk", "batch": [page("m2")]}
    accepted = ingestor.segment(None, body(batch), None)
    assert [m.topic for m in accepted.messages] == ["clickstream.events"]


@pytest.mark.parametrize("authorization, payload, message", [
    (None, page(), "no write key"),
    (basic("nope"), page(), "not accepted"),
    ("Bearer wk", page(), "HTTP Basic"),
    ("Basic !!!", page(), "base64"),
    (None, {**page(), "writeKey": 7}, "must be a string"),
])
def test_unauthenticated_requests(authorization: str | None, payload: Any, message: str) -> None:
    ingestor, _ = make()
    with pytest.raises(Unauthorized, match=message):
        ingestor.segment("page", body(payload), authorization)


def test_a_bad_header_is_refused_before_the_body_is_read() -> None:
    ingestor, _ = make()
    with pytest.raises(Unauthorized):
        ingestor.segment("page", b"not even json", basic("nope"))


IDENTITY = ("site-identity-key-new-0", "site-identity-key-old-0")  # a rotation: both accepted
NAMES = Pseudonyms(("pseudonym-key-0123456",))


def identified(**options: Any) -> Ingestor:
    opts = CollectorOptions(write_keys=frozenset({"wk"}), server_keys=frozenset({"server-sk"}),
                            identity_keys=frozenset(IDENTITY), **options)
    return Ingestor(opts, CODEC, wall=lambda: NOW_MS / 1000, monotonic=lambda: 0.0,
                    pseudonyms=NAMES)


@pytest.mark.parametrize("key", IDENTITY)
def test_a_signed_identify_is_keyed_by_the_persons_pseudonym(key: str) -> None:
    call = {"type": "identify", "anonymousId": "v1", "userId": "u1", "messageId": "i1",
            "context": {"userHash": user_hash(key, "u1")}}
    (message,) = identified().segment("identify", body(call), basic("wk")).messages
    assert (message.topic, message.key, message.name) == (
        "profiles.updates", NAMES.of("u1").encode(), "ProfileUpdate")
    assert CODEC.decode(message.value)[1]["user_id"] == NAMES.of("u1")


def test_a_server_key_is_trusted_without_a_user_hash() -> None:
    call = {"type": "alias", "previousId": "v2", "userId": "u1", "messageId": "a1"}
    (message,) = identified().segment("alias", body(call), basic("server-sk")).messages
    record = CODEC.decode(message.value)[1]
    assert (message.key, record["user_id"], record["visitor_id"]) == (
        NAMES.of("u1").encode(), NAMES.of("u1"), "v2")


def test_an_unsigned_user_id_stays_the_devices_claim_everywhere() -> None:
    """identify, alias, page (Segment) and the tracker's batch user and identify event: no
    userHash -> the device's claim, keyed by the visitor, never the person's pseudonym."""
    ingestor = identified()
    batch = {"batch": [
        {"type": "identify", "anonymousId": "v1", "userId": "u1", "messageId": "s1",
         "traits": {"loyalty_tier": "gold"}},
        {"type": "alias", "previousId": "v1", "userId": "u1", "messageId": "s2"},
        {"type": "page", "anonymousId": "v1", "userId": "u1", "messageId": "s3",
         "properties": {"url": "https://shop.example/"}}]}
    native = {"writeKey": "wk", "visitor": "v1", "user": "u1", "page": {
        "url": "https://shop.example/"}, "events": [
        {"id": "n1", "type": "page_view", "time": NOW_MS},
        {"id": "n2", "type": "identify", "time": NOW_MS, "user": "u1"}]}
    messages = [*ingestor.segment(None, body(batch), basic("wk")).messages,
                *ingestor.native(body(native), None).messages]
    claim = device_claim("v1", "u1", NAMES)
    assert is_claim(claim) and len(messages) == 5
    assert {CODEC.decode(m.value)[1]["user_id"] for m in messages} == {claim}
    assert {m.key for m in messages} == {b"v1"}


def test_the_batch_hash_vouches_for_an_identify_event_of_the_batch_user() -> None:
    """rtp.js: rtp.identify(id, traits, hash) stores both; the batch carries user and
    userHash, its identify event only the user."""
    native = {"writeKey": "wk", "visitor": "v1", "user": "me",
              "userHash": user_hash(IDENTITY[1], "me"), "page": {"url": "https://s.example/"},
              "events": [{"id": "n1", "type": "page_view", "time": NOW_MS},
                         {"id": "n2", "type": "identify", "time": NOW_MS, "user": "me"}]}
    messages = identified().native(body(native), None).messages
    assert [CODEC.decode(m.value)[1]["user_id"] for m in messages] == [NAMES.of("me")] * 2
    unsigned = {**native, "userHash": ""}  # what rtp.js sends after identify without a hash
    messages = identified().native(body(unsigned), None).messages
    assert [CODEC.decode(m.value)[1]["user_id"] for m in messages] == [
        device_claim("v1", "me", NAMES)] * 2


def test_a_batch_hash_does_not_vouch_for_an_identify_events_other_user() -> None:
    native = {"writeKey": "wk", "visitor": "v1", "user": "me",
              "userHash": user_hash(IDENTITY[0], "me"), "page": {"url": "https://s.example/"},
              "events": [{"id": "n2", "type": "identify", "time": NOW_MS, "user": "victim"}]}
    (message,) = identified().native(body(native), None).messages
    assert CODEC.decode(message.value)[1]["user_id"] == device_claim("v1", "victim", NAMES)


@pytest.mark.parametrize(("signed", "error", "message"), [
    (user_hash(IDENTITY[0], "someone-else"), Forbidden, "userHash does not match"),
    (user_hash("not-the-sites-key-0", "u1"), Forbidden, "userHash does not match"),
    ("ab" * 16, BadPayload, "message 0: userHash must be 64 hex digits"),
    (12, BadPayload, "message 0: userHash must be 64 hex digits"),
])
def test_a_user_hash_that_does_not_hold_refuses_the_request(signed: Any, error: type,
                                                            message: str) -> None:
    call = {"type": "identify", "anonymousId": "v1", "userId": "u1", "messageId": "i1",
            "context": {"userHash": signed}}
    with pytest.raises(error, match=message):
        identified().segment("identify", body(call), basic("wk"))


def test_duplicates_within_the_window_are_left_out_once_remembered() -> None:
    ingestor, clock = make(dedup_window_ms=1000)
    first = ingestor.segment("page", body(page()), basic("wk"))
    again = ingestor.segment("page", body(page()), basic("wk"))
    assert len(again.messages) == 1  # not remembered yet: the first was never produced
    ingestor.remember(first)
    again = ingestor.segment("page", body(page()), basic("wk"))
    assert (len(again.messages), again.duplicates) == (0, 1)
    clock.mono = 1.0
    assert len(ingestor.segment("page", body(page()), basic("wk")).messages) == 1


def test_the_same_id_twice_in_one_batch_is_produced_once() -> None:
    ingestor, _ = make()
    accepted = ingestor.segment(None, body({"batch": [page(), page()]}), basic("wk"))
    assert (len(accepted.messages), accepted.duplicates) == (1, 1)


def test_one_bad_message_refuses_the_batch() -> None:
    ingestor, _ = make()
    with pytest.raises(BadPayload, match=r"batch\[1\]"):
        ingestor.segment(None, body({"batch": [page(), {"type": "page"}]}), basic("wk"))


def test_meaning_checks_apply_before_producing() -> None:
    ingestor, _ = make()
    future = {**page(), "timestamp": "2030-01-01T00:00:00Z"}
    with pytest.raises(BadPayload, match="in the future"):
        ingestor.segment("page", body(future), basic("wk"))


def test_per_visitor_rate_limit_refuses_the_whole_request() -> None:
    ingestor, clock = make(visitor_rate_per_s=1.0, visitor_burst=2)
    ingestor.segment(None, body({"batch": [page("a"), page("b")]}), basic("wk"))
    with pytest.raises(RateLimited) as refused:
        ingestor.segment("page", body(page("c")), basic("wk"))
    assert refused.value.retry_after_s == pytest.approx(1.0)
    other = ingestor.segment("page", body(page("d", visitor="v2")), basic("wk"))
    assert len(other.messages) == 1  # another visitor is not affected
    clock.mono = 1.0
    assert len(ingestor.segment("page", body(page("c")), basic("wk")).messages) == 1


def test_per_write_key_rate_limit() -> None:
    ingestor, _ = make(key_rate_per_s=1.0, key_burst=2)
    ingestor.segment(None, body({"batch": [page("a", "x"), page("b", "y")]}), basic("wk"))
    with pytest.raises(RateLimited):
        ingestor.segment("page", body(page("c", "z")), basic("wk"))


def test_auth_can_be_turned_off_for_local_experiments() -> None:
    ingestor, _ = make(require_auth=False)
    assert len(ingestor.segment("page", body(page()), None).messages) == 1
    with pytest.raises(ValueError, match="write key"):
        CollectorOptions()  # on by default, and then a key is required


def test_native_batch_through_the_pipeline() -> None:
    ingestor, _ = make()
    native = {"writeKey": "wk", "visitor": "v1", "page": {"url": "https://s.example/p/1"},
              "events": [{"id": "e1", "type": "page_view", "time": NOW_MS},
                         {"id": "e2", "type": "consent", "time": NOW_MS,
                          "personalization": True}]}
    accepted = ingestor.native(body(native), None)
    assert [m.name for m in accepted.messages] == ["ClickEvent", "ProfileUpdate"]
    assert all(m.key == b"v1" for m in accepted.messages)


def test_an_unsigned_user_id_sends_one_claim_index_entry_keyed_by_the_persons_pseudonym() -> None:
    """Next to a claim goes its index entry (pipeline.profiles.claims): keyed by the claimed
    user id's pseudonym, naming the device as stored; once per (device, user id) in the
    window, not counted as an accepted message; never for a verified user id."""
    ingestor = identified()
    native = {"writeKey": "wk", "visitor": "Ann Laptop", "user": "ann@example.com",
              "page": {"url": "https://shop.example/"},
              "events": [{"id": "n1", "type": "page_view", "time": NOW_MS},
                         {"id": "n2", "type": "identify", "time": NOW_MS,
                          "user": "ann@example.com"}]}
    accepted = ingestor.native(body(native), None)
    stored_visitor = CODEC.decode(accepted.messages[0].value)[1]["visitor_id"]
    assert stored_visitor.startswith("t.")  # not one word: the device id as stored
    (entry,) = accepted.index
    record = CODEC.decode(entry.value)[1]
    assert (entry.topic, entry.key) == ("profiles.updates", NAMES.of("ann@example.com").encode())
    assert (record["kind"], record["visitor_id"], record["user_id"]) == (
        "claim", stored_visitor, NAMES.of("ann@example.com"))
    assert b"ann@example.com" not in entry.value + entry.key
    assert len(accepted.messages) == 2  # the client's two records, the entry apart
    ingestor.remember(accepted)
    again = {**native, "events": [{"id": "n3", "type": "page_view", "time": NOW_MS}]}
    assert ingestor.native(body(again), None).index == []  # sent lately: not again
    other = {**again, "visitor": "v-phone"}  # another device, same user id: its own entry
    assert [CODEC.decode(e.value)[1]["visitor_id"] for e in
            ingestor.native(body(other), None).index] == ["v-phone"]
    signed = {**native, "visitor": "v-3", "userHash": user_hash(IDENTITY[0], "ann@example.com")}
    assert ingestor.native(body(signed), None).index == []  # verified: no claim, no entry


def test_a_claim_index_entry_is_not_remembered_when_the_request_was_not_produced() -> None:
    ingestor = identified()
    call = {"type": "page", "anonymousId": "v1", "userId": "u1", "messageId": "p1",
            "properties": {"url": "https://shop.example/"}}
    first = ingestor.segment("page", body(call), basic("wk"))
    assert len(first.index) == 1  # not remembered: the producer failed, say
    retry = ingestor.segment("page", body(call), basic("wk"))
    assert [e.key for e in retry.index] == [NAMES.of("u1").encode()]
