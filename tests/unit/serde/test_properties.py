"""Property tests: valid events round-trip; no byte string makes the decoder raise anything else."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.serde import Admitted, Codec, DecodeError, MessageGate, Rejected
from tests.strategies import NOW_MS, click_events

CODEC = Codec.default()
GATE = MessageGate(CODEC, ("ClickEvent",))
HEADER = CODEC.encode("ClickEvent", {
    "event_id": "e", "event_type": "page_view", "visitor_id": "v", "user_id": None,
    "session_hint": None, "event_time": NOW_MS,
    "page": {"url": "u", "page_type": "home", "category": None, "product_id": None,
             "referrer": None},
    "context": {"traffic_source": "direct", "campaign": None, "device": "desktop",
                "country": None, "region": None, "timezone": None, "sector": "ecommerce",
                "industry": None},
    "click": None, "scroll": None, "mouse": None, "search": None, "cart": None,
    "purchase": None, "form": None, "custom": None,
})[:10]


@settings(max_examples=150, deadline=None)
@given(click_events())
def test_any_valid_event_round_trips_and_is_admitted(event: dict[str, Any]) -> None:
    data = CODEC.encode("ClickEvent", event, check=True)
    assert CODEC.decode(data, ("ClickEvent",)) == ("ClickEvent", event)
    result = GATE.admit(data, key=b"k", topic="t", partition=0, offset=0, now_ms=NOW_MS)
    assert isinstance(result, Admitted) and result.record == event


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_become_dead_letters(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        CODEC.decode(data, ("ClickEvent",))
    result = GATE.admit(data, key=None, topic="t", partition=1, offset=2, now_ms=NOW_MS)
    if isinstance(result, Rejected):
        assert result.dead_letter["original_value"] == data
        CODEC.validate("DeadLetter", result.dead_letter)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bodies_behind_a_valid_header_never_escape_the_gate(body: bytes) -> None:
    result = GATE.admit(HEADER + body, key=None, topic="t", partition=0, offset=0, now_ms=NOW_MS)
    assert isinstance(result, Admitted | Rejected)


def _plain_body(name: str, record: dict[str, Any]) -> bytes:
    """fastavro's body for ``record`` as given (no union branch named): the reference."""
    import io

    from fastavro import schemaless_writer

    buf = io.BytesIO()
    schemaless_writer(buf, CODEC.registry.current(name).parsed, record)
    return buf.getvalue()


@settings(max_examples=150, deadline=None)
@given(click_events())
def test_naming_the_union_branches_writes_the_same_bytes(event: dict[str, Any]) -> None:
    """Codec.encode names the branch of each ``["null", record]`` field (fastavro's tuple
    notation, to skip the union search); the bytes equal fastavro's on the plain record."""
    before = repr(event)
    assert CODEC.encode("ClickEvent", event)[10:] == _plain_body("ClickEvent", event)
    assert repr(event) == before  # the caller's record is not changed


_finite = st.floats(allow_nan=False, allow_infinity=False)
_text = st.text(max_size=12)
_rewards = st.fixed_dictionaries({
    "decision_id": _text, "action_id": _text, "context": st.lists(_finite, max_size=8),
    "reward": _finite, "total_reward": _finite, "new_observation": st.booleans(),
    "reason": _text, "propensity": _finite})
_labels = st.fixed_dictionaries({
    "session_id": _text, "numeric": st.dictionaries(_text, _finite, max_size=4),
    "categorical": st.dictionaries(_text, _text, max_size=4), "converted": st.booleans()})


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.none(), _rewards), st.one_of(st.none(), _labels), _text,
       st.integers(min_value=0, max_value=2**62))
def test_learning_records_are_written_as_fastavro_writes_them(
        reward: dict[str, Any] | None, label: dict[str, Any] | None, record_id: str,
        at: int) -> None:
    record = {"record_id": record_id, "visitor_id": "v", "event_time": at, "reward": reward,
              "label": label}
    data = CODEC.encode("LearningRecord", record)
    assert data[10:] == _plain_body("LearningRecord", record)
    assert CODEC.decode(data, ("LearningRecord",)) == ("LearningRecord", record)
