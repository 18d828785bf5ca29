"""The per-event readers take dicts on a fast path: any other mapping must read the same.

The engine's one-pass reader (:func:`pipeline.engine.event.read_click_event`) must give
exactly what the sessionizer's and the detectors' readers give, and fail as the first does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine.event import read_click_event
from pipeline.sessions import InvalidSessionEventError
from pipeline.sessions.event import read_session_event
from pipeline.signals import InvalidSignalEventError, read_signal_event
from tests.strategies import click_events


class Frozen(Mapping[str, Any]):
    """A read-only mapping that is not a dict (takes the slow, ABC-checked path)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def frozen(value: Any) -> Any:
    """``value`` with every dict inside it (and itself) turned into a :class:`Frozen`."""
    if isinstance(value, dict):
        return Frozen({k: frozen(v) for k, v in value.items()})
    return value


TEXT = st.none() | st.text(max_size=5) | st.integers(-2, 2) | st.lists(st.integers(), max_size=2)
NUMBER = st.none() | st.integers(-10, 10**6) | st.floats(allow_nan=True) | st.booleans() | TEXT
SUB = st.none() | st.integers() | st.text(max_size=3) | st.dictionaries(
    st.sampled_from(["value", "kind", "name", "depth_pct", "x", "y", "target", "interactive",
                     "query", "results", "form_id", "field", "properties", "url",
                     "page_type", "category", "product_id", "timezone", "device", "sector",
                     "country", "industry", "traffic_source"]),
    NUMBER, max_size=6)
EVENTS = st.fixed_dictionaries(
    {"event_id": st.sampled_from(["e1", ""]) | TEXT,
     "event_type": st.sampled_from(["page_view", "click", "purchase", "custom", ""]),
     "visitor_id": st.sampled_from(["v1"]) | TEXT,
     "event_time": st.integers(0, 2**41) | st.booleans() | st.text(max_size=2),
     "page": st.fixed_dictionaries({"url": st.text(max_size=8) | st.none()},
                                   optional={"page_type": TEXT, "category": TEXT,
                                             "product_id": TEXT}) | SUB},
    optional={name: SUB for name in ("user_id", "context", "scroll", "cart", "purchase",
                                      "custom", "click", "search", "form")},
)


def _read(reader: Any, error: type[Exception], event: Any) -> Any:
    try:
        return reader(event)
    except error as exc:
        return ("error", str(exc))
    except (TypeError, AttributeError) as exc:  # malformed sub-records fail alike
        return ("raised", type(exc).__name__)


@settings(max_examples=400, deadline=None)
@given(EVENTS)
def test_session_reader_reads_any_mapping_as_a_dict(event: dict[str, Any]) -> None:
    assert _read(read_session_event, InvalidSessionEventError, event) == _read(
        read_session_event, InvalidSessionEventError, frozen(event))


@settings(max_examples=400, deadline=None)
@given(EVENTS)
def test_signal_reader_reads_any_mapping_as_a_dict(event: dict[str, Any]) -> None:
    got = _read(read_signal_event, InvalidSignalEventError, event)
    want = _read(read_signal_event, InvalidSignalEventError, frozen(event))
    if isinstance(got, tuple) and hasattr(got, "_asdict"):  # custom_properties: dict vs Frozen
        got, want = got._replace(custom_properties=dict(got.custom_properties)), \
            want._replace(custom_properties=dict(want.custom_properties))
    assert got == want


@pytest.mark.parametrize("reader,error", [(read_session_event, InvalidSessionEventError),
                                          (read_signal_event, InvalidSignalEventError)])
def test_readers_still_refuse_what_is_not_a_mapping(reader: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        reader(["event_id", "e1"])


def _both(event: Any) -> Any:
    """What the engine read before: the session reader, then (if it succeeded) the signal one."""
    session = _read(read_session_event, InvalidSessionEventError, event)
    if not isinstance(session, tuple) or not hasattr(session, "_asdict"):
        return session  # an error: the signal reader was never reached
    return session, _read(read_signal_event, InvalidSignalEventError, event)


def _stretched(event: dict[str, Any], size: int) -> dict[str, Any]:
    """``event`` with every non-empty string in its sub-records repeated to ``size`` chars."""
    def stretch(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: stretch(v) for k, v in value.items()}
        return (value * size)[:size] if isinstance(value, str) and value else value
    return {k: stretch(v) if isinstance(v, dict) else v for k, v in event.items()}


#: Valid events, some with strings past the readers' cuts (128 chars; 256 for URLs).
VALID = click_events() | st.builds(_stretched, click_events(), st.integers(100, 300))


@settings(max_examples=500, deadline=None)
@given(EVENTS | VALID, st.booleans())
def test_the_one_pass_reader_reads_what_both_readers_read(event: dict[str, Any],
                                                          as_frozen: bool) -> None:
    if as_frozen:
        event = frozen(event)
    got = _read(read_click_event, InvalidSessionEventError, event)
    assert got == _both(event)
    if isinstance(got, tuple) and len(got) == 2 and hasattr(got[1], "_asdict"):
        # same field values and same types (bit-identical records, not merely equal ones)
        for ours, theirs in zip(got, _both(event), strict=True):
            assert [type(v) for v in ours] == [type(v) for v in theirs]


@settings(max_examples=500, deadline=None)
@given(VALID)
def test_the_one_pass_reader_reads_valid_events_as_both_readers(event: dict[str, Any]) -> None:
    session, signal = read_click_event(event)
    assert session == read_session_event(event) and signal == read_signal_event(event)


def test_the_one_pass_reader_refuses_what_is_not_a_mapping() -> None:
    with pytest.raises(InvalidSessionEventError):
        read_click_event(["event_id", "e1"])  # type: ignore[arg-type]
