"""Device authentication on the real broker: knowing a visitor id is not enough to act for it.

The collector (in this process) and a real worker with its profile side. The victim's
browser holds its visitor id and token, sends a page view and its traits, and gets its view
back. A forger who knows the victim's id then tries every collector route that takes one —
the tracker's batch (events, an identify with other traits, a consent opt-out), Segment's
page, track, identify, group, screen, alias (``previousId`` = the victim) and batch — with
no token, a forged token, another visitor's (the forger's own, valid) token, and an expired
token. Every forged request is refused (401/403) and nothing of it reaches any topic; the
victim's view is unchanged. The holder of the right token is accepted afterwards, and
exactly its records are on the topics (compared both ways: nothing lost, nothing extra).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from pipeline.collector import CollectorOptions, CollectorService
from pipeline.profiles import ProfileView, decode_visitor_message
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import EVENTS, PROFILES
from pipeline.web.visitor_token import VisitorTokens
from tests.integration.kafka_reader import read_prefix_topics
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up
from topologies.decision_path import VISITOR_PROFILES

WRITE_KEY = "devauth-write-key"
TOKEN_KEY = "devauth-visitor-token-key-0123456789"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
CODEC = Codec.default()


def _read_everything(settings: Settings) -> dict[str, list[tuple[bytes, bytes]]]:
    """Key and value of every record on every topic under the settings' prefix, by topic."""
    return read_prefix_topics(settings)


def _tracker(visitor: str, token: str | None, at: int, tag: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "writeKey": WRITE_KEY, "visitor": visitor, "session": f"s-{tag}", "sentAt": at,
        "page": {"url": "https://shop.example/p/nc700", "type": "product", "product": "nc700"},
        "events": [{"id": f"{tag}-page", "type": "page_view", "time": at},
                   {"id": f"{tag}-cart", "type": "add_to_cart", "time": at,
                    "product": "nc700", "value": 349},
                   {"id": f"{tag}-traits", "type": "identify", "time": at,
                    "traits": {"loyalty_tier": "bronze"}},
                   {"id": f"{tag}-consent", "type": "consent", "time": at,
                    "personalization": False, "analytics": False}]}
    if token is not None:
        body["token"] = token
    return body


def _segment(route: str, visitor: str, token: str | None, tag: str) -> dict[str, Any]:
    context: dict[str, Any] = {"page": {"url": "https://shop.example/p/nc700"}}
    if token is not None:
        context["visitorToken"] = token
    base = {"anonymousId": visitor, "messageId": f"{tag}-{route}", "context": context}
    calls: dict[str, dict[str, Any]] = {
        "page": {**base, "properties": {"url": "https://shop.example/p/nc700"}},
        "track": {**base, "event": "Order Completed", "properties": {"total": 999}},
        "identify": {**base, "traits": {"loyalty_tier": "bronze"}},
        "group": {**base, "groupId": f"{tag}-acme", "traits": {"industry": "logistics"}},
        "screen": {**base, "name": "Checkout"},
        "alias": {"previousId": visitor, "userId": f"{tag}-user", "messageId": f"{tag}-alias",
                  "context": context},
    }
    if route == "batch":
        return {"batch": [{**calls[k], "type": k} for k in ("page", "identify", "alias")]}
    return calls[route]


