"""Consent and erasure straight from profiles.updates in the decision path: applied on the
visitor's partition, re-keyed there when they arrive elsewhere, delivery told by a
tombstone on the actions topic."""

from __future__ import annotations

from pathlib import Path

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions
from pipeline.profiles import (
    VisitorMessage,
    decode_view,
    decode_visitor_message,
    encode_visitor_message,
)
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, PROFILES
from pipeline.topics.partitioning import partition_for
from tests.unit.topologies.test_decision_path_sweep import LocalOnly
from topologies.decision_path import VIEWS, VISITOR_PROFILES, VISITORS, DecisionPath
from topologies.loop.loop import Record
from topologies.loop.tables import Tables

T0 = 1_800_000_000_000
CODEC = Codec.default()
SETTINGS = Settings(partitions=4)


class Sent:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []

    def send(self, topic: str, key: bytes | None, value: bytes | None,
             partition: int | None = None) -> None:
        self.sent.append((topic, key, value, partition))


def _path(tmp_path: Path) -> tuple[DecisionPath, Tables, Sent]:
    tables = Tables(tmp_path, "g", [VISITORS, VIEWS], LocalOnly())  # type: ignore[arg-type]
    tables.assign([0, 1, 2, 3])
    sent = Sent()
    path = DecisionPath(SETTINGS, Engine(EngineOptions()), tables, sent,  # type: ignore[arg-type]
                        clock=lambda: T0 / 1000)
    return path, tables, sent


def _update(kind: str, visitor: str, user: str | None, allowed: bool | None = None) -> bytes:
    consent = None if allowed is None else {"personalization": allowed, "analytics": allowed}
    return CODEC.encode("ProfileUpdate", {
        "update_id": f"{visitor}-{kind}", "kind": kind, "visitor_id": visitor, "user_id": user,
        "event_time": T0, "traits": {}, "consent": consent})


def _page(path: DecisionPath, visitor: str, offset: int) -> None:
    event = click_event(visitor, "page_view", T0 + offset, event_id=f"{visitor}-{offset}")
    path.apply(Record(SETTINGS.topic(EVENTS), partition_for(visitor.encode(), 4), offset,
                      visitor.encode(), CODEC.encode("ClickEvent", event)))


def test_an_opt_out_on_the_visitors_partition_applies_at_once(tmp_path: Path) -> None:
    path, tables, sent = _path(tmp_path)
    visitor = "v-opt-out"
    home = partition_for(visitor.encode(), 4)
    _page(path, visitor, 1)
    assert tables.get(VISITORS, home, visitor.encode())[1] is not None
    sent.sent.clear()
    path.apply(Record(SETTINGS.topic(PROFILES), home, 0, visitor.encode(),
                      _update("consent", visitor, None, allowed=False)))
    assert tables.get(VISITORS, home, visitor.encode()) == (True, None)
    _, view = tables.get(VIEWS, home, visitor.encode())
    assert view is not None and decode_view(view).personalization_allowed is False
    assert sent.sent == [(ACTIONS, visitor.encode(), None, None)]  # delivery drops it
    _page(path, visitor, 2)
    assert [s for s in sent.sent if s[0] == DECISIONS_LOG] == []
    assert tables.get(VISITORS, home, visitor.encode()) == (True, None)
    tables.close()


def test_an_erasure_on_another_partition_is_rekeyed_to_the_visitors(tmp_path: Path) -> None:
    path, tables, sent = _path(tmp_path)
    visitor = "v-erased"
    home = partition_for(visitor.encode(), 4)
    user = next(f"u{i}" for i in range(100) if partition_for(f"u{i}".encode(), 4) != home)
    _page(path, visitor, 1)
    sent.sent.clear()
    elsewhere = partition_for(user.encode(), 4)
    path.apply(Record(SETTINGS.topic(PROFILES), elsewhere, 0, user.encode(),
                      _update("erasure", visitor, user)))
    assert [(t, k, p) for t, k, _, p in sent.sent] == [(VISITOR_PROFILES, visitor.encode(), home)]
    assert decode_visitor_message(sent.sent[0][2] or b"") == VisitorMessage(visitor, None, True)
    assert tables.get(VISITORS, home, visitor.encode())[1] is not None  # not here: there
    sent.sent.clear()
    path.apply(Record(SETTINGS.topic(VISITOR_PROFILES), home, 0, visitor.encode(),
                      encode_visitor_message(VisitorMessage(visitor, None, erase=True))))
    assert tables.get(VISITORS, home, visitor.encode()) == (True, None)
    assert tables.get(VIEWS, home, visitor.encode()) == (True, None)
    assert sent.sent == [(ACTIONS, visitor.encode(), None, None)]
    tables.close()


def test_identity_and_traits_are_left_to_the_profile_side(tmp_path: Path) -> None:
    path, tables, sent = _path(tmp_path)
    path.apply(Record(SETTINGS.topic(PROFILES), 0, 0, b"u1", _update("traits", "v", "u1")))
    assert sent.sent == [] and tables.staging.take() == []
    tables.close()

