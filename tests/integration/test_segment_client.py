"""Segment's own Python client (segment-analytics-python) against the collector, to the topics.

Every call of the Segment spec lands on its topic as what rtp makes of it; a call rtp
cannot use is refused with a 400 the client raises, never acknowledged and dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaException
from segment.analytics import Client
from segment.analytics.request import APIError, post

from pipeline.collector.minimise import opaque
from pipeline.profiles import apply_profile_update, resolve_pseudonyms
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import EVENTS, PROFILES
from pipeline.topics.headers import WAIT_HEADER
from tests.integration.kafka_reader import read_topic
from tests.integration.test_collector_service import (
    SERVER_KEY,
    collector,
    decoded,
    total_messages,
)

CODEC = Codec.default()


def _client(url: str) -> Client:
    # sync_mode: each call is one blocking POST /v1/batch whose error the client raises.
    # A server-side SDK: it uses the site's secret server key, so its user ids are trusted.
    return Client(write_key=SERVER_KEY, host=url, sync_mode=True, max_retries=0, timeout=10)


async def _call(fn: Callable[..., Any], **kwargs: Any) -> None:
    await asyncio.to_thread(fn, **kwargs)


async def test_every_segment_call_from_the_real_client_lands_on_its_topic(
        topics: Settings) -> None:
    async with collector(topics) as url:
        client = _client(url)
        await _call(client.identify, user_id="user-s1", anonymous_id="anon-s1",
                    message_id="c-identify",
                    traits={"loyalty_tier": "gold", "email": "s1@example.com"})
        await _call(client.alias, previous_id="anon-s2", user_id="user-s1",
                    message_id="c-alias")
        await _call(client.group, user_id="user-s1", anonymous_id="anon-s1", group_id="acme",
                    message_id="c-group",
                    traits={"industry": "logistics", "plan": "enterprise", "name": "Acme"})
        await _call(client.screen, anonymous_id="anon-s1", name="Order Review",
                    message_id="c-screen", properties={"step": 2})
        # a page that waits for its page view's decision (delivery's trigger=c-page)
        await _call(client.page, anonymous_id="anon-s1", message_id="c-page",
                    properties={"url": "https://shop.example/p/nc700"},
                    context={"rtpWait": True})

    updates = await asyncio.to_thread(decoded, topics, topics.topic(PROFILES), "ProfileUpdate",
                                      3)
    user = resolve_pseudonyms(topics).of("user-s1")  # the collector's keyed pseudonym
    by_id = {u["update_id"]: (key, u) for key, u in updates}
    assert sorted(by_id) == ["c-alias", "c-group", "c-identify"]
    key, identify = by_id["c-identify"]
    assert (key, identify["kind"], identify["traits"]) == (
        user.encode(), "identify", {"loyalty_tier": "gold"})
    key, alias = by_id["c-alias"]
    assert (key, alias["kind"], alias["visitor_id"], alias["user_id"]) == (
        user.encode(), "identify", "anon-s2", user)
    key, group = by_id["c-group"]
    assert (key, group["kind"], group["traits"]) == (
        user.encode(), "traits", {"industry": "logistics", "plan": "enterprise",
                               "group_id": "acme"})

    # What the profile side makes of them, in order: traits kept, both devices stitched.
    state = None
    for update_id in ("c-identify", "c-alias", "c-group"):
        state = apply_profile_update(state, by_id[update_id][1]).state
    assert state is not None
    assert (state.loyalty_tier, state.industry, state.plan) == (
        "gold", "logistics", "enterprise")
    assert sorted(state.visitor_ids) == ["anon-s1", "anon-s2"]
    assert state.experiment_unit == "anon-s1"

    events = await asyncio.to_thread(decoded, topics, topics.topic(EVENTS), "ClickEvent", 2)
    by_event = {e["event_id"]: (key, e) for key, e in events}
    assert sorted(by_event) == ["c-page", "c-screen"]
    # only the awaited page call carries the rtp-wait header the worker answers by
    headers = {CODEC.decode(m.value(), ("ClickEvent",))[1]["event_id"]: m.headers()
               for m in await asyncio.to_thread(read_topic, topics, topics.topic(EVENTS), 2)}
    assert headers == {"c-page": [(WAIT_HEADER, b"1")], "c-screen": None}
    key, screen = by_event["c-screen"]
    # a screen name that is not one word is kept as its keyed token (README "Names in ids
    # and vocabulary fields"; RTP_COLLECTOR_VOCABULARY keeps it as sent)
    assert (key, screen["event_type"], screen["page"]["url"]) == (
        b"anon-s1", "page_view",
        "app://screen/" + opaque("Order Review", resolve_pseudonyms(topics)))


async def test_a_call_rtp_cannot_use_is_a_400_the_client_raises(topics: Settings) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    async with collector(topics) as url:
        for message in ({"type": "delete", "userId": "u", "messageId": "x-1",
                         "timestamp": now},
                        {"type": "group", "userId": "u", "messageId": "x-2",
                         "timestamp": now}):
            with pytest.raises(APIError) as failed:
                await asyncio.to_thread(post, "it-key", url, batch=[message])
            assert failed.value.status == 400
            assert ("not a Segment call" in str(failed.value)
                    or "group needs a groupId" in str(failed.value))
    for topic in (EVENTS, PROFILES):
        assert await asyncio.to_thread(_count, topics, topics.topic(topic)) == 0


def _count(settings: Settings, topic: str) -> int:
    """Messages on ``topic``; waits out "not leader" while a fresh topic elects leaders."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return total_messages(settings, topic)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
