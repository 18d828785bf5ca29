"""Hypothesis strategies for valid rtp records (shared by property tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from pipeline.client.samples import EVENT_TYPES, click_event

NOW_MS = 1_800_000_000_000

ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
              max_size=40).filter(lambda s: s.strip() != "")
small_text = st.text(max_size=30)
coords = st.integers(min_value=0, max_value=10_000)
money = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe = st.none  # readability: st.none() | ...

_PARTS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "page_view": st.just({}),
    "click": st.builds(lambda x, y, t, i: {"click": {"x": x, "y": y, "target": t,
                                                     "interactive": i}},
                       coords, coords, small_text, st.booleans()),
    "scroll": st.builds(lambda d: {"scroll": {"depth_pct": d}},
                        st.floats(min_value=0, max_value=100, width=32)),
    "mouse_move": st.builds(lambda s: {"mouse": {"samples": s}}, st.lists(
        st.builds(lambda x, y, t: {"x": x, "y": y, "dt_ms": t}, coords, coords,
                  st.integers(0, 5000)), max_size=5)),
    "search": st.builds(lambda q, n: {"search": {"query": q, "results": n}}, small_text,
                        st.integers(0, 1000)),
    "add_to_cart": st.builds(lambda p, q, v: {"cart": {"product_id": p, "quantity": q,
                                                       "value": v, "currency": "EUR"}},
                             ids, st.integers(0, 50), money),
    "purchase": st.builds(lambda o, v, k: {"purchase": {"order_id": o, "value": v,
                                                        "currency": "EUR", "kind": k}},
                          ids, money, st.sampled_from(["purchase", "signup", "application"])),
    "form_error": st.builds(lambda f, e: {"form": {"form_id": f, "field": "zip", "error": e}},
                            ids, small_text),
    "form_submit": st.builds(lambda f: {"form": {"form_id": f, "field": None, "error": None}},
                             ids),
    "custom": st.builds(lambda n, p: {"custom": {"name": n, "properties": p}}, ids,
                        st.dictionaries(small_text, small_text, max_size=3)),
}


@st.composite
def click_events(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid ClickEvent (schema and meaning), event time near NOW_MS."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    event = click_event(
        draw(ids), kind, draw(st.integers(NOW_MS - 10**9, NOW_MS)),
        event_id=draw(ids),
        url=draw(st.text(min_size=1, max_size=60)),
        page_type=draw(st.sampled_from(["home", "product", "shipping_returns", "pricing",
                                        "eligibility", "other"])),
        category=draw(st.none() | small_text),
        product_id=draw(st.none() | small_text),
        sector=draw(st.sampled_from(["ecommerce", "saas", "travel", "finance"])),
        **draw(_PARTS[kind]),
    )
    event["user_id"] = draw(st.none() | ids)
    event["context"]["device"] = draw(st.sampled_from(["desktop", "mobile", "tablet"]))
    return event
