"""Identity verification on the real broker, through the collector and the profile side.

A browser holding only the public write key identifies as *someone else* (the tracker's
batch ``user``, its identify event, and Segment's ``/v1/identify``): the person's profile
view (tier, purchases) never reaches the attacker's visitor ids, on the topic the workers and
the export read. The same person's second device, whose page got a ``userHash`` from the
site's server, does receive it. A ``userHash`` that does not match is refused (403).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from pipeline.collector import CollectorOptions, CollectorService
from pipeline.collector.identity import user_hash
from pipeline.profiles import ProfileView, decode_visitor_message
from pipeline.settings import Settings
from pipeline.web.visitor_token import VisitorTokens
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess
from topologies.decision_path import VISITOR_PROFILES

WRITE_KEY = "public-write-key"
IDENTITY = "site-identity-key-0123456789"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
EMAIL = "ann.victim@example.com"
#: The collector's visitor token key: each device names its own visitor id with its token.
TOKENS = VisitorTokens(("identity-test-token-key-0123456789",))


@asynccontextmanager
async def collector(settings: Settings) -> AsyncIterator[str]:
    settings = dataclasses.replace(settings, visitor_token_keys=TOKENS.keys[0])
    service = CollectorService(settings, CollectorOptions(
        http_port=0, write_keys=frozenset({WRITE_KEY}), identity_keys=frozenset({IDENTITY})))
    served = await service.start()
    try:
        yield served.url
    finally:
        await service.stop()


def views_by_visitor(watch: TopicWatch) -> dict[str, list[ProfileView | None]]:
    out: dict[str, list[ProfileView | None]] = {}
    for _, raw in watch.seen:
        if raw is not None:
            message = decode_visitor_message(raw["raw"])
            out.setdefault(message.visitor_id, []).append(message.view)
    return out


def tracker_batch(visitor: str, at: int, *, user: str, signed: str | None) -> dict[str, object]:
    return {"writeKey": WRITE_KEY, "visitor": visitor, "token": TOKENS.issue(visitor),
            "user": user, "userHash": signed,
            "sentAt": at, "page": {"url": "https://shop.example/"},
            "events": [{"id": f"{visitor}-p", "type": "page_view", "time": at},
                       {"id": f"{visitor}-i", "type": "identify", "time": at, "user": user,
                        "userHash": signed}]}


async def post(http: aiohttp.ClientSession, url: str, body: object,
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    async with http.post(url, data=json.dumps(body), headers=headers or {}) as r:
        return r.status, await r.json()


async def test_a_forged_identify_never_gets_the_persons_view_and_a_signed_one_does(
        topics: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    laptop, phone = f"ann-laptop-{run}", f"ann-phone-{run}"
    attackers = [f"mallory-t-{run}", f"mallory-s-{run}", f"mallory-x-{run}"]
    signed = user_hash(IDENTITY, EMAIL)  # what the site's server gives Ann's pages
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", learner=False)
    views = None
    try:
        worker.wait_ready()
        views = TopicWatch(topics, topics.topic(VISITOR_PROFILES), decode=False)
        now = int(time.time() * 1000)

        def tier(visitor: str) -> bool:
            return any(v is not None and v.loyalty_tier == "platinum"
                       for v in views_by_visitor(views).get(visitor, []))

        async with collector(topics) as url, aiohttp.ClientSession() as http:
            # Ann, signed in on her laptop: the site's page passes her userHash
            status, _ = await post(http, f"{url}/v1/identify", {
                "anonymousId": laptop, "userId": EMAIL, "messageId": f"{laptop}-i",
                "traits": {"loyalty_tier": "platinum", "past_purchases": "12"},
                "context": {"userHash": signed, "visitorToken": TOKENS.issue(laptop)}}, AUTH)
            assert status == 200
            await asyncio.to_thread(views.wait_for, lambda _: tier(laptop), 120,
                                    "Ann's view on her laptop")
            # Mallory names Ann's user id from three devices without a (valid) userHash
            status, _ = await post(http, f"{url}/v1/t",
                                   tracker_batch(attackers[0], now, user=EMAIL, signed=None))
            assert status == 200
            status, _ = await post(http, f"{url}/v1/identify", {
                "anonymousId": attackers[1], "userId": EMAIL, "messageId": f"{attackers[1]}-i",
                "traits": {"plan": "free"},
                "context": {"visitorToken": TOKENS.issue(attackers[1])}}, AUTH)
            assert status == 200
            status, answer = await post(http, f"{url}/v1/t", tracker_batch(
                attackers[2], now, user=EMAIL, signed=user_hash("a-guessed-key-012345", EMAIL)))
            assert (status, answer["error"]) == (
                403, "userHash does not match the user id (sign it with an identity key)")
            # each accepted forgery was applied: its device's own (anonymous) view came back
            await asyncio.to_thread(
                views.wait_for, lambda _: all(a in views_by_visitor(views) for a in attackers[:2]),
                120, "the forged identifies applied")
            # Ann's phone, signed: it joins her and gets her view
            status, _ = await post(http, f"{url}/v1/t",
                                   tracker_batch(phone, now, user=EMAIL, signed=signed))
            assert status == 200
            await asyncio.to_thread(views.wait_for, lambda _: tier(phone), 120,
                                    "Ann's view on her phone")
        views.poll(1.0)
    finally:
        worker.stop()
        if views is not None:
            views.close()

    by_visitor = views_by_visitor(views)
    # Ann's view (platinum, 12 purchases, identified) reached exactly her two devices ...
    assert {v for v, seen in by_visitor.items()
            if any(x is not None and x.loyalty_tier == "platinum" for x in seen)} == {laptop, phone}
    latest = by_visitor[phone][-1]
    assert latest is not None and (latest.past_purchases, latest.identified) == (12, True)
    # ... and never an attacker's: only their own anonymous view, never identified
    for attacker in attackers[:2]:
        assert by_visitor[attacker] and all(
            v is not None and (v.loyalty_tier, v.past_purchases, v.identified) == (None, 0, False)
            for v in by_visitor[attacker]), (attacker, by_visitor[attacker])
    assert attackers[2] not in by_visitor  # refused: nothing of it was produced
