"""Sticky arm: a person keeps the arm of their first sight through identify and alias.

Driven through the offline worker (:class:`pipeline.replay.Replayer`: the engine, the
profile side's pure core and the fan-out of views, as the worker applies them), with a
control share of 0.5 and ids chosen so that re-bucketing on the user id (or on the second
device's id) would change the arm.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from pipeline.client import click_event
from pipeline.decide import assign_arm
from pipeline.engine import EngineOptions
from pipeline.profiles import ProfileState, apply_profile_update, merge_profiles
from pipeline.replay import Replayer
from pipeline.replay.sources import SourceRecord

T0 = 1_800_000_000_000
SHARE = 0.5


class _Logs:
    def __init__(self) -> None:
        self.logs: list[dict[str, Any]] = []

    def decision_log(self, key: str, record: dict[str, Any]) -> None:
        self.logs.append(record)

    def signal(self, key: str, record: dict[str, Any]) -> None:
        pass

    def dead_letter(self, record: dict[str, Any]) -> None:
        raise AssertionError(f"dead letter: {record['reason']}")


def _replayer() -> tuple[Replayer, _Logs]:
    options = EngineOptions()
    options = dataclasses.replace(options, decider=dataclasses.replace(
        options.decider, control_share=SHARE))
    sink = _Logs()
    return Replayer(options, sink), sink


def _other_arm(of: str, prefix: str) -> str:
    """An id whose arm differs from ``of``'s."""
    return next(f"{prefix}{i}" for i in itertools.count()
                if assign_arm(f"{prefix}{i}", SHARE) != assign_arm(of, SHARE))


class _Feed:
    def __init__(self, replayer: Replayer) -> None:
        self.replayer, self.offset = replayer, itertools.count()

    def page(self, visitor: str, at: int, user: str | None = None) -> None:
        event = click_event(visitor, "page_view", at, event_id=f"{visitor}-{at}")
        event["user_id"] = user
        self.replayer.feed(SourceRecord("ClickEvent", "e", 0, next(self.offset), at, event))

    def identify(self, visitor: str, user: str, at: int) -> None:
        update = {"update_id": f"id-{visitor}-{at}", "kind": "identify", "visitor_id": visitor,
                  "user_id": user, "event_time": at, "traits": {}, "consent": None}
        self.replayer.feed(SourceRecord("ProfileUpdate", "p", 0, next(self.offset), at,
                                        update))


def _arms(sink: _Logs, visitor: str) -> list[str]:
    return [log["decision"]["experiment_arm"] for log in sink.logs
            if log["decision"]["visitor_id"] == visitor]


def test_identify_mid_session_keeps_the_arm() -> None:
    visitor = "anon-1"
    user = _other_arm(visitor, "user-")
    replayer, sink = _replayer()
    feed = _Feed(replayer)
    feed.page(visitor, T0)
    feed.page(visitor, T0 + 10_000)
    # The web tier sends userId on every call after the login, before the profile side's
    # view has arrived, and after it.
    feed.page(visitor, T0 + 20_000, user)
    feed.identify(visitor, user, T0 + 21_000)
    feed.page(visitor, T0 + 30_000, user)
    feed.page(visitor, T0 + 40_000, user)
    arms = _arms(sink, visitor)
    assert len(arms) == 5
    assert arms == [assign_arm(visitor, SHARE)] * 5
    assert assign_arm(user, SHARE) != arms[0]  # re-bucketing on the user id would show


def test_a_second_device_joins_the_persons_arm_for_good() -> None:
    first = "phone-1"
    second = _other_arm(first, "laptop-")
    user = _other_arm(first, "user-")
    replayer, sink = _replayer()
    feed = _Feed(replayer)
    feed.page(first, T0)
    feed.identify(first, user, T0 + 1_000)
    feed.page(first, T0 + 2_000, user)
    # Another device, anonymous: bucketed on its own id until something joins it.
    feed.page(second, T0 + 60_000)
    feed.identify(second, user, T0 + 61_000)  # an alias or identify: same update
    feed.page(second, T0 + 62_000, user)
    feed.page(second, T0 + 70_000, user)
    feed.page(first, T0 + 80_000, user)
    person = assign_arm(first, SHARE)
    assert _arms(sink, first) == [person] * 3
    assert _arms(sink, second) == [assign_arm(second, SHARE), person, person]


def test_the_unit_is_set_at_first_sight_and_survives_merges() -> None:
    base = {"update_id": "x", "traits": {}, "consent": None, "event_time": T0}
    anon = apply_profile_update(None, {**base, "kind": "traits", "visitor_id": "a1",
                                       "user_id": None}).state
    assert anon is not None and anon.experiment_unit == "a1"
    # identify absorbs the anonymous profile: its unit is kept
    joined = apply_profile_update(None, {**base, "kind": "identify", "visitor_id": "a1",
                                         "user_id": "u1"}, anonymous=anon).state
    assert joined is not None and joined.experiment_unit == "a1"
    # a second device joining later does not move it; every device's view carries it
    later = apply_profile_update(joined, {**base, "kind": "identify", "visitor_id": "a2",
                                          "user_id": "u1"}).state
    assert later is not None and later.experiment_unit == "a1"
    assert later.view().experiment_unit == "a1"
    # merging keeps the primary's unit, and fills it from the other when missing
    primary = ProfileState(key="u2", user_id="u2", experiment_unit="p")
    assert merge_profiles(primary, ProfileState(key="o", experiment_unit="o")).experiment_unit \
        == "p"
    assert merge_profiles(ProfileState(key="u3", user_id="u3"),
                          ProfileState(key="o")).experiment_unit == "o"
    assert ProfileState.from_bytes(later.to_bytes()) == later
