"""Every event and outcome the simulator emits is schema-valid and makes sense."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import fastavro
from fastavro.validation import validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.serde import Codec, check_meaning
from pipeline.sim import ACTION_IDS, SECTORS, Simulator, SimulatorOptions
from tests.unit.sim.driver import decision, drive

CODEC = Codec.default()
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
OUTCOME = fastavro.parse_schema(json.loads((SCHEMAS / "Outcome.avsc").read_text()))


def _random_policy(seed: int) -> Any:
    rng = random.Random(seed)
    counter = iter(range(1, 10**9))

    def policy(sim: Simulator, event: dict[str, Any], now: int) -> dict[str, Any] | None:
        if event["event_type"] not in ("page_view", "custom") or rng.random() > 0.4:
            return None
        arm = "control" if rng.random() < 0.2 else "personalized"
        return decision(f"d{next(counter)}", event["visitor_id"], rng.choice(ACTION_IDS), arm,
                        slot=rng.choice(["hero", "overlay", "inline", "grid", "cta"]))

    return policy


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), sector=st.sampled_from(SECTORS))
def test_events_and_outcomes_are_valid(seed: int, sector: str) -> None:
    opts = SimulatorOptions(seed=seed, visitors_per_minute=8,
                            sector_mix=((sector, 3.0), ("ecommerce", 1.0)))
    run = drive(opts, 1.5, _random_policy(seed), step_ms=2_000)
    assert run.events
    for event in run.events:
        CODEC.validate("ClickEvent", event)
        check_meaning("ClickEvent", event, now_ms=event["event_time"])
    for outcome in run.outcomes:
        assert validate(outcome, OUTCOME)
        check_meaning("Outcome", outcome, now_ms=outcome["event_time"])
    assert len({e["event_id"] for e in run.events}) == len(run.events)
    assert len({o["outcome_id"] for o in run.outcomes}) == len(run.outcomes)


def test_the_event_mix_covers_every_kind_the_seed_names() -> None:
    run = drive(SimulatorOptions(seed=21, visitors_per_minute=40), 4, step_ms=10_000)
    types = {e["event_type"] for e in run.events}
    assert {"page_view", "click", "scroll", "mouse_move", "search", "add_to_cart", "purchase",
            "form_error", "form_submit", "custom"} <= types
    customs = {e["custom"]["name"] for e in run.events if e["event_type"] == "custom"}
    assert customs == {"calculator_change", "listing_refresh", "feature_view"}
    kinds = {e["purchase"]["kind"] for e in run.events if e["event_type"] == "purchase"}
    assert kinds <= {"purchase", "signup", "application", "booking"} and kinds
    sectors = {e["context"]["sector"] for e in run.events}
    assert sectors == set(SECTORS)
    page_types = {e["page"]["page_type"] for e in run.events}
    assert {"home", "listing", "search", "product", "shipping_returns", "checkout", "eligibility",
            "calculator", "feature", "pricing", "signup"} <= page_types
    clicks = [e["click"] for e in run.events if e["event_type"] == "click"]
    assert any(not c["interactive"] for c in clicks) and any(c["interactive"] for c in clicks)
    mobile = [e for e in run.events if e["context"]["device"] == "mobile"]
    assert mobile and not any(e["event_type"] == "mouse_move" for e in mobile)
    saas = [e for e in run.events if e["context"]["sector"] == "saas"]
    assert any(e["context"]["industry"] for e in saas)
    assert not any(e["context"]["industry"] for e in run.events
                   if e["context"]["sector"] != "saas")
