"""A stand-in for the personalization worker, for tests only, while topologies/personalize.py
does not exist.

It reads ``clickstream.events`` (every partition, from the start: test topics are
fresh) and, for a visitor who viewed one product page at least three times and
opened Shipping & Returns, produces the catalog's ``free_express_shipping``
Decision (hero slot, banner, 20 minutes) to ``personalization.actions`` — the
headphones story of the seed, decided the simplest way. Its decision id comes
from the triggering event, like the real worker's.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from pipeline.client import EventProducer
from pipeline.serde import Codec, DecodeError
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, EVENTS

TTL_MS = 20 * 60 * 1000


def free_express_shipping(visitor_id: str, session_id: str, trigger_event_id: str,
                          created_at: int) -> dict[str, Any]:
    """The Decision the catalog's free_express_shipping action renders to."""
    return {
        "decision_id": f"standin-{trigger_event_id}",
        "visitor_id": visitor_id,
        "session_id": session_id,
        "action_id": "free_express_shipping",
        "slot": "hero",
        "payload": {"variant": "banner",
                    "headline": "Free express shipping for the next 20 minutes",
                    "expires_at_ms": str(created_at + TTL_MS)},
        "propensity": 1.0,
        "policy": "e2e-stand-in",
        "policy_version": "0",
        "model_version": "none",
        "experiment_arm": "personalized",
        "ttl_ms": TTL_MS,
        "trigger_event_id": trigger_event_id,
        "created_at": created_at,
    }


class StandInWorker:
    """Runs in a thread until :meth:`stop`; ``decided`` lists the decisions it produced."""

    def __init__(self, settings: Settings, min_views: int = 3) -> None:
        self.settings = settings
        self.min_views = min_views
        self.codec = Codec.default()
        self.decided: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-stand-in", daemon=True)

    def start(self) -> StandInWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        topic = self.settings.topic(EVENTS)
        consumer = Consumer({"bootstrap.servers": self.settings.bootstrap,
                             "group.id": "e2e-stand-in", "enable.auto.commit": False})
        views: dict[str, Counter[str]] = {}
        shipping: set[str] = set()
        done: set[str] = set()
        with EventProducer(self.settings, self.codec) as producer:
            try:
                partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
                consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
                while not self._stop.is_set():
                    for msg in consumer.consume(100, 0.2):
                        if msg.error() is not None:
                            continue
                        try:
                            _, event = self.codec.decode(msg.value(), ("ClickEvent",))
                        except DecodeError:
                            continue
                        visitor = event["visitor_id"]
                        if event["event_type"] != "page_view" or visitor in done:
                            continue
                        page = event["page"]
                        if page["page_type"] == "product" and page["product_id"]:
                            views.setdefault(visitor, Counter())[page["product_id"]] += 1
                        if page["page_type"] == "shipping_returns":
                            shipping.add(visitor)
                        most = max(views.get(visitor, Counter()).values(), default=0)
                        if most >= self.min_views and visitor in shipping:
                            decision = free_express_shipping(
                                visitor, event["session_hint"] or visitor, event["event_id"],
                                event["event_time"])
                            producer.send(self.settings.topic(ACTIONS), "Decision", decision,
                                          visitor)
                            producer.flush(10)
                            self.decided.append(decision)
                            done.add(visitor)
            finally:
                consumer.close()
