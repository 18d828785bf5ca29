"""Right of access on the real broker: ``GET /v1/privacy/export`` on the delivery service returns
the visitor's profile view, consent records, profile updates and decisions (with their
reasons), nothing of another visitor on the same partitions, and refuses without a valid token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from typing import Any

import aiohttp

from pipeline.client import EventProducer
from pipeline.delivery.person import VISITOR_VIEWS
from pipeline.profiles.fanout import VisitorMessage, encode_visitor_message
from pipeline.profiles.view import ProfileView
from pipeline.settings import Settings
from pipeline.topics import apply_topics
from pipeline.topics.partitioning import partition_for
from tests.integration.test_delivery_service import (
    delivery,
    eventually,
    get_json,
    now_ms,
    produce,
    token,
)
from tests.unit.delivery.factories import decision
from topologies.personalize import internal_topics

ADMIN = "admin-token-0123456789abcdef"


def neighbours(settings: Settings) -> tuple[str, str]:
    """Two visitor ids on the same partition of every topic (so the reader's key filter,
    not the partitioning, keeps one out of the other's export)."""
    first = f"v-{uuid.uuid4().hex[:8]}"
    home = partition_for(first.encode(), settings.partitions)
    second = next(v for v in (f"w-{uuid.uuid4().hex[:8]}" for _ in range(1000))
                  if partition_for(v.encode(), settings.partitions) == home)
    return first, second


def consent(visitor: str, at: int, personalization: bool) -> dict[str, Any]:
    return {"update_id": f"c-{visitor}-{at}", "kind": "consent", "visitor_id": visitor,
            "user_id": None, "event_time": at, "traits": {},
            "consent": {"personalization": personalization, "analytics": True}}


async def produce_people(settings: Settings, messages: list[tuple[str, VisitorMessage | None]],
                         updates: list[dict[str, Any]]) -> None:
    def send() -> None:
        with EventProducer(settings) as producer:
            for visitor, message in messages:
                producer.produce_raw(settings.topic(VISITOR_VIEWS),
                                     None if message is None else encode_visitor_message(message),
                                     visitor.encode())
            for update in updates:
                producer.send_profile_update(update)

    await asyncio.to_thread(send)


async def test_an_export_holds_everything_about_the_visitor_and_nothing_else(
        topics: Settings) -> None:
    settings = topics
    apply_topics(settings.bootstrap, [t for t in internal_topics(settings, "g")
                                      if t.name == settings.topic(VISITOR_VIEWS)])
    me, neighbour = neighbours(settings)
    now = now_ms()
    my_view = ProfileView(loyalty_tier="gold", preferred_category="audio", returning=True,
                          consent_ms=now - 1000, experiment_unit=me)
    their_view = ProfileView(loyalty_tier="silver", preferred_category="travel-gear")
    mine = [{**decision(me, "hero", created_at=now - 5000),
             "reason": "Personalized for you: free express shipping."},
            {**decision(me, "overlay", created_at=now - 4000, action_id="first_time_buyer_discount",
                        payload={"headline": "10% off", "code": "WELCOME10"}),
             "reason": "Personalized for you: welcome discount."}]
    theirs = [{**decision(neighbour, "hero", created_at=now - 3000),
               "reason": "Personalized for you: the neighbour's."}]
    await produce_people(
        settings,
        [(me, VisitorMessage(me, my_view)), (neighbour, VisitorMessage(neighbour, their_view)),
         (neighbour, VisitorMessage(neighbour, None, erase=True))],
        [consent(me, now - 3000, True), consent(me, now - 1000, False),
         {"update_id": f"t-{me}", "kind": "traits", "visitor_id": me, "user_id": None,
          "event_time": now - 2000, "traits": {"loyalty_tier": "gold"}},
         consent(neighbour, now - 500, True)])
    await produce(settings, *mine, *theirs)

    async with delivery(settings, admin_token=ADMIN) as (service, url), \
            aiohttp.ClientSession() as session:
        async def held() -> bool:
            return len(service.store.current(me, now_ms())) == 2 and bool(
                service.store.current(neighbour, now_ms()))

        await eventually(held, "delivery to hold the decisions")
        export = f"{url}/v1/privacy/export"
        status, body = await get_json(session, f"{export}?token={token(service, me)}")
        async with session.get(export, params={"visitor": neighbour},
                               headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            admin_status, theirs_body = r.status, await r.json()
        refusals = {}
        for name, params, headers in (
                ("none", {}, {}),
                ("forged", {"token": token(service, me)[:-4] + "AAAA"}, {}),
                ("other visitor", {"token": token(service, me), "visitor": neighbour}, {}),
                ("wrong admin key", {"visitor": neighbour},
                 {"Authorization": "Bearer not-the-admin-key"}),
                ("admin without visitor", {}, {"Authorization": f"Bearer {ADMIN}"})):
            async with session.get(export, params=params, headers=headers) as r:
                refusals[name] = (r.status, (await r.json())["error"])

    assert status == 200 and admin_status == 200
    # everything about me: the profile view as the workers hold it, the consent answers
    # (latest: no), the trait update, both decisions with their reasons, held by delivery
    assert body["visitor_id"] == me and body["erased"] is False
    assert body["profile"] == dataclasses.asdict(my_view)
    assert body["consent"] == {"personalization": False, "analytics": True,
                               "event_time": now - 1000, "update_id": f"c-{me}-{now - 1000}"}
    assert [c["personalization"] for c in body["consent_history"]] == [True, False]
    assert body["profile_updates"] == [{"kind": "traits", "event_time": now - 2000,
                                        "user_id": None, "traits": {"loyalty_tier": "gold"},
                                        "update_id": f"t-{me}"}]
    assert [(d["decision_id"], d["reason"], d["held_by_delivery"], d["payload"])
            for d in body["decisions"]] == [
        (d["decision_id"], d["reason"], True, d["payload"]) for d in mine]
    # nothing of the neighbour, who shares every partition with me
    text = json.dumps(body)
    assert neighbour not in text and "silver" not in text and "neighbour" not in text
    # the neighbour's export (admin key): their decision and consent, their erased view
    assert theirs_body["visitor_id"] == neighbour
    assert theirs_body["profile"] is None and theirs_body["erased"] is True
    assert [d["decision_id"] for d in theirs_body["decisions"]] == [theirs[0]["decision_id"]]
    assert [c["personalization"] for c in theirs_body["consent_history"]] == [True]
    assert me not in json.dumps(theirs_body) and "gold" not in json.dumps(theirs_body)
    # refused with a message, never a 5xx
    assert {name: status for name, (status, _) in refusals.items()} == {
        "none": 401, "forged": 401, "other visitor": 403, "wrong admin key": 401,
        "admin without visitor": 400}
    assert all(message for _, message in refusals.values())
