"""The catalog's channel keys, the decider's Decision.channel, and delivery not serving
email or SMS decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.decide import CatalogError
from pipeline.decide.catalog import load_catalog, parse_catalog
from pipeline.decide.context import DecisionContext
from pipeline.decide.decider import Decider
from pipeline.decide.story import StoryOverride
from pipeline.delivery.store import DecisionStore, Offered
from pipeline.engine import EngineOptions
from pipeline.serde import Codec
from tests.unit.delivery.factories import NOW_MS, decision
from tests.unit.replay.catalogs import catalog_without

HEAD = "version: 1\nactions:\n  - id: no_action\n    slot: none\n"
WEB = "  - id: offer\n    slot: overlay\n    ttl_seconds: 60\n"


def test_channel_defaults_to_web_and_email_actions_use_the_message_slot() -> None:
    catalog = parse_catalog(HEAD + WEB + "  - id: mail\n    slot: message\n    channel: email\n"
                            "    ttl_seconds: 60\n    same_offer_as: offer\n", "c.yaml")
    assert catalog["offer"].channel == "web" and catalog["offer"].offer_key == "offer"
    assert catalog["mail"].channel == "email" and catalog["mail"].offer_key == "offer"
    assert catalog.no_action.channel == "web"


@pytest.mark.parametrize(("extra", "message"), [
    ("  - id: mail\n    slot: overlay\n    channel: email\n    ttl_seconds: 60\n",
     "c.yaml:9: action 'mail': 'slot' 'overlay' is not a slot of the email channel"),
    ("  - id: mail\n    slot: message\n    ttl_seconds: 60\n",
     "c.yaml:9: action 'mail': 'slot' 'message' is not a slot of the web channel"),
    ("  - id: mail\n    slot: message\n    channel: fax\n    ttl_seconds: 60\n",
     "c.yaml:10: action 'mail': 'channel' has unknown value 'fax'"),
    ("  - id: mail\n    slot: message\n    channel: sms\n    ttl_seconds: 60\n"
     "    same_offer_as: Not An Id\n",
     "c.yaml:12: action 'mail': 'same_offer_as' 'Not An Id' must be an action id"),
    ("  - id: mail\n    slot: message\n    channel: sms\n    ttl_seconds: 60\n"
     "    same_offer_as: mail\n", "must name another action"),
])
def test_bad_channel_keys_name_the_file_and_line(extra: str, message: str) -> None:
    with pytest.raises(CatalogError) as error:
        parse_catalog(HEAD + WEB + extra, "c.yaml")
    assert message in str(error.value)


def test_the_decider_writes_the_actions_channel_into_a_valid_decision() -> None:
    catalog = load_catalog(EngineOptions().catalog_path)
    story = StoryOverride("story-chan-", ("cart_reminder_email",))
    decider = Decider(catalog, story=story)
    ctx = DecisionContext(
        "story-chan-1", "s", "e-1", "page_view", NOW_MS,
        {"cart_adds": 1.0, "past_purchases": 0.0},
        {"sector": "ecommerce", "page_type": "checkout"}, consent=True)
    outcome = decider.decide(ctx)
    assert outcome is not None
    assert (outcome.decision["action_id"], outcome.decision["channel"],
            outcome.decision["slot"]) == ("cart_reminder_email", "email", "message")
    assert outcome.decision["payload"]["code"] == "WELCOME10"
    codec = Codec.default()
    assert codec.decode(codec.encode("Decision", outcome.decision))[1]["channel"] == "email"
    web = decider.decide(DecisionContext(
        "v-9", "s", "e-2", "page_view", NOW_MS, {}, {"sector": "ecommerce", "page_type": "home"},
        consent=True))
    assert web is not None and web.decision["channel"] == "web"


def test_a_purchaser_is_never_decided_the_email_offer() -> None:
    decider = Decider(load_catalog(EngineOptions().catalog_path),
                      story=StoryOverride("story-chan-", ("cart_reminder_email",)))
    outcome = decider.decide(DecisionContext(
        "story-chan-1", "s", "e-1", "page_view", NOW_MS, {"cart_adds": 1.0},
        {"sector": "ecommerce", "page_type": "checkout"}, consent=True, purchased_ever=True))
    assert outcome is not None and outcome.decision["action_id"] != "cart_reminder_email"
    assert "purchase_suppression:cart_reminder_email" in outcome.guardrails_fired


def test_delivery_does_not_serve_email_or_sms_decisions_but_serves_web_and_app() -> None:
    store = DecisionStore()
    for n, channel in enumerate(("email", "sms")):
        d = {**decision(decision_id=f"m{n}", slot="message"), "channel": channel}
        assert store.offer(d, NOW_MS) is Offered.NOT_SERVED
    for n, channel in enumerate(("web", "app")):
        d = {**decision(visitor_id=f"v{n}", decision_id=f"p{n}"), "channel": channel}
        assert store.offer(d, NOW_MS) is Offered.STORED
    assert store.current("v1", NOW_MS)["hero"]["decision_id"] == "p1"


def test_a_candidate_catalog_without_the_web_offer_still_loads(tmp_path: Path) -> None:
    catalog = load_catalog(catalog_without(tmp_path, "first_time_buyer_discount"))
    assert catalog["cart_reminder_email"].offer_key == "first_time_buyer_discount"
