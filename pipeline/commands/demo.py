"""``rtp demo``: the main job end to end on a local broker.

Until the personalization topology runs here, the demo proves the foundation:
it starts the broker if none answers, applies the topics, produces one event of
every type through the SDK plus a few bad messages, reads them back through the
dead-letter gate, and prints what arrived where.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable

from pipeline.client import EventProducer, RecordConsumer, sample_events
from pipeline.commands.broker_session import broker_for_job
from pipeline.serde.codec import Codec
from pipeline.serde.dead_letter import dlq_topic
from pipeline.settings import Settings
from pipeline.topics import EVENTS

__all__ = ["register", "run_demo"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp demo`` to the CLI."""
    parser = sub.add_parser(
        "demo", help="run the main job end to end on the local broker",
        description="Start the local broker if none answers (or use RTP_KAFKA_BOOTSTRAP), apply "
                    "topics, round-trip sample events and bad input, print a summary, stop "
                    "what it started.")
    parser.add_argument("--visitors", type=int, default=20, help="sample visitors (default 20)")
    parser.add_argument("--keep-broker", action="store_true",
                        help="leave a broker this demo started running")
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: run_demo(settings, args.visitors,
                                                                args.keep_broker))


def run_demo(settings: Settings, visitors: int = 20, keep_broker: bool = False) -> int:
    """Round-trip sample traffic through the real broker and print a summary."""
    codec = Codec.default()
    run = uuid.uuid4().hex[:8]
    with broker_for_job(settings, keep_running=keep_broker):
        topic = settings.topic(EVENTS)
        now = int(time.time() * 1000)
        sent = 0
        with EventProducer(settings, codec) as producer:
            for i in range(visitors):
                for event in sample_events(f"demo-{run}-{i}", now):
                    producer.send_event(event)
                    sent += 1
            bad = [b"not avro at all", codec.encode("ClickEvent", sample_events("x", now)[0])[:20]]
            for raw in bad:
                producer.produce_raw(topic, raw, f"demo-{run}-bad".encode())
        print(f"produced {sent} events of {len(sample_events('x', now))} types and {len(bad)} "
              f"bad messages to {topic}")
        consumer = RecordConsumer(settings, [topic], ("ClickEvent",), f"rtp-demo-{run}")
        started = time.monotonic()
        mine = [r for r in consumer.records(idle_timeout=5.0)
                if r.record["visitor_id"].startswith(f"demo-{run}")]
        consumer.close()
        elapsed = time.monotonic() - started
        counts: dict[str, int] = {}
        for rec in mine:
            counts[rec.record["event_type"]] = counts.get(rec.record["event_type"], 0) + 1
        print(f"consumed {len(mine)} of our events back in {elapsed:.1f} s:")
        for kind, n in sorted(counts.items()):
            print(f"  {kind:12} {n}")
        for (source, reason), n in sorted(consumer.gate.counts.items()):
            print(f"dead-lettered to {dlq_topic(source)}: {n} x {reason}")
        return 0 if len(mine) == sent else 1
