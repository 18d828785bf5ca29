"""Erasure through ``POST /v1/privacy/erasure`` reaches every place a person lives.

A real worker (with its profile side), the collector and the delivery service, on the real
broker. Four people have browsed (worker state), identified (profile, view) and have a
decision held by delivery. Ann is erased through the collector's route; Cid's erasure is
produced by a client left at librdkafka's *default* partitioner (CRC32), the issue's case
where the erasure landed on another partition than the person's profile; Dan by ``rtp
erase``, which waits and prints what was removed (two ids, the stored profile, their
marks); Bob is left alone. Then every store answers nothing for Ann, Cid and Dan, and
everything for Bob; the report's export of the decision log keeps only Bob's decisions
and the erasure marks are exactly the erased ids'.

The decision held by delivery is put on the actions topic by the test (a precondition:
what the worker chooses for a fresh model is not the subject here); everything the test
checks after the erasure is produced by the services.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import aiohttp
from confluent_kafka import Consumer, Producer, TopicPartition

from pipeline.client import EventProducer
from pipeline.collector import CollectorOptions, CollectorService
from pipeline.commands.erase import run_erase
from pipeline.delivery import DeliveryOptions, DeliveryService
from pipeline.profiles import Pseudonyms, resolve_pseudonyms
from pipeline.profiles.erasures import erasure_mark
from pipeline.replay.sources import export_topics, read_erasures, read_file
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, PROFILES
from pipeline.topics.partitioning import partition_for
from tests.integration.delivery_client import eventually, hero
from tests.integration.scenarios import browser
from tests.integration.topic_watch import ABSENT, TopicWatch
from tests.integration.worker_process import WorkerProcess
from tests.unit.delivery.factories import decision

ADMIN = "admin-token-erasure-0123456789"
CODEC = Codec.default()


def _latest_by_key(settings: Settings, topic: str) -> dict[tuple[int, bytes | None],
                                                           bytes | None]:
    """The newest value of every (partition, key) on ``topic``, read to its end."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "t-latest",
                         "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        latest: dict[tuple[int, bytes | None], bytes | None] = {}
        done = {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + 60
        while len(done) < len(ends) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is not None:
                    continue
                partition = int(msg.partition() or 0)
                latest[partition, msg.key()] = msg.value()
                if int(msg.offset() or 0) + 1 >= ends[partition]:
                    done.add(partition)
        assert len(done) == len(ends), f"{topic} not read to its end"
        return latest
    finally:
        consumer.close()


def _user_off_its_partition(run: str, partitions: int, names: Pseudonyms) -> str:
    """A user id whose pseudonym (the key of its profile) librdkafka's default partitioner
    (CRC32) puts on another partition than murmur2 (where the person's profile lives)."""
    return next(u for u in (f"cid.{run}.{i}@example.com" for i in range(1000))
                if zlib.crc32(names.of(u).encode()) % partitions
                != partition_for(names.of(u).encode(), partitions))


def _identify(visitor: str, user: str, now: int) -> dict[str, Any]:
    return {"update_id": f"{visitor}-i", "kind": "identify", "visitor_id": visitor,
            "user_id": user, "event_time": now, "traits": {"loyalty_tier": "gold"},
            "consent": None}


async def test_erasure_leaves_nothing_of_the_person_anywhere_and_others_untouched(
        topics: Settings, tmp_path: Path) -> None:
    settings = topics
    run = uuid.uuid4().hex[:6]
    ann, bob, cid, dan = (f"{name}-{run}" for name in ("ann", "bob", "cid", "dan"))
    names = resolve_pseudonyms(settings)  # the SDK and the collector key people by these
    cid_user = _user_off_its_partition(run, settings.partitions, names)
    emails = {ann: f"ann.{run}@example.com", bob: f"bob.{run}@example.com", cid: cid_user,
              dan: f"dan.{run}@example.com"}
    users = {v: names.of(u) for v, u in emails.items()}
    now = int(time.time() * 1000)
    worker = WorkerProcess(settings, tmp_path / "data", tmp_path / "worker.log", learner=False)
    collector = CollectorService(settings, CollectorOptions(
        http_port=0, write_keys=frozenset({"wk"}), admin_token=ADMIN))
    delivery = DeliveryService(settings, DeliveryOptions(http_port=0))
    state = views = people = None
    try:
        worker.wait_ready()
        with EventProducer(settings) as producer:
            for visitor, user in users.items():
                for event in browser(visitor, now - 60_000, pages=2):
                    producer.send_event(event)
                producer.send_profile_update(_identify(visitor, user, now - 30_000))
                held = decision(visitor, created_at=now)
                producer.send(settings.topic(ACTIONS), "Decision", held, visitor)
        c, d = await collector.start(), await delivery.start()
        state = TopicWatch(settings, worker.changelog("visitors"), decode=False)
        views = TopicWatch(settings, worker.changelog("visitor-profiles"), decode=False)
        people = TopicWatch(settings, worker.changelog("profiles"), decode=False)
        for watch, keys, what in ((state, users, "states"), (views, users, "views"),
                                  (people, users.values(), "profiles")):
            watch.wait_stored(keys, f"everyone's {what}", timeout=120)
        async with aiohttp.ClientSession() as http:
            for visitor in users:
                await eventually(lambda v=visitor: hero(http, d.url, delivery, v),
                                 f"{visitor}'s decision held by delivery", 120, 0.2)

            # Ann through the route (the admin token), Cid by a default-partitioner client.
            async with http.post(f"{c.url}/v1/privacy/erasure",
                                 json={"userId": emails[ann], "anonymousId": ann},
                                 headers={"Authorization": f"Bearer {ADMIN}"}) as r:
                assert r.status == 202, await r.text()
            landed: list[int] = []
            crc = Producer({"bootstrap.servers": settings.bootstrap})  # consistent_random
            crc.produce(settings.topic(PROFILES), key=users[cid].encode(),
                        value=CODEC.encode("ProfileUpdate", {
                            "update_id": f"{cid}-e", "kind": "erasure", "visitor_id": cid,
                            "user_id": users[cid], "event_time": now, "traits": {},
                            "consent": None}),
                        on_delivery=lambda err, msg: landed.append(msg.partition()))
            crc.flush(30)
            home = partition_for(users[cid].encode(), settings.partitions)
            assert landed and landed[0] != home  # the case: another partition

            # Dan from a shell: rtp erase waits for the profile side and says what went.
            printed: list[str] = []
            code = await asyncio.to_thread(
                run_erase, settings, argparse.Namespace(user_id=emails[dan], visitor_id=dan,
                                                        wait=120.0), printed.append)
            assert code == 0, printed
            removed = [line for line in printed if line.startswith("removed by ")]
            dans = sorted(erasure_mark(i, names) for i in (dan, users[dan]))
            assert len(removed) == 1 and removed[0].endswith(", ".join(dans)), printed
            assert ": 2 ids and the stored profile;" in removed[0]

            async def delivery_forgot() -> bool:
                return all([await hero(http, d.url, delivery, v) is None
                            for v in (ann, cid, dan)])

            await eventually(delivery_forgot, "delivery to drop the erased visitors' decisions",
                             120, 0.2)
            kept = await hero(http, d.url, delivery, bob)
            assert kept is not None
            assert kept["decision_id"] == decision(bob, created_at=now)["decision_id"]

        erased_visitors, erased_users = (ann, cid, dan), (users[ann], users[cid], users[dan])
        state.wait_tombstoned(erased_visitors, "tombstones of the erased visitors' states")
        views.wait_tombstoned(erased_visitors, "tombstones of the erased visitors' views")
        people.wait_tombstoned(erased_users, "tombstones of the erased people's profiles")
        for watch in (state, views, people):
            watch.poll(1.0)
            for key in (*erased_visitors, *erased_users):
                assert watch.latest(key) in (None, ABSENT), (watch.topic, key)
            assert watch.latest(bob if watch is not people else users[bob]) not in (
                None, ABSENT)

        # The compacted profiles topic: for every id of Ann and Cid, on every partition,
        # the newest record is a tombstone (compaction then removes the key); Bob's stays.
        deadline = time.monotonic() + 60
        while True:
            latest = _latest_by_key(settings, settings.topic(PROFILES))
            mine = {(p, k): v for (p, k), v in latest.items()
                    if k is not None and k.decode() in (*erased_visitors, *erased_users)}
            if mine and all(v is None for v in mine.values()):
                break
            assert time.monotonic() < deadline, f"profiles.updates still holds {sorted(mine)}"
            await asyncio.sleep(0.5)  # the profile side's tombstones are on their way
        assert any(k is not None and k.decode() == users[cid] and p != home for p, k in mine)
        bobs = [v for (p, k), v in latest.items() if k == users[bob].encode()]
        assert bobs and all(v is not None for v in bobs)

        # The decision log keeps everyone's decisions for 30 days; the erasure marks make
        # the report's export (and replay) leave Ann's and Cid's out, Bob's in.
        def logged_visitors() -> set[str]:
            decisions, _ = export_topics(settings, tmp_path / "export", idle_timeout_s=5)
            return {r.record["decision"]["visitor_id"]
                    for r in read_file(decisions, "DecisionLog") if r.record is not None}

        deadline = time.monotonic() + 60
        while (seen := logged_visitors()) != {bob}:
            assert time.monotonic() < deadline, f"the export still shows {sorted(seen)}"
            await asyncio.sleep(0.5)  # the marks follow the profile side's tombstones
        marks = {erasure_mark(i, names) for i in (*erased_visitors, *erased_users)}
        assert read_erasures(settings).marks == marks  # every erased id, nobody else
    finally:
        for watch in (state, views, people):
            if watch is not None:
                watch.close()
        await delivery.stop()
        await collector.stop()
        worker.stop()
