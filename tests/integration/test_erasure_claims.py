"""An erasure by user id reaches every device that *claimed* that user id, across a rotation.

Real worker (with its profile side), collector and delivery on the real broker. Ann's
e-mail is named by three devices: ``claim-a`` (the tracker, no ``userHash``) while the
pseudonym key is the old one; then the keys rotate (new first, old kept) and ``claim-b``
(the tracker and Segment's ``/v1/identify``, no ``userHash``) names it; ``signed`` (Ann's
laptop, with the site's ``userHash``) joined her before the rotation. Bob browses and claims
his own e-mail. Every device has a state, a view and a decision held by delivery.

Ann is erased by her e-mail with ``rtp erase`` (the rotated keys; what ``POST
/v1/privacy/erasure`` produces too), which prints one claiming device found under each key.
Then the three devices' states, views and decisions are gone, and the claim index entries of
her e-mail (under both keys) are tombstoned; Bob's state, view, decision and claim index
entry are all still there.

The decision held by delivery is put on the actions topic by the test (a precondition, as
in test_erasure_everywhere); everything checked after the erasure is the services' doing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from pipeline.client import EventProducer
from pipeline.collector import CollectorOptions, CollectorService
from pipeline.collector.identity import user_hash
from pipeline.commands.erase import run_erase
from pipeline.delivery import DeliveryOptions, DeliveryService
from pipeline.profiles import Pseudonyms
from pipeline.settings import Settings
from pipeline.topics import ACTIONS
from pipeline.web.visitor_token import VisitorTokens
from tests.integration.delivery_client import eventually, hero
from tests.integration.topic_watch import ABSENT, TopicWatch
from tests.integration.worker_process import WorkerProcess
from tests.unit.delivery.factories import decision

ADMIN = "admin-token-claims-0123456789"
WRITE_KEY = "public-write-key"
IDENTITY = "site-identity-key-0123456789"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
OLD, NEW = "claims-key-old-0123456789", "claims-key-new-0123456789"
#: The collector's visitor token key: a browser names a device only with that device's token.
TOKEN_KEY = "claims-visitor-token-key-0123456789"
TOKENS = VisitorTokens((TOKEN_KEY,))


@asynccontextmanager
async def collector(settings: Settings, keys: str) -> AsyncIterator[str]:
    """A collector whose pseudonym keys are ``keys`` (newest first)."""
    service = CollectorService(dataclasses.replace(settings, pseudonym_keys=keys,
                                                   visitor_token_keys=TOKEN_KEY),
                               CollectorOptions(http_port=0, write_keys=frozenset({WRITE_KEY}),
                                                identity_keys=frozenset({IDENTITY}),
                                                admin_token=ADMIN))
    served = await service.start()
    try:
        yield served.url
    finally:
        await service.stop()


def batch(visitor: str, at: int, user: str, signed: str | None) -> dict[str, Any]:
    """A tracker batch: a page view and an identify of ``user``."""
    return {"writeKey": WRITE_KEY, "visitor": visitor, "token": TOKENS.issue(visitor),
            "user": user, "userHash": signed,
            "sentAt": at, "page": {"url": "https://shop.example/p/nc700"},
            "events": [{"id": f"{visitor}-p", "type": "page_view", "time": at},
                       {"id": f"{visitor}-i", "type": "identify", "time": at, "user": user,
                        "userHash": signed, "traits": {"plan": "pro"}}]}


async def post(http: aiohttp.ClientSession, url: str, body: object,
               headers: dict[str, str] | None = None) -> None:
    async with http.post(url, json=body, headers=headers or {}) as r:
        assert r.status in (200, 202), await r.text()


async def test_an_erasure_by_user_id_reaches_every_device_that_claimed_it(
        topics: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    ann_email, bob_email = f"ann.{run}@example.com", f"bob.{run}@example.com"
    claim_a, claim_b, signed, bob = (f"{n}-{run}" for n in ("claim-a", "claim-b", "signed", "bob"))
    ann_devices = (claim_a, claim_b, signed)
    everyone = (*ann_devices, bob)
    old, rotated = Pseudonyms((OLD,)), Pseudonyms((NEW, OLD))
    now = int(time.time() * 1000)
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", learner=False)
    delivery = DeliveryService(topics, DeliveryOptions(http_port=0))
    state = views = claims = None
    try:
        worker.wait_ready()
        state = TopicWatch(topics, worker.changelog("visitors"), decode=False)
        views = TopicWatch(topics, worker.changelog("visitor-profiles"), decode=False)
        claims = TopicWatch(topics, worker.changelog("claims"), decode=False)
        d = await delivery.start()
        with EventProducer(topics) as producer:
            for visitor in everyone:
                producer.send(topics.topic(ACTIONS), "Decision",
                              decision(visitor, created_at=now), visitor)
        async with aiohttp.ClientSession() as http:
            async with collector(topics, OLD) as url:  # before the rotation
                await post(http, f"{url}/v1/t", batch(claim_a, now, ann_email, None))
                await post(http, f"{url}/v1/t", batch(
                    signed, now, ann_email, user_hash(IDENTITY, ann_email)))
                await post(http, f"{url}/v1/t", batch(bob, now, bob_email, None))
            async with collector(topics, f"{NEW},{OLD}") as url:  # after it
                await post(http, f"{url}/v1/t", batch(claim_b, now, ann_email, None))
                await post(http, f"{url}/v1/identify", {
                    "anonymousId": claim_b, "userId": ann_email, "messageId": f"{claim_b}-s",
                    "traits": {"plan": "free"},
                    "context": {"visitorToken": TOKENS.issue(claim_b)}}, AUTH)
            ann_entries = [old.of(ann_email).encode(), rotated.of(ann_email).encode()]
            bob_entry = old.of(bob_email).encode()
            for watch, keys, what in ((state, everyone, "states"), (views, everyone, "views"),
                                      (claims, (*ann_entries, bob_entry), "claim entries")):
                watch.wait_stored(keys, f"everyone's {what}", timeout=120)
            assert claims.latest(ann_entries[0]) == {"raw": f'["{claim_a}"]'.encode()}
            assert claims.latest(ann_entries[1]) == {"raw": f'["{claim_b}"]'.encode()}
            for visitor in everyone:
                await eventually(lambda v=visitor: hero(http, d.url, delivery, v),
                                 f"{visitor}'s decision held by delivery", 120, 0.2)

            # rtp erase, with the rotated keys: it waits for the profile side and says what
            # went (one erasure per key: each found one claiming device)
            printed: list[str] = []
            code = await asyncio.to_thread(
                run_erase, dataclasses.replace(topics, pseudonym_keys=f"{NEW},{OLD}"),
                argparse.Namespace(user_id=ann_email, visitor_id=None, wait=120.0),
                printed.append)
            assert code == 0, printed
            removed = sorted(line for line in printed if line.startswith("removed by "))
            assert len(removed) == 2, printed
            assert all("; 1 device(s) that claimed the user id without proof" in line
                       for line in removed), removed
            assert sum(" and the stored profile" in line for line in removed) == 1, removed

            async def delivery_forgot() -> bool:
                return all([await hero(http, d.url, delivery, v) is None for v in ann_devices])

            await eventually(delivery_forgot, "delivery to drop the devices' decisions", 120, 0.2)
            kept = await hero(http, d.url, delivery, bob)
            assert kept is not None
            assert kept["decision_id"] == decision(bob, created_at=now)["decision_id"]

        state.wait_tombstoned(ann_devices, "tombstones of the devices' states")
        views.wait_tombstoned(ann_devices, "tombstones of the devices' views")
        claims.wait_tombstoned(ann_entries, "tombstones of the claim index entries")
        for watch in (state, views, claims):
            watch.poll(1.0)
        for watch in (state, views):  # nothing of Ann's devices, everything of Bob's
            assert {v: watch.latest(v) in (None, ABSENT) for v in everyone} == {
                claim_a: True, claim_b: True, signed: True, bob: False}, watch.topic
        assert claims.latest(bob_entry) == {"raw": f'["{bob}"]'.encode()}
    finally:
        for watch in (state, views, claims):
            if watch is not None:
                watch.close()
        await delivery.stop()
        worker.stop()
