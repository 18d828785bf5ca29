"""The action catalog: the shipped file, and broken files that name their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.decide import NO_ACTION_ID, CatalogError, load_catalog, parse_catalog

CATALOG = Path(__file__).parents[3] / "deploy/catalog/actions.yaml"

HEADER = "version: 1\nactions:\n  - id: no_action\n    slot: none\n"


def test_shipped_catalog_has_every_story_action() -> None:
    catalog = load_catalog(CATALOG)
    assert set(catalog.ids) == {
        NO_ACTION_ID,
        "free_express_shipping",
        "comparison_guide",
        "reorder_grid_by_interest",
        "hero_by_traffic_source",
        "cta_change",
        "walkthrough_video_nudge",
        "rooms_left_cue",
        "reorder_by_availability",
        "one_click_eligibility_check",
        "first_time_buyer_discount",
        "cart_reminder_email",
        "cart_reminder_sms",
    }
    shipping = catalog["free_express_shipping"]
    assert shipping.ttl_seconds == 20 * 60 and shipping.offer
    assert shipping.sectors == {"ecommerce"}
    assert shipping.page_types == {"shipping_returns", "product"}
    assert shipping.when.signals_any == {"hesitation"}
    assert catalog["first_time_buyer_discount"].first_time_buyer_offer
    assert "rooms_left" in catalog["rooms_left_cue"].placeholders
    assert "industry" in catalog["walkthrough_video_nudge"].placeholders
    assert catalog.no_action.slot == "none"
    assert {a.slot for a in catalog} == {"none", "hero", "overlay", "grid", "cta", "inline",
                                         "message"}
    assert catalog.fingerprint and catalog.source == str(CATALOG)


def _error(text: str) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "broken.yaml")
    return caught.value


def test_broken_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "actions.yaml"
    path.write_text(
        HEADER + "  - id: cta_change\n    slot: cta\n    ttl_seconds: 60\n    colour: red\n"
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(f"{path}:8: ")
    assert "'colour' is not a known key" in str(caught.value)
    assert caught.value.line == 8 and caught.value.source == str(path)


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        # invalid YAML
        ("  - id: a\n    slot: [hero\n", 7, "flow sequence started on line 6"),
        ("  - id: a\n\tslot: hero\n", 6, "invalid YAML"),
        # unknown key, in an action and in nested blocks
        ("  - id: a\n    slot: hero\n    ttl_seconds: 60\n    sector: [saas]\n", 8, "'sector'"),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    when:\n      signal_any: []\n",
            9,
            "'signal_any' is not a known key",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    caps: {per_day: 1}\n",
            8,
            "'per_day'",
        ),
        # wrong types
        ("  - id: a\n    slot: hero\n    ttl_seconds: twenty\n", 7, "must be an integer"),
        ("  - id: a\n    slot: hero\n    ttl_seconds: true\n", 7, "must be an integer"),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    offer: maybe\n",
            8,
            "must be true or false",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    sectors: saas\n",
            8,
            "must be a list of strings",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    payload:\n      n: 3\n",
            9,
            "must be a string",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    when:\n"
            "      at_least: {page_views: many}\n",
            9,
            "must be a finite number",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    when: [hesitation]\n",
            8,
            "must be a mapping",
        ),
        # missing fields
        ("  - id: a\n    ttl_seconds: 60\n", 5, "missing the required field 'slot'"),
        ("  - slot: hero\n    ttl_seconds: 60\n", 5, "missing the required field 'id'"),
        ("  - id: a\n    slot: hero\n", 5, "missing the required field 'ttl_seconds'"),
        # unknown names and values
        ("  - id: a\n    slot: banner\n    ttl_seconds: 60\n", 6, "unknown value 'banner'"),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    sectors:\n      - saas\n"
            "      - retail\n",
            10,
            "unknown value 'retail'",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    when:\n"
            "      at_least: {pageviews: 3}\n",
            9,
            "not a numeric session feature",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    when:\n"
            "      equals: {colour: red}\n",
            9,
            "not a categorical session feature",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    when:\n"
            "      any_of:\n        - page_types: [home]\n        - intent_classes: [bored]\n",
            11,
            "unknown value 'bored'",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    when:\n      min_intent: 1.5\n",
            9,
            "between 0.0 and 1.0",
        ),
        # templates
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    payload:\n"
            "      t: 'Only {rooms_left rooms'\n",
            9,
            "not a valid template",
        ),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    payload:\n"
            "      t: '{price:.2f}'\n",
            9,
            "plain {name}",
        ),
        # structure
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n  - id: a\n    slot: cta\n"
            "    ttl_seconds: 60\n",
            8,
            "duplicate action id 'a' (first declared on line 5)",
        ),
        ("  - id: Bad-Id\n    slot: hero\n    ttl_seconds: 60\n", 5, "lower_snake_case"),
        ("  - id: a\n    slot: none\n    ttl_seconds: 60\n", 6, "reserved for no_action"),
        (
            "  - id: a\n    slot: hero\n    ttl_seconds: 60\n    ttl_seconds: 90\n",
            8,
            "duplicate key 'ttl_seconds'",
        ),
    ],
)
def test_broken_catalogs_name_the_line(body: str, line: int, reason: str) -> None:
    error = _error(HEADER + body)
    assert error.line == line, str(error)
    assert reason in error.reason, str(error)
    assert str(error).startswith(f"broken.yaml:{line}: ")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", 1, "empty"),
        ("version: 1\n", 1, "missing the required field 'actions'"),
        ("version: 1\nactions: []\n", 2, "non-empty list"),
        ("version: 0\nactions:\n  - id: no_action\n    slot: none\n", 1, "must be >= 1"),
        (
            "version: 1\nactions:\n  - id: a\n    slot: hero\n    ttl_seconds: 5\n",
            2,
            "must include the explicit 'no_action'",
        ),
        ("version: 1\nactions:\n  - id: no_action\n    slot: hero\n", 4, "must be 'none'"),
        (
            "version: 1\nactions:\n  - id: no_action\n    slot: none\n    when: {}\n",
            5,
            "not allowed on no_action",
        ),
        ("version: 1\nactions:\n  - just a string\n", 3, "must be a mapping"),
        ("- a\n- b\n", 1, "must be a mapping"),
        ("version: 1\nactions:\n  - id: no_action\n    slot: none\nextra: 1\n", 5, "'extra'"),
    ],
)
def test_broken_top_level_names_the_line(text: str, line: int, reason: str) -> None:
    error = _error(text)
    assert (error.line, reason in error.reason) == (line, True), str(error)


def test_unreadable_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read the catalog"):
        load_catalog(tmp_path / "missing.yaml")


def test_every_shipped_action_renders_with_the_story_context() -> None:
    """Placeholders of the shipped payloads are all resolvable (rooms_left needs live data)."""
    from pipeline.decide import PayloadContext, render_payload

    catalog = load_catalog(CATALOG)
    context = PayloadContext(
        numeric={"page_views": 1.0},
        categorical={
            "sector": "travel",
            "traffic_source": "ads",
            "preferred_category": "audio",
            "category": "headphones",
            "industry": "retail",
        },
        extras={"rooms_left": "2"},
        intent_class="researching",
        event_time_ms=1_000,
    )
    for action in catalog:
        payload = render_payload(action, context)
        assert payload is not None, action.id
        assert all("{" not in value for value in payload.values()), action.id
    shipping = render_payload(catalog["free_express_shipping"], context)
    assert shipping is not None
    assert shipping["headline"] == "Free express shipping for the next 20 minutes"
    assert shipping["expires_at_ms"] == str(1_000 + 1_200_000)
    video = render_payload(catalog["walkthrough_video_nudge"], context)
    assert video is not None and video["video_id"] == "walkthrough-retail"
