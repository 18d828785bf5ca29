"""``rtp erase``: ask for a person's erasure from the command line (what the collector's
``POST /v1/privacy/erasure`` does, for an operator with access to Kafka).

It produces the erasure ProfileUpdate(s) — under the pseudonym of every key
(RTP_PSEUDONYM_KEYS, else the local key file, as the collector) — and prints what it asked
for: the update ids and the keys they target. The services apply them within seconds
(see README "Consent and erasure"); the command does not wait for that and cannot list
what they removed.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable

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
                                 pseudonyms=resolve_pseudonyms(settings))
    except (BadPayload, ValueError) as exc:
        print_(f"rtp erase: {exc}")
        return 2
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
    return 0
