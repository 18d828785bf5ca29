"""The seed's four stories as scripts: each a visitor's steps on the demo site's pages.

Every step is what the tracker (``rtp.js``) would send for it: a page view of a demo page
(``pipeline/web/static/shop/``), or a custom event the page's own script tracks (a refresh
of the hotel results with the live ``rooms_left``, a change of the mortgage calculator).
:func:`native_batch` turns a step into the collector's native ``/v1/t`` body, the one the
tracker posts.

>>> [step.kind for step in STORIES["finance"].steps]
['page_view', 'custom', 'custom', 'custom', 'page_view']
>>> STORIES["travel"].action
'rooms_left_cue'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["STORIES", "Step", "Story", "native_batch"]


@dataclass(frozen=True)
class Step:
    """One thing the scripted visitor does.

    Parameters
    ----------
    says
        What the visitor does, in words.
    path
        The demo page it happens on (under the storefront's origin).
    page_type, product, category
        The page's ``rtp-*`` meta tags.
    kind
        ``page_view`` or ``custom``.
    name, props
        A custom event's name and properties.

    >>> Step("opens the results", "/shop/travel/search.html", "search").kind
    'page_view'
    """

    says: str
    path: str
    page_type: str
    kind: str = "page_view"
    product: str | None = None
    category: str | None = None
    name: str | None = None
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    """A seed scenario: its sector, the catalog action it should end in, the slot that shows
    it, the text that proves it on the page, and the visitor's steps.

    >>> STORIES["headphones"].slot, STORIES["headphones"].sector
    ('hero', 'ecommerce')
    """

    name: str
    sector: str
    seed: str
    action: str
    slot: str
    proof: str
    steps: tuple[Step, ...]


def _views(says: str, path: str, page_type: str, times: int, **meta: Any) -> list[Step]:
    ordinals = ("", " again", " a third time", " a fourth time")
    return [Step(says + ordinals[i], path, page_type, **meta) for i in range(times)]


_NC700 = {"product": "nc700", "category": "audio"}
_SEARCH = "/shop/travel/search.html"
_CALCULATOR = "/shop/finance/calculator.html"

STORIES: dict[str, Story] = {story.name: story for story in (
    Story(
        name="headphones", sector="ecommerce", action="free_express_shipping", slot="hero",
        proof="Free express shipping for the next 20 minutes",
        seed="a visitor repeatedly views a pair of noise-cancelling headphones and spends "
             "time on Shipping & Returns: free express shipping for the next 20 minutes",
        steps=(*_views("views the Aurora NC700 noise-cancelling headphones",
                       "/shop/p/nc700.html", "product", 3, **_NC700),
               Step("opens Shipping & Returns", "/shop/shipping.html", "shipping_returns"))),
    Story(
        name="saas", sector="saas", action="walkthrough_video_nudge", slot="overlay",
        proof="30-second walkthrough",
        seed="a trial user explores a premium feature page several times without activating "
             "it: an in-app nudge offering a 30-second walkthrough video",
        steps=tuple(_views("opens the premium feature Automated reports",
                           "/shop/saas/reports.html", "feature", 2,
                           product="automated-reports", category="premium"))),
    Story(
        name="travel", sector="travel", action="rooms_left_cue", slot="inline",
        proof="Only 2 rooms left at this price",
        seed="a user keeps refreshing hotel results in one neighbourhood while availability "
             "falls: 'only 2 rooms left at this price'",
        steps=(Step("searches hotels in Montmartre (Hôtel Sacré-Cœur: 5 rooms left)", _SEARCH,
                    "search", category="paris-montmartre"),
               *(Step(f"refreshes the results (Hôtel Sacré-Cœur: {left} rooms left)", _SEARCH,
                      "search", kind="custom", category="paris-montmartre",
                      name="listing_refresh",
                      props={"listing": "paris-montmartre", "hotel": "sacre-coeur",
                             "rooms_left": str(left)})
                 for left in (4, 3, 2)))),
    Story(
        name="finance", sector="finance", action="one_click_eligibility_check", slot="inline",
        proof="Check your eligibility in one click",
        seed="a customer adjusts a mortgage calculator several times and pauses on the "
             "eligibility tab: a one-click eligibility check",
        steps=(Step("opens the mortgage calculator", _CALCULATOR, "calculator"),
               *(Step(f"changes the {what}", _CALCULATOR, "calculator", kind="custom",
                      name="calculator_change",
                      props={"calculator": "mortgage", "input": what})
                 for what in ("amount", "term", "amount")),
               Step("opens the Eligibility tab", "/shop/finance/eligibility.html",
                    "eligibility"))),
)}


def native_batch(step: Step, *, origin: str, visitor: str, session: str, event_id: str,
                 time_ms: int, write_key: str, sector: str, token: str | None = None,
                 ) -> dict[str, Any]:
    """The collector's ``/v1/t`` body the tracker would post for ``step`` (``token``: the
    visitor's token, which the collector requires with a visitor id).

    >>> body = native_batch(STORIES["travel"].steps[1], origin="http://h", visitor="v",
    ...                     session="s", event_id="e1", time_ms=5, write_key="k",
    ...                     sector="travel")
    >>> body["events"][0]["props"]["rooms_left"], body["page"]["url"], body["context"]["sector"]
    ('4', 'http://h/shop/travel/search.html', 'travel')
    """
    event: dict[str, Any] = {"id": event_id, "type": step.kind, "time": time_ms}
    if step.kind == "custom":
        event.update(name=step.name, props=dict(step.props))
    return {
        "writeKey": write_key, "visitor": visitor, "token": token, "session": session,
        "sentAt": time_ms,
        "page": {"url": origin + step.path, "type": step.page_type, "product": step.product,
                 "category": step.category, "referrer": None},
        "events": [event],
        "context": {"device": "desktop", "timezone": "Europe/Berlin", "sector": sector},
    }
