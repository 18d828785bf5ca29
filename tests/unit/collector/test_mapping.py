"""Segment and tracker payloads -> records: examples, and properties over generated payloads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from pipeline.collector.errors import BadPayload
from pipeline.collector.native import map_native
from pipeline.collector.records import MappedRecord
from pipeline.collector.segment import map_segment_batch, map_segment_message
from pipeline.profiles.privacy import is_personal_data_key
from pipeline.serde import Codec, check_meaning
from tests.unit.collector.strategies import NOW_MS, native_batches, segment_calls

CODEC = Codec.default()


def _check(mapped: MappedRecord) -> None:
    CODEC.validate(mapped.name, mapped.record)
    check_meaning(mapped.name, mapped.record, NOW_MS)
    CODEC.encode(mapped.name, mapped.record)


def segment(message: dict[str, Any], call: str | None = None) -> MappedRecord:
    mapped = map_segment_message(message, received_ms=NOW_MS, sector="ecommerce", call=call)
    assert mapped is not None
    _check(mapped)
    return mapped


PAGE = {"type": "page", "anonymousId": "anon-1", "messageId": "m-1",
        "timestamp": "2027-01-15T08:00:00Z",
        "properties": {"url": "https://shop.example/shipping?utm_medium=email",
                       "referrer": "https://www.google.com/"},
        "context": {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile",
                    "timezone": "Europe/Berlin", "ip": "203.0.113.9",
                    "location": {"country": "DE"}}}


def test_page_becomes_a_page_view_with_its_context() -> None:
    r = segment(PAGE).record
    assert (r["event_type"], r["event_id"], r["visitor_id"]) == ("page_view", "m-1", "anon-1")
    assert r["page"]["page_type"] == "shipping_returns"
    assert r["page"]["referrer"] == "https://www.google.com/"
    assert r["context"]["traffic_source"] == "email"  # the campaign medium beats the referrer
    assert r["context"]["device"] == "mobile" and r["context"]["country"] == "DE"
    assert "203.0.113.9" not in repr(r)  # the IP address is never read


def test_sent_at_corrects_the_client_clock() -> None:
    # the client clock is 60 s behind: it stamped and sent at 07:59, we received at NOW_MS
    message = {**PAGE, "timestamp": "2027-01-15T07:59:00Z", "sentAt": "2027-01-15T07:59:05Z"}
    mapped = map_segment_message(message, received_ms=NOW_MS, sector="ecommerce")
    assert mapped is not None and mapped.record["event_time"] == NOW_MS - 5000


@pytest.mark.parametrize("event, properties, expected", [
    ("Product Added", {"product_id": "nc700", "price": "349.00", "quantity": 2},
     ("add_to_cart", "cart", {"product_id": "nc700", "quantity": 2, "value": 698.0,
                              "currency": "EUR"})),
    ("Order Completed", {"order_id": "o-1", "revenue": 99.5, "currency": "USD"},
     ("purchase", "purchase", {"order_id": "o-1", "value": 99.5, "currency": "USD",
                               "kind": "purchase"})),
    ("Signed Up", {}, ("purchase", "purchase", {"order_id": "m-1", "value": 0.0,
                                               "currency": "EUR", "kind": "signup"})),
    ("Products Searched", {"query": "noise cancelling"},
     ("search", "search", {"query": "noise cancelling", "results": 0})),
    ("Video Played", {"video": "demo", "email": "a@b.example", "nested": {"x": 1}, "n": 3},
     ("custom", "custom", {"name": "Video Played", "properties": {"video": "demo", "n": "3"}})),
])
def test_track_events(event: str, properties: dict[str, Any],
                      expected: tuple[str, str, dict[str, Any]]) -> None:
    message = {"type": "track", "event": event, "userId": "u-1", "messageId": "m-1",
               "properties": properties,
               "context": {"page": {"url": "https://shop.example/p/nc700"}}}
    r = segment(message, call="track").record
    event_type, part, value = expected
    assert r["event_type"] == event_type and r[part] == value
    assert r["visitor_id"] == "u-1" and r["user_id"] == "u-1"


def test_server_side_track_without_a_page_uses_a_placeholder_url() -> None:
    r = segment({"type": "track", "event": "Order Completed", "userId": "u", "messageId": "m",
                 "properties": {"order_id": "o", "total": 5}}).record
    assert r["page"]["url"] == "about:blank"


def test_identify_keeps_preferences_and_drops_personal_data() -> None:
    message = {"type": "identify", "anonymousId": "anon-1", "userId": "u-42", "messageId": "m",
               "traits": {"email": "jane@example.com", "phone": "+31 20 123 4567",
                          "name": "Jane", "address": {"city": "Utrecht"}, "ip": "10.0.0.1",
                          "loyalty_tier": "gold", "preferred_category": "audio",
                          "past_purchases": 3}}
    mapped = segment(message, call="identify")
    assert mapped.name == "ProfileUpdate"
    assert mapped.record["kind"] == "identify" and mapped.record["user_id"] == "u-42"
    assert mapped.record["visitor_id"] == "anon-1"
    assert mapped.record["traits"] == {"loyalty_tier": "gold", "preferred_category": "audio",
                                       "past_purchases": "3"}


def test_anonymous_identify_is_a_traits_update() -> None:
    r = segment({"type": "identify", "anonymousId": "a", "messageId": "m",
                 "traits": {"industry": "retail"}}).record
    assert (r["kind"], r["user_id"], r["traits"]) == ("traits", None, {"industry": "retail"})


@pytest.mark.parametrize("message, call, message_part", [
    ({"type": "page", "messageId": "m", "properties": {"url": "https://a.example/"}}, None,
     "anonymousId or a userId"),
    ({**PAGE, "properties": {"url": 42}}, None, "properties.url must be a string"),
    ({**PAGE, "context": "mobile"}, None, "context must be an object"),
    ({**PAGE, "timestamp": "last tuesday"}, None, "timestamp must be an ISO 8601"),
    ({**PAGE, "anonymousId": ["a"]}, None, "anonymousId must be a string"),
    ({"type": "page", "anonymousId": "a"}, None, "needs properties.url"),
    ({"type": "track", "anonymousId": "a"}, "track", "event is required"),
    ({"type": "track", "event": "Product Added", "anonymousId": "a",
      "properties": {"price": 3}}, None, "needs product_id"),
    ({"type": "track", "event": "Product Added", "anonymousId": "a",
      "properties": {"product_id": "p", "price": "cheap"}}, None, "price must be a number"),
    ({"type": "track", "event": "Product Added", "anonymousId": "a",
      "properties": {"product_id": "p", "quantity": 1.5}}, None, "whole number"),
    ({"type": "page", "anonymousId": "a"}, "track", "sent to /v1/track"),
    ({"type": "delete", "anonymousId": "a"}, None, "not a Segment call"),
    ("page", None, "must be a JSON object"),
])
def test_malformed_segment_calls_say_what_is_wrong(message: Any, call: str | None,
                                                    message_part: str) -> None:
    with pytest.raises(BadPayload, match=message_part):
        map_segment_message(message, received_ms=NOW_MS, sector="ecommerce", call=call)


def test_batch_applies_its_context_and_maps_every_call() -> None:
    body = {"batch": [{**PAGE, "context": {}},
                      {"type": "group", "anonymousId": "a", "groupId": "g"},
                      {"type": "screen", "anonymousId": "a"},
                      {"type": "alias", "previousId": "a", "userId": "u"}],
            "context": {"page": {"url": "https://shop.example/p/x"}, "timezone": "UTC"}}
    records, ignored = map_segment_batch(body, received_ms=NOW_MS, sector="ecommerce",
                                         max_batch=10)
    assert ignored == 0 and records[0].record["context"]["timezone"] == "UTC"
    assert [r.name for r in records] == ["ClickEvent", "ProfileUpdate", "ClickEvent",
                                         "ProfileUpdate"]


def test_alias_stitches_previous_id_to_user_id() -> None:
    mapped = segment({"type": "alias", "previousId": "anon-9", "userId": "user-9",
                      "messageId": "al-1", "anonymousId": "anon-9"})
    assert (mapped.name, mapped.dedup_id, mapped.record["kind"]) == ("ProfileUpdate", "al-1",
                                                                "identify")
    assert (mapped.record["visitor_id"], mapped.record["user_id"]) == ("anon-9", "user-9")


def test_group_attaches_account_traits_without_personal_data() -> None:
    mapped = segment({"type": "group", "userId": "user-9", "anonymousId": "anon-9",
                      "groupId": 42, "messageId": "g-1",
                      "traits": {"industry": "logistics", "plan": "enterprise",
                                 "email": "billing@acme.example", "employees": 120}})
    assert (mapped.name, mapped.record["kind"], mapped.record["visitor_id"]) == (
        "ProfileUpdate", "traits", "anon-9")
    assert mapped.record["traits"] == {"industry": "logistics", "plan": "enterprise",
                                       "group_id": "42"}


def test_screen_is_an_app_page_view() -> None:
    mapped = segment({"type": "screen", "anonymousId": "anon-9", "name": "Order Review",
                      "messageId": "sc-1", "context": {"device": {"type": "ios"}}})
    assert (mapped.name, mapped.record["event_type"]) == ("ClickEvent", "page_view")
    assert mapped.record["page"]["url"] == "app://screen/Order%20Review"


@pytest.mark.parametrize(("message", "reason"), [
    ({"type": "alias", "userId": "u"}, "alias needs previousId and userId"),
    ({"type": "alias", "previousId": "a"}, "alias needs previousId and userId"),
    ({"type": "group", "anonymousId": "a"}, "group needs a groupId"),
    ({"type": "group", "anonymousId": "a", "groupId": " "}, "group needs a groupId"),
    # str() of an integer this long raises ValueError: it was a 500 (the fuzz found it)
    ({"type": "group", "anonymousId": "a", "groupId": 10 ** 5000}, "groupId is longer"),
])
def test_unusable_new_calls_say_why(message: dict[str, Any], reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        map_segment_message(message, received_ms=NOW_MS, sector="ecommerce")


def test_batch_limits() -> None:
    with pytest.raises(BadPayload, match="at most 2"):
        map_segment_batch({"batch": [PAGE] * 3}, received_ms=NOW_MS, sector="ecommerce",
                          max_batch=2)
    with pytest.raises(BadPayload, match=r"batch\[1\]"):
        map_segment_batch({"batch": [PAGE, {"type": "page"}]}, received_ms=NOW_MS,
                          sector="ecommerce", max_batch=5)


NATIVE = {"visitor": "v-1", "session": "s-1", "sentAt": NOW_MS,
          "page": {"url": "https://shop.example/shop/p/nc700.html", "type": "product",
                   "product": "nc700", "category": "audio"},
          "context": {"device": "desktop", "landing": "https://shop.example/?gclid=1"},
          "events": [
              {"id": "e1", "type": "page_view", "time": NOW_MS - 100},
              {"id": "e2", "type": "click", "time": NOW_MS - 90, "x": 410, "y": 220,
               "target": "button#add-to-cart", "interactive": True},
              {"id": "e3", "type": "scroll", "time": NOW_MS - 80, "depth": 62.5},
              {"id": "e4", "type": "mouse_move", "time": NOW_MS - 70,
               "samples": [[1, 2, 0], [5, 9, 100]]},
              {"id": "e5", "type": "form_error", "time": NOW_MS - 60, "form": "returns",
               "field": "order", "error": "patternMismatch"},
              {"id": "e6", "type": "rage_click", "time": NOW_MS - 50, "x": 5, "y": 6,
               "target": "div.price", "clicks": 4},
              {"id": "e7", "type": "consent", "time": NOW_MS - 40, "personalization": False,
               "analytics": True},
              {"id": "e8", "type": "identify", "time": NOW_MS - 30, "user": "u-7",
               "traits": {"email": "x@y.example", "industry": "retail"}}]}


def test_native_batch_maps_every_event_type() -> None:
    mapped = map_native(NATIVE, received_ms=NOW_MS, sector="ecommerce", max_batch=50)
    for m in mapped:
        _check(m)
    r = {m.record.get("event_id") or m.record["update_id"]: m.record for m in mapped}
    assert r["e1"]["page"] == {"url": "https://shop.example/shop/p/nc700.html",
                               "page_type": "product", "category": "audio",
                               "product_id": "nc700", "referrer": None}
    assert r["e1"]["context"]["traffic_source"] == "ads"  # from the session's landing page
    assert r["e2"]["click"] == {"x": 410, "y": 220, "target": "button#add-to-cart",
                                "interactive": True}
    assert r["e4"]["mouse"]["samples"][1] == {"x": 5, "y": 9, "dt_ms": 100}
    assert r["e5"]["form"] == {"form_id": "returns", "field": "order",
                               "error": "patternMismatch"}
    assert r["e6"]["custom"] == {"name": "rage_click", "properties": {
        "target": "div.price", "clicks": "4", "x": "5", "y": "6"}}
    assert r["e7"]["kind"] == "consent" and r["e7"]["consent"] == {"personalization": False,
                                                                   "analytics": True}
    assert r["e8"]["user_id"] == "u-7" and r["e8"]["traits"] == {"industry": "retail"}
    assert r["e2"]["event_time"] == NOW_MS - 90  # sentAt == received: no correction


@pytest.mark.parametrize("change, message_part", [
    ({"visitor": None}, "visitor is required"),
    ({"events": "page_view"}, "events must be a non-empty list"),
    ({"events": [{"id": "e", "type": "teleport", "time": NOW_MS}]}, "not one of"),
    ({"events": [{"id": "e", "type": "click", "time": NOW_MS, "x": "left", "y": 1}]},
     "x must be a number"),
    ({"events": [{"id": "e", "type": "click", "time": NOW_MS, "x": 1, "y": 1,
                  "interactive": "yes"}]}, "interactive must be true or false"),
    ({"events": [{"id": "e", "type": "scroll", "time": NOW_MS, "depth": 140}]}, "within"),
    ({"events": [{"id": "e", "type": "mouse_move", "time": NOW_MS, "samples": [[1, 2]]}]},
     r"samples\[0\] must be"),
    ({"events": [{"id": "e", "type": "page_view"}]}, "time is required"),
    ({"events": [{"type": "page_view", "time": NOW_MS}]}, "id is required"),
    ({"page": None}, "has no page"),
    ({"events": [{"id": "e", "type": "consent", "time": NOW_MS}]}, "personalization must be"),
])
def test_malformed_native_batches_say_what_is_wrong(change: dict[str, Any],
                                                     message_part: str) -> None:
    with pytest.raises(BadPayload, match=message_part):
        map_native({**NATIVE, **change}, received_ms=NOW_MS, sector="ecommerce", max_batch=50)


@settings(max_examples=120, deadline=None)
@given(segment_calls())
def test_every_valid_segment_call_maps_to_a_valid_record(message: dict[str, Any]) -> None:
    mapped = map_segment_message(message, received_ms=NOW_MS, sector="ecommerce")
    assert mapped is not None
    _check(mapped)
    r = mapped.record
    if message["type"] == "alias":  # the id stitched to the user is the visitor
        assert (r["visitor_id"], r["user_id"]) == (message["previousId"], message["userId"])
    else:
        assert r["visitor_id"] == (message.get("anonymousId") or message.get("userId"))
    assert mapped.dedup_id == message["messageId"]
    free = r["traits"] if mapped.name == "ProfileUpdate" else (r["custom"] or {}).get(
        "properties", {})
    assert not any(is_personal_data_key(k) for k in free)


@settings(max_examples=80, deadline=None)
@given(native_batches())
def test_every_valid_tracker_batch_maps_to_valid_records(body: dict[str, Any]) -> None:
    mapped = map_native(body, received_ms=NOW_MS, sector="ecommerce", max_batch=50)
    assert len(mapped) == len(body["events"])
    for m in mapped:
        _check(m)
        assert m.record["visitor_id"] == body["visitor"]


@pytest.mark.parametrize(("user_agent", "declared", "device"), [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", None, "mobile"),
    ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)", None, "tablet"),
    ("Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0", None, "desktop"),
    (None, None, "desktop"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", "tablet", "tablet"),
])
def test_a_tracker_batch_gets_its_device_class_from_the_user_agent(
        user_agent: str | None, declared: str | None, device: str) -> None:
    # the tracker sends no device: the collector reduces the request's User-Agent to a class
    context = {k: v for k, v in NATIVE.get("context", {}).items() if k != "device"}
    if declared:
        context["device"] = declared
    mapped = map_native({**NATIVE, "context": context}, received_ms=NOW_MS, sector="ecommerce",
                        max_batch=50, user_agent=user_agent)
    clicks = [m.record for m in mapped if m.name == "ClickEvent"]
    assert clicks and {r["context"]["device"] for r in clicks} == {device}
    assert all("Mozilla" not in repr(r) for r in clicks)  # only the class is kept
