"""Hypothesis strategies for valid Segment calls and tracker batches (shared by collector tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

#: The collector's clock in these tests (2027-01-15).
NOW_MS = 1_800_000_000_000

ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1,
              max_size=30).filter(lambda s: s.strip() != "")
words = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)
paths = st.lists(words, max_size=3).map(lambda parts: "/" + "/".join(parts))
urls = st.builds(lambda host, path: f"https://{host}.example{path}", words, paths)
times_ms = st.integers(NOW_MS - 86_400_000, NOW_MS)
iso_times = times_ms.map(
    lambda ms: datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds"))
money = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | money | st.text(max_size=20)
#: Trait and property keys including personal data that must never pass.
personal_keys = st.sampled_from(["email", "phone", "ip", "name", "address", "firstName",
                                 "last_name", "ipAddress", "workEmail", "street"])


def _ids(draw: st.DrawFn) -> dict[str, Any]:
    who = draw(st.sampled_from(["anonymous", "user", "both"]))
    out: dict[str, Any] = {"messageId": draw(ids)}
    if who in ("anonymous", "both"):
        out["anonymousId"] = draw(ids)
    if who in ("user", "both"):
        out["userId"] = draw(ids)
    return out


@st.composite
def segment_calls(draw: st.DrawFn) -> dict[str, Any]:
    """A valid call of any Segment type (track: any mapped event, or a custom one)."""
    kind = draw(st.sampled_from(["page", "track", "identify", "screen", "group", "alias"]))
    message: dict[str, Any] = {"type": kind, **_ids(draw)}
    if kind == "alias":
        message["previousId"] = draw(ids)
        message["userId"] = draw(ids)
    if kind == "group":
        message["groupId"] = draw(ids)
        message["traits"] = draw(st.dictionaries(
            words | personal_keys | st.sampled_from(["industry", "plan"]), scalars, max_size=6))
        return message
    if kind == "screen" and draw(st.booleans()):
        message["name"] = draw(words)
    if draw(st.booleans()):
        message["timestamp"] = draw(iso_times)
    context: dict[str, Any] = {"page": {"url": draw(urls)}}
    if draw(st.booleans()):
        context["userAgent"] = draw(st.sampled_from(["Mozilla/5.0 (iPhone) Mobile", "curl/8"]))
    if draw(st.booleans()):
        context["campaign"] = {"medium": draw(st.sampled_from(["cpc", "email", "x"])),
                               "name": draw(words)}
    message["context"] = context
    if kind == "alias":
        return message
    if kind == "identify":
        message["traits"] = draw(st.dictionaries(words | personal_keys, scalars, max_size=6))
        return message
    props: dict[str, Any] = {}
    if kind == "track":
        event = draw(st.sampled_from(["Product Added", "Order Completed", "Signed Up",
                                      "Products Searched", "Video Played"]))
        message["event"] = event
        if event == "Product Added":
            props = {"product_id": draw(ids), "price": draw(money),
                     "quantity": draw(st.integers(0, 10))}
        elif event in ("Order Completed", "Signed Up"):
            props = {"order_id": draw(ids), "total": draw(money)}
        elif event == "Products Searched":
            props = {"query": draw(st.text(max_size=30)), "results": draw(st.integers(0, 500))}
        else:
            props = draw(st.dictionaries(words | personal_keys, scalars, max_size=5))
    if draw(st.booleans()):
        props["page_type"] = draw(st.sampled_from(["product", "pdp", "shipping", "weird"]))
    message["properties"] = props
    return message


@st.composite
def native_events(draw: st.DrawFn) -> dict[str, Any]:
    """One valid tracker event of any type."""
    kind = draw(st.sampled_from(["page_view", "click", "scroll", "mouse_move", "form_error",
                                 "form_submit", "search", "add_to_cart", "purchase", "custom",
                                 "rage_click", "consent", "identify"]))
    event: dict[str, Any] = {"id": draw(ids), "type": kind, "time": draw(times_ms)}
    coord = st.integers(0, 5000)
    if kind in ("click", "rage_click"):
        event.update(x=draw(coord), y=draw(coord), target=draw(st.text(max_size=40)))
        if kind == "click":
            event["interactive"] = draw(st.booleans())
        else:
            event["clicks"] = draw(st.integers(3, 9))
    elif kind == "scroll":
        event["depth"] = draw(st.floats(0, 100))
    elif kind == "mouse_move":
        event["samples"] = draw(st.lists(st.lists(coord, min_size=3, max_size=3), min_size=1,
                                         max_size=20))
    elif kind in ("form_error", "form_submit"):
        event.update(form=draw(ids), field=draw(st.none() | words), error=draw(st.none() | words))
    elif kind == "search":
        event.update(query=draw(st.text(max_size=20)), results=draw(st.integers(0, 99)))
    elif kind == "add_to_cart":
        event.update(product=draw(ids), value=draw(money), quantity=draw(st.integers(0, 9)))
    elif kind == "purchase":
        event.update(order=draw(ids), value=draw(money))
    elif kind == "custom":
        event.update(name=draw(ids), props=draw(st.dictionaries(words | personal_keys, scalars,
                                                                 max_size=4)))
    elif kind == "consent":
        event.update(personalization=draw(st.booleans()), analytics=draw(st.booleans()))
    elif kind == "identify":
        event.update(user=draw(ids), traits=draw(st.dictionaries(words | personal_keys, scalars,
                                                                  max_size=4)))
    return event


@st.composite
def native_batches(draw: st.DrawFn) -> dict[str, Any]:
    """A valid tracker batch of 1-8 events."""
    return {"writeKey": "wk", "visitor": draw(ids), "session": draw(st.none() | ids),
            "page": {"url": draw(urls), "type": draw(st.none() | st.sampled_from(
                ["product", "shipping_returns", "home"])), "product": draw(st.none() | words)},
            "context": {"device": draw(st.sampled_from(["desktop", "mobile", "tv"])),
                        "timezone": "Europe/Berlin"},
            "events": draw(st.lists(native_events(), min_size=1, max_size=8))}
