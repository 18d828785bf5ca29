"""An erasure by visitor id takes the device out of the claim index entries of the user ids
it claimed; a later erasure of such a user id still reaches the other devices, not it.

Real worker (with its profile side) and collector on the real broker. Device ``d`` names
Ann's and Val's e-mails without a ``userHash`` (two claims), device ``e`` names Ann's too,
device ``x`` names Xavier's (the unrelated visitor). ``d`` is erased by its visitor id with
``rtp erase``. Then, read from the profile side's changelogs and its claim-link topic (the
newest record per key, as compaction keeps it): Ann's entry names ``e`` alone, Val's entry
(``d`` only) is tombstoned, ``d``'s reverse entry is tombstoned, and no entry, reverse
entry or live link names ``d``; ``e``'s and ``x``'s are as they were. Ann is then erased by
her e-mail: ``rtp erase`` finds one claiming device (``e``, not ``d``), ``e``'s state and
entries go, ``d`` appears nowhere again, ``x`` keeps its state and entries.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from pipeline.commands.erase import run_erase
from pipeline.profiles import Pseudonyms
from pipeline.profiles.claims import CLAIMED, decode_link
from pipeline.settings import Settings
from tests.integration.test_erasure_claims import TOKENS, WRITE_KEY, collector, post
from tests.integration.topic_watch import ABSENT, TopicWatch
from tests.integration.worker_process import WorkerProcess

KEY = "unclaim-pseudonym-key-0123456789"


def batch(visitor: str, at: int, user: str, tag: str) -> dict[str, Any]:
    """A tracker batch: a page view and an identify of ``user`` without a ``userHash``."""
    return {"writeKey": WRITE_KEY, "visitor": visitor, "token": TOKENS.issue(visitor),
            "user": user, "sentAt": at, "page": {"url": "https://shop.example/p/nc700"},
            "events": [{"id": f"{visitor}-{tag}-p", "type": "page_view", "time": at},
                       {"id": f"{visitor}-{tag}-i", "type": "identify", "time": at,
                        "user": user, "traits": {"plan": "pro"}}]}


def entry(watch: TopicWatch, key: bytes | str) -> set[str] | str | None:
    """The newest value of ``key`` on a claims changelog, as a set of ids (None: tombstone,
    ABSENT: never written)."""
    latest = watch.latest(key)
    if latest is None or latest == ABSENT:
        return latest
    assert isinstance(latest, dict)
    return set(json.loads(latest["raw"]))


def live(watch: TopicWatch) -> dict[bytes, bytes]:
    """The newest non-tombstone value per key (what a compacted topic keeps)."""
    newest: dict[bytes, Any] = {}
    for key, record in watch.seen:
        assert key is not None
        newest[key] = record
    return {k: r["raw"] for k, r in newest.items() if r is not None}


async def erase(settings: Settings, printed: list[str], **who: str | None) -> None:
    code = await asyncio.to_thread(
        run_erase, settings, argparse.Namespace(user_id=who.get("user_id"),
                                                visitor_id=who.get("visitor_id"), wait=120.0),
        printed.append)
    assert code == 0, printed


async def test_an_erasure_by_device_unclaims_it_and_a_later_one_by_user_id_skips_it(
        topics: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    ann, val, xav = (f"{n}.{run}@example.com" for n in ("ann", "val", "xav"))
    d, e, x = (f"{n}-{run}" for n in ("dev-d", "dev-e", "dev-x"))
    names = Pseudonyms((KEY,))
    u_ann, u_val, u_xav = (names.of(m) for m in (ann, val, xav))
    keyed = dataclasses.replace(topics, pseudonym_keys=KEY)
    now = int(time.time() * 1000)
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", learner=False)
    watches: list[TopicWatch] = []
    try:
        worker.wait_ready()
        state, claims, reverse, links = (
            TopicWatch(topics, name, decode=False) for name in (
                worker.changelog("visitors"), worker.changelog("claims"),
                worker.changelog("device_claims"), f"{worker.group}-profiles-claim-links"))
        watches = [state, claims, reverse, links]
        async with aiohttp.ClientSession() as http, collector(topics, KEY) as url:
            await post(http, f"{url}/v1/t", batch(d, now, ann, "ann"))
            await post(http, f"{url}/v1/t", batch(d, now, val, "val"))
            await post(http, f"{url}/v1/t", batch(e, now, ann, "ann"))
            await post(http, f"{url}/v1/t", batch(x, now, xav, "xav"))
        state.wait_stored((d, e, x), "the devices' states", timeout=120)
        claims.wait_for(lambda _: entry(claims, u_ann) == {d, e}, 120, "Ann's entry: d, e")
        claims.wait_stored((u_val, u_xav), "Val's and Xavier's entries", timeout=120)
        reverse.wait_for(lambda _: entry(reverse, d) == {u_ann, u_val}
                         and entry(reverse, e) == {u_ann} and entry(reverse, x) == {u_xav},
                         120, "the devices' reverse entries")
        assert (entry(claims, u_val), entry(claims, u_xav)) == ({d}, {x})

        printed: list[str] = []
        await erase(keyed, printed, visitor_id=d)  # the device alone, by its visitor id
        claims.wait_for(lambda _: entry(claims, u_ann) == {e} and entry(claims, u_val) is None,
                        60, "d out of Ann's entry, Val's entry tombstoned")
        reverse.wait_tombstoned((d,), "d's reverse entry")
        state.wait_tombstoned((d,), "d's state")
        links.wait_for(lambda _: not any(d.encode() in v for v in live(links).values()),
                       60, "no live claim link naming d")
        for watch in watches:
            watch.poll(1.0)
        assert {k: set(json.loads(v)) for k, v in live(claims).items()} == {
            u_ann.encode(): {e}, u_xav.encode(): {x}}
        assert {k: set(json.loads(v)) for k, v in live(reverse).items()} == {
            e.encode(): {u_ann}, x.encode(): {u_xav}}
        assert {(link.op, link.device, link.person) for link in map(
            decode_link, live(links).values())} == {(CLAIMED, e, u_ann), (CLAIMED, x, u_xav)}
        assert state.latest(e) not in (None, ABSENT) and state.latest(x) not in (None, ABSENT)

        printed = []
        await erase(keyed, printed, user_id=ann)  # Ann: reaches e, not d any more
        removed = [line for line in printed if line.startswith("removed by ")]
        assert len(removed) == 1 and "; 1 device(s) that claimed the user id without proof" \
            in removed[0], printed
        claims.wait_tombstoned((u_ann,), "Ann's entry")
        reverse.wait_tombstoned((e,), "e's reverse entry")
        state.wait_tombstoned((e,), "e's state")
        for watch in watches:
            watch.poll(1.0)
        assert {k: set(json.loads(v)) for k, v in live(claims).items()} == {
            u_xav.encode(): {x}}
        assert {k: set(json.loads(v)) for k, v in live(reverse).items()} == {
            x.encode(): {u_xav}}
        assert {(link.op, link.device, link.person) for link in map(
            decode_link, live(links).values())} == {(CLAIMED, x, u_xav)}
        assert {v: state.latest(v) is None for v in (d, e)} == {d: True, e: True}
        assert state.latest(x) not in (None, ABSENT)
    finally:
        for watch in watches:
            watch.close()
        worker.stop()
