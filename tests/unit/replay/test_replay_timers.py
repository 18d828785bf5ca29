"""Replay fires detector timers on the replayed event time, as the worker's tick does: a
visitor whose last replayed event is a Shipping & Returns page view gets the dwell
hesitation and its decision once another record moves the watermark past the due time."""

from __future__ import annotations

from typing import Any

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions, timer_trigger_id
from pipeline.engine.visitors import Visitors
from pipeline.replay.engine import Replayer
from pipeline.replay.sources import SourceRecord
from pipeline.signals import HesitationOptions

T0 = 1_800_000_000_000
DWELL = HesitationOptions().min_dwell_ms


class Sink:
    """What the replay writes, in order."""

    def __init__(self) -> None:
        self.signals: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []

    def signal(self, key: str, record: Any) -> None:
        self.signals.append(record)

    def decision_log(self, key: str, record: Any) -> None:
        self.logs.append(record)

    def dead_letter(self, record: Any) -> None:
        raise AssertionError(f"unexpected dead letter {record}")


def _events() -> list[dict[str, Any]]:
    reader = click_event("reader", "page_view", T0, event_id="r-p", page_type="shipping_returns",
                         url="https://shop.example/shipping")
    # Someone else, later: the watermark passes the reader's due time.
    other = click_event("other", "page_view", T0 + DWELL + 5_000, event_id="o-p",
                        page_type="home", url="https://shop.example/")
    return [reader, other]


def test_a_timer_fires_when_the_replayed_watermark_passes_its_due_time() -> None:
    sink = Sink()
    replayer = Replayer(EngineOptions(), sink)
    for i, event in enumerate(_events()):
        replayer.feed(SourceRecord("ClickEvent", "f", -1, i, event["event_time"], event))
    dwell = [s for s in sink.signals if s["visitor_id"] == "reader"]
    assert [(s["rule"], s["details"]["variant"], s["details"]["dwell_ms"]) for s in dwell] == [
        ("hesitation", "dwell", str(DWELL))]
    timer_logs = [r for r in sink.logs
                  if r["decision"]["trigger_event_id"] == timer_trigger_id("reader", T0 + DWELL)]
    assert len(timer_logs) == 1
    # The same records as the engine produces for the visitor with the timer fired at its due.
    visitors = Visitors(Engine(EngineOptions()))
    expected = [r.decision.log for r in [visitors.event(_events()[0])] if r.decision]
    expected += [r.decision.log for _, r in visitors.fire_due(T0 + DWELL) if r.decision]
    assert [r for r in sink.logs if r["decision"]["visitor_id"] == "reader"] == expected
    assert replayer.metrics.signals_by_rule["hesitation"] == 1