async def _post(http: aiohttp.ClientSession, url: str, body: object,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    async with http.post(url, data=json.dumps(body), headers=headers or {}) as r:
        return r.status, await r.json()


def _views(watch: TopicWatch, visitor: str) -> list[ProfileView | None]:
    out = []
    for key, raw in watch.seen:
        if raw is not None and key == visitor.encode():
            out.append(decode_visitor_message(raw["raw"]).view)
    return out


async def test_a_forger_with_the_victims_id_produces_nothing_and_the_holder_is_accepted(
        topics: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(topics, visitor_token_keys=TOKEN_KEY)
    run = uuid.uuid4().hex[:8]
    worker = WorkerProcess(settings, tmp_path / "data", tmp_path / "worker.log", learner=False)
    service = CollectorService(settings, CollectorOptions(
        http_port=0, write_keys=frozenset({WRITE_KEY})))
    views = None
    forged: list[tuple[str, str, int, str]] = []
    try:
        worker.wait_ready()
        views = TopicWatch(settings, settings.topic(VISITOR_PROFILES), decode=False)
        url = (await service.start()).url
        now = int(time.time() * 1000)
        async with aiohttp.ClientSession() as http:
            # the victim's browser: a first batch gets its id and token from the collector
            status, first = await _post(http, f"{url}/v1/t", {
                "writeKey": WRITE_KEY, "sentAt": now, "page": {"url": "https://shop.example/"},
                "events": [{"id": f"victim-{run}-first", "type": "page_view", "time": now}]})
            assert status == 200, first
            victim, token = first["visitor"], first["token"]
            status, answer = await _post(http, f"{url}/v1/identify", {
                "anonymousId": victim, "messageId": f"victim-{run}-traits",
                "traits": {"loyalty_tier": "gold"}, "context": {"visitorToken": token}}, AUTH)
            assert status == 200, answer
            await asyncio.to_thread(
                views.wait_for, lambda _: any(v is not None and v.loyalty_tier == "gold"
                                              for v in _views(views, victim)),
                120, "the victim's view with its own traits")
            # the forger knows the victim's id, and holds a valid token of its own
            status, own = await _post(http, f"{url}/v1/visitor", {"writeKey": WRITE_KEY})
            assert status == 200
            wrong = {
                "none": None,
                "forged": token.rsplit(".", 1)[0] + "." + ("A" * 43),
                "other": own["token"],
                "expired": VisitorTokens((TOKEN_KEY,), ttl_s=60,
                                         clock=lambda: time.time() - 120).issue(victim),
            }
            for name, bad in wrong.items():
                tag = f"forged-{run}-{name}"
                status, answer = await _post(http, f"{url}/v1/t",
                                             _tracker(victim, bad, now, f"{tag}-t"))
                forged.append((name, "/v1/t", status, str(answer.get("error"))))
                for route in ("page", "track", "identify", "group", "screen", "alias", "batch"):
                    status, answer = await _post(http, f"{url}/v1/{route}",
                                                 _segment(route, victim, bad, tag), AUTH)
                    forged.append((name, f"/v1/{route}", status, str(answer.get("error"))))
            # the holder of the right token is accepted, on both kinds of route
            status, answer = await _post(http, f"{url}/v1/t", {
                "writeKey": WRITE_KEY, "visitor": victim, "token": token, "sentAt": now,
                "page": {"url": "https://shop.example/p/nc700"},
                "events": [{"id": f"victim-{run}-second", "type": "page_view", "time": now}]})
            assert status == 200, answer
            status, answer = await _post(http, f"{url}/v1/page", _segment(
                "page", victim, token, f"victim-{run}"), AUTH)
            assert status == 200, answer
        await service.stop()
        inputs = [settings.topic(EVENTS), settings.topic(PROFILES)]
        wait_caught_up(worker, inputs, timeout=120)
        profile_side = SimpleNamespace(settings=settings, group=f"{worker.group}-profiles")
        wait_caught_up(profile_side, [settings.topic(PROFILES)], timeout=120)  # type: ignore[arg-type]
        wait_caught_up(worker, inputs, timeout=120)
        views.poll(1.0)
    finally:
        await service.stop()
        worker.stop()
        if views is not None:
            views.close()

    # nothing of the forged requests reached any topic (keys, values, changelogs, the DLQ) ...
    topics_read = await asyncio.to_thread(_read_everything, settings)
    everything = b"\n".join(k + b"\x00" + v for records in topics_read.values()
                            for k, v in records)
    assert everything and f"forged-{run}".encode() not in everything
    assert b"bronze" not in everything and b"logistics" not in everything
    # ... and exactly the holder's records are on the input topics, both ways
    events = {CODEC.decode(v)[1]["event_id"]: k for k, v in topics_read[settings.topic(EVENTS)]}
    assert events == {f"victim-{run}-first": victim.encode(),
                      f"victim-{run}-second": victim.encode(),
                      f"victim-{run}-page": victim.encode()}
    updates = {CODEC.decode(v)[1]["update_id"]: CODEC.decode(v)[1]["visitor_id"]
               for _, v in topics_read[settings.topic(PROFILES)]}
    assert updates == {f"victim-{run}-traits": victim}
    # the victim's view never changed to the forger's traits or an opt-out
    seen = _views(views, victim)
    gold = [i for i, v in enumerate(seen) if v is not None and v.loyalty_tier == "gold"]
    assert gold and all(v is not None and v.loyalty_tier == "gold" for v in seen[gold[0]:]), seen
    # every forged request was refused: 401 without a valid token, 403 with another visitor's
    expected = {"none": 401, "forged": 401, "expired": 401, "other": 403}
    assert [(n, r, s) for n, r, s, _ in forged if s != expected[n]] == []
    assert len(forged) == 4 * 8 and all(e != "None" for *_, e in forged)
