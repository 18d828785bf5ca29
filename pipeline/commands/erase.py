"""``rtp erase``: ask for a person's erasure from the command line (what the collector's
``POST /v1/privacy/erasure`` does, for an operator with access to Kafka).

It produces the erasure ProfileUpdate(s) — under the pseudonym of every key
(RTP_PSEUDONYM_KEYS, else the local key file, as the collector) — and prints what it asked
for: the update ids and the keys they target. Then (``--wait``, 30 s by default; 0 does
not wait) it waits for the profile side's erasure marks on ``privacy.erasures``
(:mod:`pipeline.profiles.erasures`) and prints what was removed: how many ids, whether a
stored profile was among them, and the marks (keyed hashes, never the ids) that make
``rtp report`` and ``rtp replay`` leave the person's records out from now on; and how many
devices that had claimed the user id without proof were erased with it. Exit 1 when
nothing confirms within the wait (no worker with its profile side running).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable, Mapping

from pipeline.commands.config_file import add_config_option, config_of
from pipeline.settings import Settings

__all__ = ["register", "run_erase"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp erase`` to the CLI."""
    parser = sub.add_parser(
        "erase", help="erase a person everywhere (profile, visitor state, delivery)",
        description="Produce an erasure for the person on profiles.updates: the profile "
                    "side deletes the profile and tombstones every id it knew, the workers "
                    "delete the visitors' state, delivery drops their decisions. Prints "
                    "the update ids produced; exit 2 when the ids are not usable.")
    parser.add_argument("--user-id", default=None, help="the person's user id (as the site "
                        "knows it; pseudonymised here like the collector does)")
    parser.add_argument("--visitor-id", default=None, help="a visitor (device) id of theirs")
    parser.add_argument("--wait", type=float, default=30.0, metavar="S",
                        help="wait up to S seconds for the profile side to confirm and print "
                             "what it removed (default 30; 0: do not wait)")
    add_config_option(parser, "the collectors' privacy.vocabulary, to name a visitor id as "
                              "they stored it")
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: run_erase(settings, args))


def run_erase(settings: Settings, args: argparse.Namespace,
              print_: Callable[[str], None] = print) -> int:
    """Produce the erasure(s); 0 when every one was acknowledged by the broker.

    >>> import argparse
    >>> run_erase(Settings(kafka_port=1), argparse.Namespace(user_id=None, visitor_id=None),
    ...           print_=lambda line: print("printed:", line))
    printed: rtp erase: name the person: userId and/or anonymousId
    2
    """
    from pipeline.client import EventProducer
    from pipeline.collector.erasure import erasure_update
    from pipeline.collector.errors import BadPayload
    from pipeline.profiles.pseudonym import resolve_pseudonyms

    payload = {k: v for k, v in (("userId", args.user_id), ("anonymousId", args.visitor_id))
               if v is not None}
    try:
        updates = erasure_update(payload, now_ms=int(time.time() * 1000),
                                 update_id=f"erase-{uuid.uuid4()}",
                                 pseudonyms=resolve_pseudonyms(settings),
                                 vocabulary=_collector_vocabulary() | config_of(
                                     getattr(args, "config", None),
                                     "rtp erase").collector_vocabulary())
    except (BadPayload, ValueError) as exc:
        print_(f"rtp erase: {exc}")
        return 2
    wait = float(getattr(args, "wait", 0.0) or 0.0)
    start = _marks_end(settings) if wait > 0 else 0
    try:
        with EventProducer(settings) as producer:
            for out in updates:
                producer.produce_raw(settings.topic(out.topic), out.value, out.key)
    except RuntimeError as exc:  # not acknowledged in time (no broker answers)
        print_(f"rtp erase: not produced: {exc}")
        return 1
    if producer.stats.failed:
        print_(f"rtp erase: not produced: {producer.stats.errors[-1]}")
        return 1
    for out in updates:
        print_(f"erasure {out.record['update_id']} for key {out.key.decode()} produced to "
               f"{settings.topic(out.topic)}")
    if wait <= 0:
        return 0
    ids = {str(out.record["update_id"]) for out in updates}
    found = _confirmations(settings, start, ids, wait)
    if set(found) != ids:
        print_(f"rtp erase: not confirmed within {wait:g} s (is a worker with its profile side "
               "running on this prefix?)")
        return 1
    for update_id, marks in sorted(found.items()):
        value = marks[0][1]
        claims = int(str(value.get("claims", 0)))
        claimed = (f"; {claims} device(s) that claimed the user id without proof, erased as "
                   "visitors (their own marks)") if claims else ""
        print_(f"removed by {update_id}: {value.get('ids', len(marks))} ids"
               f"{' and the stored profile' if value.get('profile') else ' (no stored profile)'}"
               f"{claimed}; each visitor's state, view and decisions at delivery; records left "
               f"out of rtp report/replay by marks {', '.join(sorted(m for m, _ in marks))}")
    return 0


def _collector_vocabulary(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The collectors' ``RTP_COLLECTOR_VOCABULARY`` (values they keep as sent), if set here.

    >>> sorted(_collector_vocabulary({"RTP_COLLECTOR_VOCABULARY": "Home & Garden, a"}))
    ['Home & Garden', 'a']
    """
    raw = (os.environ if env is None else env).get("RTP_COLLECTOR_VOCABULARY", "")
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


def _marks_end(settings: Settings) -> int:
    """The end offset of ``privacy.erasures`` now (0 when it does not exist yet)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    from pipeline.kafka_log import kafka_config
    from pipeline.topics import ERASURES

    consumer = Consumer(kafka_config({"bootstrap.servers": settings.bootstrap,
                                      "group.id": "rtp-erase", "enable.auto.commit": False}))
    try:
        return int(consumer.get_watermark_offsets(
            TopicPartition(settings.topic(ERASURES), 0), timeout=10)[1])
    except KafkaException:
        return 0
    finally:
        consumer.close()


def _confirmations(settings: Settings, start: int, update_ids: set[str],
                   wait_s: float) -> dict[str, list[tuple[str, dict[str, object]]]]:
    """The marks (key, value) of each of ``update_ids`` on ``privacy.erasures`` after
    ``start``, read until every id has its marks or ``wait_s`` has passed."""
    from confluent_kafka import Consumer, TopicPartition

    from pipeline.kafka_log import kafka_config
    from pipeline.profiles.erasures import decode_mark_value
    from pipeline.topics import ERASURES

    found: dict[str, list[tuple[str, dict[str, object]]]] = {}
    consumer = Consumer(kafka_config({"bootstrap.servers": settings.bootstrap,
                                      "group.id": "rtp-erase", "enable.auto.commit": False,
                                      "topic.metadata.refresh.interval.ms": 1000}))
    try:
        consumer.assign([TopicPartition(settings.topic(ERASURES), 0, start)])
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for msg in consumer.consume(100, 0.5):
                if msg.error() is not None or msg.key() is None or msg.value() is None:
                    continue
                value = decode_mark_value(msg.value() or b"")
                erasure = str(value.get("erasure"))
                if erasure in update_ids:
                    found.setdefault(erasure, []).append(((msg.key() or b"").decode(), value))
            complete = all(len(found.get(u, ())) >= int(str(found[u][0][1].get("ids", 1)))
                           for u in update_ids if u in found)
            if set(found) == update_ids and complete:
                break
    finally:
        consumer.close()
    return found
