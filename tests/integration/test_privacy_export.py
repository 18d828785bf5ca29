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
from tests.integration.delivery_client import (
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


def _history(visitor: str, now: int, tag: str) -> dict[str, list[dict[str, Any]]]:
    """Events, outcomes, signals and decision-log entries of ``visitor`` (ids carry ``tag``)."""
    from pipeline.client.samples import click_event
    from tests.unit.replay.replay_helpers import decision_log, outcome

    events = [click_event(visitor, "page_view", now - 9000 + i, event_id=f"e-{tag}-{i}")
              for i in range(3)]
    logged = [decision_log(f"d-{tag}-{i}", visitor_id=visitor, created_at=now - 8000 + i,
                           arm="control" if i == 0 else "personalized", served=i != 0,
                           categorical={"device": "desktop", "tier": tag})
              for i in range(4)]  # decision ids hash to several partitions of the log
    outcomes = [{**outcome(f"d-{tag}-{i}", kind="clicked", visitor_id=visitor),
                 "event_time": now - 7000 + i} for i in (1, 2)]
    signals = [{"signal_id": f"s-{tag}", "visitor_id": visitor, "session_id": f"{visitor}-s",
                "rule": "rage_click", "event_time": now - 6000, "strength": 0.8,
                "page_url": "https://shop.example/p/nc700", "trigger_event_id": f"e-{tag}-2",
                "details": {"target": "button#buy"}}]
    return {"events": events, "decision_log": logged, "outcomes": outcomes, "signals": signals}


async def test_an_export_holds_the_visitors_history_and_nothing_of_a_neighbours(
        topics: Settings) -> None:
    """Events, outcomes, signals (the visitor's partition) and decision-log entries (every
    partition of the log) of the visitor, both ways: all of theirs, none of a neighbour on
    the same partitions of the visitor-keyed topics."""
    from pipeline.topics import DECISIONS_LOG, EVENTS, OUTCOMES, SIGNALS

    settings = topics
    me, neighbour = neighbours(settings)
    now = now_ms()
    mine, theirs = _history(me, now, "mine"), _history(neighbour, now, "theirs")
    assert len({partition_for(d["decision"]["decision_id"].encode(), settings.partitions)
                for d in mine["decision_log"]}) > 1  # the log is read across partitions

    def send() -> None:
        with EventProducer(settings) as producer:
            for history in (mine, theirs):
                for e in history["events"]:
                    producer.send(settings.topic(EVENTS), "ClickEvent", e, e["visitor_id"])
                for o in history["outcomes"]:
                    producer.send(settings.topic(OUTCOMES), "Outcome", o, o["visitor_id"])
                for s in history["signals"]:
                    producer.send(settings.topic(SIGNALS), "StruggleSignal", s, s["visitor_id"])
                for d in history["decision_log"]:
                    producer.send(settings.topic(DECISIONS_LOG), "DecisionLog", d,
                                  d["decision"]["decision_id"])

    await asyncio.to_thread(send)
    async with delivery(settings, admin_token=ADMIN) as (service, url), \
            aiohttp.ClientSession() as session:
        export = f"{url}/v1/privacy/export"
        status, body = await get_json(session, f"{export}?token={token(service, me)}")
        async with session.get(export, params={"visitor": neighbour},
                               headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            their_status, their_body = r.status, await r.json()

    assert status == 200 and their_status == 200
    for doc, history, tag, other in ((body, mine, "mine", "theirs"),
                                     (their_body, theirs, "theirs", "mine")):
        assert [e["event_id"] for e in doc["events"]] == [
            e["event_id"] for e in history["events"]]
        assert [o["outcome_id"] for o in doc["outcomes"]] == [
            o["outcome_id"] for o in history["outcomes"]]
        assert [s["signal_id"] for s in doc["signals"]] == [
            s["signal_id"] for s in history["signals"]]
        assert [(d["decision_id"], d["experiment_arm"], d["served"])
                for d in doc["decision_log"]] == [
            (d["decision"]["decision_id"], d["decision"]["experiment_arm"], d["served"])
            for d in history["decision_log"]]
        assert all(d["categorical_features"]["tier"] == tag for d in doc["decision_log"])
        assert doc["history_window_ms"] == 7 * 24 * 3600 * 1000 and doc["truncated"] == []
        assert f"-{other}-" not in json.dumps(doc)  # nothing of the other visitor


async def test_an_export_says_which_history_hit_the_record_bound(topics: Settings) -> None:
    """With at most 2 records read per partition, the visitor's 3 events are cut to the
    newest 2 and the export names ``events`` as truncated."""
    from pipeline.topics import EVENTS

    settings = topics
    me, _ = neighbours(settings)
    now = now_ms()
    mine = _history(me, now, "mine")

    def send() -> None:
        with EventProducer(settings) as producer:
            for e in mine["events"]:
                producer.send(settings.topic(EVENTS), "ClickEvent", e, e["visitor_id"])

    await asyncio.to_thread(send)
    async with delivery(settings, admin_token=ADMIN, export_max_records=2) as (service, url), \
            aiohttp.ClientSession() as session:
        status, body = await get_json(
            session, f"{url}/v1/privacy/export?token={token(service, me)}")
    assert status == 200
    assert [e["event_id"] for e in body["events"]] == [e["event_id"] for e in mine["events"][1:]]
    assert body["truncated"] == ["events"]


async def test_an_export_holds_the_persons_profile_under_its_user_id_and_their_devices(
        topics: Settings) -> None:
    """Export v3: what the profile side keeps about the *person* (its table of people,
    keyed by the user pseudonym) comes back to the admin for every device it lists (not to
    a visitor token: a device joins a person by a client-sent identify), and for no one else:
    a neighbour's profile on the same partitions, a profile that listed the visitor before
    a newer version of it stopped doing so, and deleted profiles are left out."""
    from pipeline.delivery.person import people_changelog
    from pipeline.profiles.state import ProfileState
    from pipeline.topics import TopicSpec

    settings = topics
    group = f"{settings.topic_prefix}g"
    changelog = people_changelog(group)
    apply_topics(settings.bootstrap, [TopicSpec(changelog, settings.partitions,
                                                settings.replication, "person", "",
                                                {"cleanup.policy": "compact"})])
    me, neighbour = neighbours(settings)
    phone = f"p-{uuid.uuid4().hex[:8]}"
    now = now_ms()
    mine = ProfileState(key=f"u.{uuid.uuid4().hex}", user_id=None, visitor_ids=[me, phone],
                        loyalty_tier="gold", past_purchases=3, traits={"plan": "pro"},
                        consent_personalization=True, consent_ms=now - 9000,
                        purchased_ever=True, recent_order_ids=["o-1"], updated_ms=now - 100,
                        experiment_unit=me)
    mine.user_id = mine.key
    theirs = ProfileState(key=f"u.{uuid.uuid4().hex}", visitor_ids=[neighbour],
                          loyalty_tier="silver", experiment_unit=neighbour)
    # a profile of mine from before identify, keyed by my visitor id and deleted when it
    # was merged into mine; one that listed us both until a newer version listed only the
    # neighbour; one that listed us both and was deleted
    before = ProfileState(key=me, visitor_ids=[me], loyalty_tier="bronze")
    shared_key, deleted_key = f"u.{uuid.uuid4().hex}", f"u.{uuid.uuid4().hex}"
    shared = ProfileState(key=shared_key, visitor_ids=[me, neighbour])
    unshared = ProfileState(key=shared_key, visitor_ids=[neighbour], plan="team")
    deleted = ProfileState(key=deleted_key, visitor_ids=[me, neighbour])

    def send() -> None:
        with EventProducer(settings) as producer:
            for state in (before, shared, deleted, mine, theirs, unshared):
                producer.produce_raw(changelog, state.to_bytes(), state.key.encode())
            for gone in (me, deleted_key):
                producer.produce_raw(changelog, None, gone.encode())

    await asyncio.to_thread(send)
    async with delivery(settings, admin_token=ADMIN, worker_group=group) as (service, url), \
            aiohttp.ClientSession() as session:
        export = f"{url}/v1/privacy/export"
        admin = {"Authorization": f"Bearer {ADMIN}"}
        _, by_token = await get_json(session, f"{export}?token={token(service, me)}")
        async with session.get(export, params={"visitor": me}, headers=admin) as r:
            status, body = r.status, await r.json()
        async with session.get(export, params={"visitor": phone}, headers=admin) as r:
            on_phone = await r.json()
        async with session.get(export, params={"visitor": neighbour}, headers=admin) as r:
            admin_status, theirs_body = r.status, await r.json()

    # a visitor token proves the device, not the person (identify is client-asserted)
    assert by_token["version"] == 3 and by_token["visitor_id"] == me
    assert by_token["person"] is None and by_token["other_devices"] is None
    assert status == 200 and admin_status == 200 and body["version"] == 3
    assert body["person"] == [dataclasses.asdict(mine)]
    assert body["other_devices"] == [phone]
    assert on_phone["person"] == [dataclasses.asdict(mine)] and on_phone["other_devices"] == [me]
    assert sorted(theirs_body["person"], key=lambda p: p["key"] != theirs.key) == [
        dataclasses.asdict(theirs), dataclasses.asdict(unshared)]
    assert theirs_body["other_devices"] == [] and body["truncated"] == []
