"""A generated, seeded clickstream for replay tests: visitors, outcomes, profiles, bad input.

Built with :func:`pipeline.client.click_event`. One visitor is the headphones
shopper of the product story: three views of the same product page, then a
long dwell on shipping & returns (the hesitation that the catalog answers with
free express shipping). Others browse, search, rage-click and buy. Outcomes
refer to the decisions the engine makes on page views (decision ids derive from
the trigger event id), so a replay learns from them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.client import click_event
from pipeline.decide import decision_id_for

T0 = 1_800_000_000_000
SHOP = "https://shop.example"
HEADPHONES_SHOPPER = "visitor-headphones"


@dataclass
class Stream:
    """Events (in arrival order), outcomes, profile updates and bad JSON lines."""

    events: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)

    def write(self, folder: Path, with_bad: bool = True) -> dict[str, Path]:
        """JSON-lines files in ``folder`` (bad lines spread through the events file)."""
        folder.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(e) for e in self.events]
        if with_bad:
            for i, bad in enumerate(self.bad_lines):
                lines.insert(min(len(lines), (i + 1) * 37), bad)
        paths = {"events": folder / "events.jsonl", "outcomes": folder / "outcomes.jsonl",
                 "profiles": folder / "profiles.jsonl"}
        paths["events"].write_text("\n".join(lines) + "\n")
        paths["outcomes"].write_text("".join(json.dumps(o) + "\n" for o in self.outcomes))
        paths["profiles"].write_text("".join(json.dumps(p) + "\n" for p in self.profiles))
        return paths


def _page(visitor: str, t: int, page_type: str, product: str | None = None,
          category: str | None = None, **ctx: Any) -> dict[str, Any]:
    url = f"{SHOP}/p/{product}" if product else f"{SHOP}/{page_type}"
    event = click_event(visitor, "page_view", t, url=url, page_type=page_type,
                        category=category, product_id=product)
    event["context"].update(ctx)
    return event


def headphones_shopper(t: int, visitor: str = HEADPHONES_SHOPPER) -> list[dict[str, Any]]:
    """3 views of one product page, then 40 s on shipping & returns, then back to the product."""
    events = [_page(visitor, t + i * 20_000, "product", "nc700", "audio") for i in range(3)]
    shipping: dict[str, Any] = dict(page_type="shipping_returns", category=None,
                                    product_id=None, url=f"{SHOP}/shipping")
    events.append(click_event(visitor, "page_view", t + 70_000, **shipping))
    events.append(click_event(visitor, "scroll", t + 90_000, scroll={"depth_pct": 40.0},
                              **shipping))
    events.append(click_event(visitor, "scroll", t + 112_000, scroll={"depth_pct": 80.0},
                              **shipping))
    events.append(_page(visitor, t + 130_000, "product", "nc700", "audio"))
    return events


def _browser(rng: random.Random, visitor: str, t: int) -> list[dict[str, Any]]:
    device = rng.choice(["desktop", "mobile", "tablet"])
    source = rng.choice(["direct", "search", "social", "email", "ads"])
    events = [_page(visitor, t, "home", device=device, traffic_source=source)]
    for _ in range(rng.randint(2, 6)):
        t += rng.randint(3_000, 40_000)
        kind = rng.random()
        if kind < 0.5:
            product = rng.choice(["nc700", "qc45", "wh1000", "earbuds2"])
            events.append(_page(visitor, t, "product", product, "audio", device=device,
                                traffic_source=source))
        elif kind < 0.7:
            events.append(_page(visitor, t, "listing", category="audio", device=device,
                                traffic_source=source))
        elif kind < 0.85:
            events.append(click_event(visitor, "search", t, url=f"{SHOP}/search",
                                      page_type="search", product_id=None,
                                      search={"query": "headphones", "results":
                                              rng.randint(0, 20)}))
        else:
            x, y = rng.randint(100, 900), rng.randint(100, 600)
            for k in range(4):  # rage clicks: same spot, fast
                events.append(click_event(visitor, "click", t + k * 150, click={
                    "x": x + k, "y": y, "target": "#size", "interactive": False}))
            t += 600
    if rng.random() < 0.25:
        t += rng.randint(5_000, 30_000)
        events.append(click_event(visitor, "add_to_cart", t, cart={
            "product_id": "nc700", "quantity": 1, "value": 349.0, "currency": "EUR"}))
        t += rng.randint(5_000, 30_000)
        events.append(click_event(visitor, "purchase", t, purchase={
            "order_id": f"o-{visitor}", "value": 349.0, "currency": "EUR",
            "kind": "purchase"}))
    return events


def _outcomes(rng: random.Random, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    last_view: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["event_type"] == "purchase" and event["visitor_id"] in last_view:
            did = decision_id_for(last_view[event["visitor_id"]]["event_id"])
            out.append({"outcome_id": f"{did}:converted", "decision_id": did,
                        "visitor_id": event["visitor_id"], "kind": "converted",
                        "value": float(event["purchase"]["value"]),
                        "event_time": event["event_time"] + 1_000})
        if event["event_type"] != "page_view":
            continue
        last_view[event["visitor_id"]] = event
        if rng.random() < 0.4:
            continue
        kind = rng.choice(["shown", "clicked", "dismissed", "ignored", "clicked"])
        did = decision_id_for(event["event_id"])
        out.append({"outcome_id": f"{did}:{kind}", "decision_id": did,
                    "visitor_id": event["visitor_id"], "kind": kind, "value": 0.0,
                    "event_time": event["event_time"] + rng.randint(500, 20_000)})
    return out


def generate_stream(n_visitors: int = 40, seed: int = 7, t0: int = T0,
                    prefix: str = "visitor") -> Stream:
    """A few hundred events for ``n_visitors`` + the headphones shopper, interleaved by time.

    Event times span about 13 minutes from ``t0``; visitor ids start with ``prefix``.
    """
    rng = random.Random(seed)
    stream = Stream()
    per_visitor: list[list[dict[str, Any]]] = [
        headphones_shopper(t0 + 5_000, f"{prefix}-headphones")]
    for i in range(n_visitors):
        per_visitor.append(_browser(rng, f"{prefix}-{i:03d}", t0 + rng.randint(0, 600_000)))
    merged = sorted((e for events in per_visitor for e in events),
                    key=lambda e: (e["event_time"], e["visitor_id"], e["event_id"]))
    # A little disorder, as a network gives it: swap a few neighbours.
    for i in range(5, len(merged) - 1, 29):
        merged[i], merged[i + 1] = merged[i + 1], merged[i]
    # One late event: an old click of an active visitor, far behind its session.
    late = dict(merged[-1])
    late = click_event(late["visitor_id"], "click", late["event_time"] - 600_000,
                       event_id=f"late-{late['visitor_id']}",
                       click={"x": 5, "y": 5, "target": "#logo", "interactive": True})
    merged.append(late)
    stream.events = merged
    stream.outcomes = sorted(_outcomes(rng, merged), key=lambda o: o["event_time"])
    stream.profiles = [
        {"update_id": "u-optout", "kind": "consent", "visitor_id": f"{prefix}-003",
         "user_id": None, "event_time": t0 - 1_000, "traits": {},
         "consent": {"personalization": False, "analytics": True}},
        {"update_id": "u-traits", "kind": "traits", "visitor_id": f"{prefix}-004",
         "user_id": None, "event_time": t0 - 1_000,
         "traits": {"loyalty_tier": "gold", "preferred_category": "audio"}, "consent": None},
    ]
    bad_seconds = click_event(f"{prefix}-bad", "page_view", t0 // 1000)
    no_visitor = click_event("", "page_view", t0)
    stream.bad_lines = ["this is not json", json.dumps([1, 2, 3]),
                        json.dumps({"event_id": "x"}), json.dumps(bad_seconds),
                        json.dumps(no_visitor)]
    return stream
