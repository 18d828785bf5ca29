"""Consent in the engine: opt-in mode keeps nothing and decides nothing without a yes."""

from __future__ import annotations

import dataclasses

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions
from pipeline.engine.routing import event_outputs
from pipeline.profiles import ProfileOptions, ProfileView

T0 = 1_800_000_000_000
OPT_IN = dataclasses.replace(EngineOptions(), profiles=ProfileOptions(consent_required=True))


def _pages(visitor: str) -> list[dict]:
    return [click_event(visitor, "page_view", T0 + i * 1_000, event_id=f"{visitor}-{i}")
            for i in range(4)]


def _outputs(engine: Engine, visitor: str, view: ProfileView | None) -> tuple[list, object]:
    state, outputs = None, []
    for event in _pages(visitor):
        result = engine.on_event(state, event, view)
        state = result.state
        outputs += [(o.topic, o.key) for o in event_outputs(result, event)]
    return outputs, state


def test_opt_in_without_a_consent_record_keeps_no_state_and_decides_nothing() -> None:
    outputs, state = _outputs(Engine(OPT_IN), "v-none", None)
    assert (outputs, state) == ([], None)


def test_opt_in_with_consent_decides_as_the_default_mode_does() -> None:
    granted = ProfileView(personalization_allowed=True, consent_ms=T0 - 1)
    opt_in, _ = _outputs(Engine(OPT_IN), "v-yes", granted)
    default, _ = _outputs(Engine(EngineOptions()), "v-yes", None)
    assert opt_in == default
    assert ("personalization.decisions.log" in {topic for topic, _ in opt_in})


def test_opt_out_mode_without_a_record_still_personalizes() -> None:
    outputs, state = _outputs(Engine(EngineOptions()), "v-default", None)
    assert state is not None and state.session is not None
    assert sum(topic == "personalization.decisions.log" for topic, _ in outputs) == 4


def _rage(visitor: str) -> list[dict]:
    page = click_event(visitor, "page_view", T0, event_id=f"{visitor}-p")
    clicks = [click_event(visitor, "click", T0 + 1_000 + i * 100, event_id=f"{visitor}-c{i}",
                          click={"x": 10, "y": 10, "target": "#buy", "interactive": True})
              for i in range(3)]
    return [page, *clicks]


def _topics(engine: Engine, visitor: str, view: ProfileView | None) -> list[str]:
    state, topics = None, []
    for event in _rage(visitor):
        result = engine.on_event(state, event, view)
        state = result.state
        topics += [o.topic for o in event_outputs(result, event)]
    return topics


def test_opt_in_without_a_consent_record_detects_no_signal() -> None:
    """Issue 12: no consent record → no state, no decision, *no signal* (a rage-click
    burst that gives a signal in the default mode gives nothing in opt-in mode)."""
    assert "signals.struggle" in _topics(Engine(EngineOptions()), "v-rage", None)
    assert _topics(Engine(OPT_IN), "v-rage", None) == []
