"""The live config switch in the decision path: a partition moves to a published config
only by a commit whose mark schedules it (for records stamped from the switch time on), a
redo decides with the versions its last commit named, old marks (model only, no switch)
stay readable, and a consent-mode change is refused (the real RocksDB stores, no Kafka:
outputs recorded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.client.samples import click_event
from pipeline.config import ConfigRef, RtpConfig, load_config_text
from pipeline.engine import Engine, EngineOptions
from pipeline.serde import Codec
from pipeline.settings import Settings
from tests.unit.topologies.test_decision_path_sweep import LocalOnly
from tests.unit.topologies.test_decision_path_timers import Recorded, Wall
from topologies.config_feed import Published
from topologies.decision_path import VISITORS, DecisionPath, PathOptions
from topologies.loop.loop import Record
from topologies.loop.tables import Tables

T0 = 1_800_000_000_000
EVENTS = Settings().topic("clickstream.events")
#: Everyone in the control group but what the salt puts at the very top of the buckets.
SHARE = 0.95


class Held:
    """A config feed with versions already read (nothing new to take)."""

    def __init__(self, configs: dict[ConfigRef, RtpConfig]) -> None:
        self.configs = configs

    def get(self, ref: ConfigRef) -> RtpConfig | None:
        return self.configs.get(ref)

    def take(self) -> None:
        return None


def _config(share: float, extra: str = "") -> RtpConfig:
    return load_config_text(f"experiments:\n  control_share: {share}\n{extra}", env={})


class Acknowledged(Recorded):
    """Sent records kept, every one acknowledged at once (a commit's writes go through)."""

    def send(self, topic: str, key: bytes, value: bytes,  # type: ignore[override]
             partition: int | None = None, track_offset: bool = False) -> None:
        super().send(topic, key, value)

    def cut(self) -> int:
        return 0

    def settled(self, batch: int) -> bool:
        return True

    def flush(self, timeout_s: float) -> None:
        return None

    def take_offsets(self) -> dict[tuple[str, int], int]:
        return {}


def _path(tmp_path: Path, configs: dict[ConfigRef, RtpConfig] | None = None,
          margin_ms: int = 0) -> tuple[DecisionPath, Recorded]:
    tables = Tables(tmp_path, "g", [VISITORS, "visitor-profiles"],
                    LocalOnly())  # type: ignore[arg-type]
    outputs = Acknowledged()
    path = DecisionPath(Settings(), Engine(EngineOptions(), learn_inline=False), tables,
                        outputs, None,  # type: ignore[arg-type]
                        PathOptions(switch_margin_ms=margin_ms), clock=Wall(T0),
                        configs=Held(configs or {}))  # type: ignore[arg-type]
    path.assigned([0])
    return path, outputs


def _page_view(path: DecisionPath, offset: int, visitor: str) -> None:
    """A page view stamped ``T0 + offset`` ms (the Kafka timestamp a switch goes by)."""
    event = click_event(visitor, "page_view", T0 + offset, event_id=f"{visitor}-{offset}",
                        page_type="pricing", url="https://shop.example/pricing")
    path.apply(Record(EVENTS, 0, offset, visitor.encode(),
                      Codec.default().encode("ClickEvent", event), T0 + offset))


def _logged(outputs: Recorded) -> list[tuple[str, int, float]]:
    """(visitor, config version, control share) of each decision logged."""
    codec = Codec.default()
    out = []
    for topic, _, value in outputs.sent:
        if topic.endswith("decisions.log"):
            record: dict[str, Any] = codec.decode(value)[1]
            out.append((record["decision"]["visitor_id"], record["config_version"],
                        record["control_share"]))
    return out


def _commit(path: DecisionPath, position: int) -> dict[int, str]:
    marks = dict(path.marks({0: position}))
    path.committed(marks)
    return marks


def test_a_published_config_applies_from_the_next_commit_on(tmp_path: Path) -> None:
    path, outputs = _path(tmp_path)
    assert path.resume(0, "", end_offset=0) == "rtp-model=0@-1;rtp-config=0@-1"
    path.committed([0])
    _page_view(path, 0, "a")
    path.offer_config(Published(ConfigRef(1, 0), _config(SHARE)))
    _page_view(path, 1, "b")  # received, not committed yet: still the startup config
    # (the switch: after every record applied since the last seal, here b at T0 + 1)
    assert _commit(path, 2) == {0: f"rtp-model=0@-1;rtp-config=0@-1>1@0>{T0 + 2}"}
    _page_view(path, 2, "c")
    assert _logged(outputs) == [("a", 0, 0.1), ("b", 0, 0.1), ("c", 1, SHARE)]
    path.tables.close()


def test_records_stamped_before_the_switch_time_keep_the_config_they_had(
        tmp_path: Path) -> None:
    path, outputs = _path(tmp_path, margin_ms=3)  # the switch: records stamped T0 + 3 on
    path.resume(0, "", end_offset=0)
    path.committed([0])
    path.offer_config(Published(ConfigRef(1, 0), _config(SHARE)))
    assert _commit(path, 0) == {0: f"rtp-model=0@-1;rtp-config=0@-1>1@0>{T0 + 3}"}
    assert not path.waits(0, T0 + 2) and not path.waits(0, T0 + 3)  # the commit is in
    for offset, visitor in enumerate("abcd"):
        _page_view(path, offset, visitor)
    assert _logged(outputs) == [("a", 0, 0.1), ("b", 0, 0.1), ("c", 0, 0.1), ("d", 1, SHARE)]
    path.tables.close()


def test_only_records_the_commit_being_written_decides_otherwise_wait(tmp_path: Path) -> None:
    path, _ = _path(tmp_path, margin_ms=500)
    path.resume(0, "", end_offset=0)
    path.committed([0])
    path.offer_config(Published(ConfigRef(1, 0), _config(SHARE)))
    path.marks({0: 0})  # sealed, not in yet
    assert not path.waits(0, T0 + 499) and path.waits(0, T0 + 500)
    path.committed([0])
    assert not path.waits(0, T0 + 500)
    path.tables.close()


def test_a_redo_decides_with_the_config_its_last_commit_named_then_the_newest(
        tmp_path: Path) -> None:
    v1, v2 = ConfigRef(1, 0), ConfigRef(2, 1)
    path, outputs = _path(tmp_path, {v1: _config(0.5), v2: _config(SHARE)})
    path.offer_config(Published(v2, _config(SHARE)))
    # The last owner committed offset 3 naming version 1 and died; the partition ended at 5.
    assert path.resume(0, "rtp-model=0@-1;rtp-config=1@0", end_offset=5) is None
    _page_view(path, 3, "a")
    assert _commit(path, 4) == {0: "rtp-model=0@-1;rtp-config=1@0"}  # redo not over
    _page_view(path, 4, "b")
    assert _commit(path, 5) == {0: f"rtp-model=0@-1;rtp-config=1@0>2@1>{T0 + 5}"}  # redo over
    _page_view(path, 5, "c")
    assert _logged(outputs) == [("a", 1, 0.5), ("b", 1, 0.5), ("c", 2, SHARE)]
    path.tables.close()


def test_a_mark_written_before_configs_were_published_is_read(tmp_path: Path) -> None:
    v1 = ConfigRef(1, 0)
    path, outputs = _path(tmp_path, {v1: _config(SHARE)})
    path.offer_config(Published(v1, _config(SHARE)))
    # A model-only mark: the model snapshot is kept, the config is the newest (committed
    # at once, so that a crash before the first commit redoes with it too).
    assert path.resume(0, "rtp-model=0@-1", end_offset=5) == "rtp-model=0@-1;rtp-config=1@0"
    _page_view(path, 3, "a")
    assert _logged(outputs) == [("a", 1, SHARE)]
    path.tables.close()


def test_a_config_changing_the_consent_mode_is_not_applied(tmp_path: Path) -> None:
    path, outputs = _path(tmp_path)
    path.resume(0, "", end_offset=0)
    path.committed([0])
    path.offer_config(Published(ConfigRef(1, 0), _config(SHARE, "consent:\n  mode: opt-in\n")))
    assert _commit(path, 0) == {0: "rtp-model=0@-1;rtp-config=0@-1"}  # not moved
    _page_view(path, 0, "a")
    assert _commit(path, 1) == {0: "rtp-model=0@-1;rtp-config=0@-1"}
    assert _logged(outputs) == [("a", 0, 0.1)]
    path.tables.close()


def test_the_switch_comes_after_every_record_applied_since_the_seal(tmp_path: Path) -> None:
    """The loop takes a commit's marks once its writes are in (records go on meanwhile,
    decided by the last commit's marks, and are redone by the new ones after a crash): the
    switch is after every one of them, even a record stamped ahead of the worker's clock,
    however long the writes took."""
    path, outputs = _path(tmp_path, margin_ms=100)
    wall: Wall = path.clock  # type: ignore[assignment]
    path.resume(0, "", end_offset=0)
    path.committed([0])
    _page_view(path, 0, "a")
    assert path.start_write()  # sealed at offset 1
    _page_view(path, 900, "b")  # applied while the writes go on, stamped T0 + 900
    wall.ms += 700  # the writes take 700 ms
    assert path.written()
    path.offer_config(Published(ConfigRef(1, 0), _config(SHARE)))
    assert _commit(path, 1) == {0: f"rtp-model=0@-1;rtp-config=0@-1>1@0>{T0 + 901}"}
    assert wall.ms + 100 < T0 + 901  # (the margin alone would have put b past the switch)
    assert _logged(outputs) == [("a", 0, 0.1), ("b", 0, 0.1)]
    path.tables.close()


def test_from_the_seal_a_record_older_than_the_last_switch_waits_for_the_commit(
        tmp_path: Path) -> None:
    """The commit's marks are taken only once its writes are in, but whatever they are,
    they name the last schedule's newest version for records stamped before their switch:
    a record stamped before the last switch (decided with the older version by the last
    schedule) waits from the seal until the commit is in, or its redo would differ."""
    path, _ = _path(tmp_path, margin_ms=3)
    path.resume(0, "", end_offset=0)
    path.committed([0])
    path.offer_config(Published(ConfigRef(1, 0), _config(SHARE)))
    _commit(path, 0)  # the last switch: T0 + 3
    _page_view(path, 0, "a")
    assert not path.waits(0, T0 + 2)  # no commit being written
    assert path.start_write()  # sealed: no marks yet
    assert path.waits(0, T0 + 2) and not path.waits(0, T0 + 3)
    assert path.written()
    path.committed([0])
    assert not path.waits(0, T0 + 2)
    path.tables.close()
