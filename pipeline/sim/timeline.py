"""Write one visitor's events page by page, in event time: the journeys' pen.

A :class:`Timeline` holds the visitor's clock and current page. ``visit`` emits
what a real page visit produces: the click on the link that leads there, the
page_view, scrolls as the visitor reads deeper, sampled mouse moves (desktop),
the page's own events (a search, a calculator change...), and now and then an
incidental dead click or rage-click burst. Every event is built with
:func:`pipeline.client.click_event` and is a valid ClickEvent.

>>> import random
>>> from pipeline.sim.options import SimulatorOptions
>>> from pipeline.sim.site import site
>>> from pipeline.sim.visitor import draw_visitor
>>> v = draw_visitor(random.Random(0), "sim-v1", "shop_browser")
>>> tl = Timeline(v, 1_700_000_000_000, random.Random(1), SimulatorOptions())
>>> start = tl.visit(site("ecommerce").page("home"), 10_000, via="landing")
>>> events = tl.drain()
>>> events[0]["event_type"], events[0]["event_time"] == start, tl.now - start
('page_view', True, 10000)
"""

from __future__ import annotations

import bisect
import random
import zlib
from collections.abc import Iterable
from typing import Any

from pipeline.client import click_event
from pipeline.sim.elements import (
    ACTION_TARGETS,
    VIEWPORTS,
    button_targets,
    link_target,
    static_targets,
    stuck_targets,
)
from pipeline.sim.errors import SimulationError
from pipeline.sim.options import SimulatorOptions
from pipeline.sim.site import Page, Product
from pipeline.sim.visitor import VisitorProfile

__all__ = ["InnerEvent", "Timeline", "seconds"]

InnerEvent = tuple[int, str, dict[str, Any]]
"""A page's own event: ``(offset ms after the page_view, event_type, sub-records)``."""

_SCROLL_REACH = {"browsing": (15.0, 60.0), "researching": (45.0, 100.0),
                 "high_intent": (35.0, 90.0)}


def seconds(rng: random.Random, low: float, high: float) -> int:
    """A uniform duration between ``low`` and ``high`` seconds, in ms.

    >>> 2_000 <= seconds(random.Random(0), 2, 3) <= 3_000
    True
    """
    return int(rng.uniform(low, high) * 1000)


class Timeline:
    """One visitor's event writer; its clock ``now`` only moves forward.

    Parameters
    ----------
    visitor
        Who acts.
    start_ms
        Event time of the first event.
    rng
        The visitor's random stream (every draw of the journey comes from it).
    options
        Rates of incidental rage/dead clicks and mouse sampling.

    Attributes
    ----------
    now
        The visitor's clock (ms).
    page
        The page the visitor is on, ``None`` before landing.
    struggle_at
        Event time when the visitor's struggle became visible (first mark wins).
    focus
        What the visitor would convert on.
    carted
        Whether the visitor added ``focus`` to the cart.

    >>> tl = Timeline(_demo_visitor(), 1_700_000_000_000, random.Random(0), SimulatorOptions())
    >>> tl.mark_struggle(5); tl.mark_struggle(9); tl.struggle_at
    5
    """

    def __init__(self, visitor: VisitorProfile, start_ms: int, rng: random.Random,
                 options: SimulatorOptions) -> None:
        self.visitor = visitor
        self.rng = rng
        self.options = options
        self.now = start_ms
        self.page: Page | None = None
        self.struggle_at: int | None = None
        self.focus: Product | None = None
        self.carted = False
        self._referrer: str | None = None
        self._depth = 0.0
        self._seq = 0
        self._pages: list[tuple[int, Page, str | None]] = []
        self._events: list[tuple[int, int, dict[str, Any]]] = []

    # -- bookkeeping ---------------------------------------------------------------------

    def mark_struggle(self, at_ms: int) -> None:
        """Record that the struggle is visible from ``at_ms`` (only the first mark counts).

        >>> tl = Timeline(_demo_visitor(), 0, random.Random(0), SimulatorOptions())
        >>> tl.mark_struggle(7); tl.struggle_at
        7
        """
        if self.struggle_at is None:
            self.struggle_at = at_ms

    def drain(self) -> list[dict[str, Any]]:
        """The events written since the last drain, in event-time order.

        >>> Timeline(_demo_visitor(), 0, random.Random(0), SimulatorOptions()).drain()
        []
        """
        self._events.sort(key=lambda item: (item[0], item[1]))
        out = [event for _, _, event in self._events]
        self._events.clear()
        return out

    def page_at(self, at_ms: int) -> tuple[Page, str | None] | None:
        """The page (and its referrer) the visitor was on at ``at_ms``.

        >>> tl = Timeline(_demo_visitor(), 1_700_000_000_000, random.Random(0),
        ...               SimulatorOptions())
        >>> tl.page_at(1) is None
        True
        >>> _ = tl.visit(Page("https://shop.example/", "home"), 5_000, via="landing")
        >>> tl.page_at(1_700_000_001_000)[0].page_type
        'home'
        """
        i = bisect.bisect_right([t for t, _, _ in self._pages], at_ms)
        if i == 0:
            return None
        _, page, referrer = self._pages[i - 1]
        return page, referrer

    def rewind(self, at_ms: int) -> None:
        """Forget pages entered after ``at_ms`` and put the clock there (plans cut short).

        Events already drained are the caller's to drop.

        >>> tl = Timeline(_demo_visitor(), 1_700_000_000_000, random.Random(0),
        ...               SimulatorOptions())
        >>> _ = tl.visit(Page("https://shop.example/", "home"), 5_000, via="landing")
        >>> _ = tl.visit(Page("https://shop.example/deals", "other"), 5_000)
        >>> tl.rewind(1_700_000_001_000); tl.page.page_type, tl.now
        ('home', 1700000001000)
        """
        self._pages = [p for p in self._pages if p[0] <= at_ms]
        self._events = [e for e in self._events if e[0] <= at_ms]
        last = self._pages[-1] if self._pages else None
        self.page = last[1] if last else None
        self._referrer = last[2] if last else None
        self.now = at_ms

    def event(self, event_type: str, at_ms: int, *, page: Page | None = None,
              referrer: str | None = None, **parts: Any) -> dict[str, Any]:
        """Write one event at ``at_ms`` on ``page`` (default: the current page).

        >>> tl = Timeline(_demo_visitor(), 0, random.Random(0), SimulatorOptions())
        >>> ev = tl.event("custom", 1_700_000_000_000, page=Page("https://shop.example/", "home"),
        ...               custom={"name": "x", "properties": {}})
        >>> ev["event_id"], ev["page"]["page_type"]
        ('sim-demo-e00001', 'home')
        """
        v = self.visitor
        if page is None:
            if self.page is None:
                raise SimulationError("the visitor is on no page yet: visit one first")
            page, referrer = self.page, self._referrer
        self._seq += 1
        event = click_event(
            v.visitor_id, event_type, at_ms, event_id=f"{v.visitor_id}-e{self._seq:05d}",
            url=page.url, page_type=page.page_type, category=page.category,
            product_id=page.product_id, sector=v.sector, context=v.context(),
            session_hint=f"{v.visitor_id}-s1", **parts)
        event["page"]["referrer"] = referrer
        self._events.append((at_ms, self._seq, event))
        return event

    # -- clicks ----------------------------------------------------------------------------

    def _point(self) -> tuple[int, int]:
        width, height = VIEWPORTS.get(self.visitor.device, VIEWPORTS["desktop"])
        return self.rng.randint(8, width - 8), self.rng.randint(8, height - 8)

    def click(self, at_ms: int, target: str, *, interactive: bool,
              point: tuple[int, int] | None = None) -> dict[str, Any]:
        """A click on the current page.

        >>> tl = Timeline(_demo_visitor(), 1_700_000_000_000, random.Random(0),
        ...               SimulatorOptions())
        >>> _ = tl.visit(Page("https://shop.example/", "home"), 5_000, via="landing")
        >>> tl.click(tl.now, "#x", interactive=False, point=(3, 4))["click"]
        {'x': 3, 'y': 4, 'target': '#x', 'interactive': False}
        """
        x, y = point or self._point()
        return self.event("click", at_ms, click={"x": x, "y": y, "target": target,
                                                 "interactive": interactive})

    def action_click(self, at_ms: int, slot: str, action_id: str) -> dict[str, Any] | None:
        """The visitor clicks a rendered personalization action (on the page of ``at_ms``).

        >>> tl = Timeline(_demo_visitor(), 1_700_000_000_000, random.Random(0),
        ...               SimulatorOptions())
        >>> _ = tl.visit(Page("https://shop.example/", "home"), 5_000, via="landing")
        >>> tl.action_click(1_700_000_002_000, "hero", "cta_change")["click"]["target"]
        '#rtp-hero-cta_change'
        """
        found = self.page_at(at_ms)
        if found is None:
            return None
        page, referrer = found
        cx, cy = ACTION_TARGETS.get(slot, ACTION_TARGETS["inline"])
        width, height = VIEWPORTS.get(self.visitor.device, VIEWPORTS["desktop"])
        x = min(width - 1, max(0, cx * width // 1440 + self.rng.randint(-40, 40)))
        y = min(height - 1, max(0, cy + self.rng.randint(-20, 20)))
        return self.event("click", at_ms, page=page, referrer=referrer,
                          click={"x": x, "y": y, "target": f"#rtp-{slot}-{action_id}"[:128],
                                 "interactive": True})

    # -- page visits -----------------------------------------------------------------------

    def visit(self, page: Page, dwell_ms: int, *, via: str = "link", scroll_to: float | None = None,
              inner: Iterable[InnerEvent] = (), hesitate: bool = False,
              hover: tuple[int, int] | None = None) -> int:
        """Go to ``page`` and stay ``dwell_ms``; returns the page_view's event time.

        Parameters
        ----------
        via
            ``link`` (a click on the current page leads here), ``landing``,
            ``reload`` or ``back`` (no click).
        scroll_to
            Deepest scroll (%), default drawn from the latent intent.
        inner
            The page's own events, at offsets after the page_view (kept inside the visit).
        hesitate
            Make sure an event happens 31-33 s after the page_view (a visitor
            still reading), so dwell on the page is visible while they are there.
        hover
            Mouse samples drift towards this point (a button the visitor hesitates over).

        >>> tl = Timeline(_demo_visitor(), 1_700_000_000_000, random.Random(0),
        ...               SimulatorOptions())
        >>> _ = tl.visit(Page("https://shop.example/", "home"), 5_000, via="landing")
        >>> t = tl.visit(Page("https://shop.example/deals", "other"), 5_000)
        >>> events = tl.drain()
        >>> [e["event_type"] for e in events if e["event_time"] == t]
        ['page_view']
        >>> link = [e for e in events if e["event_type"] == "click" and e["event_time"] < t][-1]
        >>> link["click"]["target"], link["click"]["interactive"]
        ('a.nav-other', True)
        """
        rng = self.rng
        dwell_ms = max(int(dwell_ms), 3_000)
        if self.page is not None and via == "link":
            self.click(self.now, link_target(page), interactive=True)
            self.now += rng.randint(150, 600)
        if via == "landing":
            referrer = self.visitor.landing_referrer if self.page is None else None
        elif via == "reload":
            referrer = self._referrer
        else:
            referrer = self.page.url if self.page is not None else None
        self.page, self._referrer, self._depth = page, referrer, 0.0
        start = self.now
        end = start + dwell_ms
        self.event("page_view", start)
        self._pages.append((start, page, referrer))
        for offset, event_type, parts in inner:
            self.event(event_type, min(start + max(offset, 1), end - 200), **parts)
        self._scrolls(start, end, scroll_to)
        self._mouse(start, end, hover)
        if hesitate and dwell_ms >= 34_000:
            at = start + rng.randint(31_000, 33_000)
            if self.visitor.device == "desktop":
                self._mouse_event(at, hover)
            else:
                self._scroll_event(at, min(100.0, self._depth + rng.uniform(2.0, 10.0)))
        self._incidents(start, end)
        if rng.random() < 0.3:
            self.click(rng.randint(start + 600, end - 600), rng.choice(button_targets(
                page.page_type)), interactive=True)
        self.now = end
        return start

    def refresh(self, dwell_ms: int, listing: str) -> int:
        """Refresh the current listing: a ``listing_refresh`` event, then the page reloads.

        Returns the refresh event's time.

        >>> tl = Timeline(_demo_visitor(), 1_700_000_000_000, random.Random(0),
        ...               SimulatorOptions())
        >>> _ = tl.visit(Page("https://travel.example/hotels/lisbon/alfama", "listing",
        ...                   "lisbon-alfama"), 5_000, via="landing")
        >>> at = tl.refresh(10_000, "lisbon-alfama")
        >>> [e["event_type"] for e in tl.drain() if e["event_time"] >= at][:2]
        ['custom', 'page_view']
        """
        if self.page is None:
            raise SimulationError("nothing to refresh: the visitor is on no page")
        at = self.now
        # The site's live inventory rides along (the "only N rooms left" cue needs it); derived
        # from the listing and time, not the random stream, so seeded runs stay as they were.
        rooms_left = 1 + zlib.crc32(f"{listing}:{at // 60_000}".encode()) % 4
        self.event("custom", at, custom={"name": "listing_refresh", "properties": {
            "listing": listing, "sort": "price", "rooms_left": str(rooms_left)}})
        self.now += self.rng.randint(300, 900)
        self.visit(self.page, dwell_ms, via="reload")
        return at

    def _scrolls(self, start: int, end: int, scroll_to: float | None) -> None:
        rng = self.rng
        if scroll_to is None:
            scroll_to = rng.uniform(*_SCROLL_REACH.get(self.visitor.intent, (20.0, 80.0)))
        steps = rng.randint(1, 3 if self.visitor.device == "desktop" else 4)
        times = sorted(rng.randint(start + 800, max(start + 801, end - 500)) for _ in range(steps))
        for i, at in enumerate(times, start=1):
            self._scroll_event(at, scroll_to * i / steps)

    def _scroll_event(self, at: int, depth: float) -> None:
        self._depth = max(self._depth, min(100.0, round(depth, 1)))
        self.event("scroll", at, scroll={"depth_pct": self._depth})

    def _mouse(self, start: int, end: int, hover: tuple[int, int] | None) -> None:
        if self.visitor.device != "desktop":
            return
        rng, every = self.rng, self.options.mouse_sample_ms
        at = start + rng.randint(600, every)
        while at < end - 500:
            if rng.random() < 0.8:
                self._mouse_event(at, hover)
            at += rng.randint(every * 6 // 10, every * 14 // 10)

    def _mouse_event(self, at: int, hover: tuple[int, int] | None) -> None:
        rng = self.rng
        width, height = VIEWPORTS["desktop"]
        x, y = self._point()
        dt, samples = 0, []
        for _ in range(rng.randint(4, 8)):
            if hover is not None:
                x += (hover[0] - x) // 3 + rng.randint(-6, 6)
                y += (hover[1] - y) // 3 + rng.randint(-6, 6)
            else:
                x += rng.randint(-60, 60)
                y += rng.randint(-40, 40)
            x, y = min(width - 1, max(0, x)), min(height - 1, max(0, y))
            samples.append({"x": x, "y": y, "dt_ms": dt})
            dt += rng.randint(30, 150)
        self.event("mouse_move", at, mouse={"samples": samples})

    def _incidents(self, start: int, end: int) -> None:
        rng, opts = self.rng, self.options
        page = self.page
        if page is None or end - start < 4_000:
            return
        frustration = self.visitor.persona.frustration
        if rng.random() < opts.dead_click_rate * frustration:
            at = rng.randint(start + 500, end - 1_600)
            self.click(at, rng.choice(static_targets(page.page_type)), interactive=False)
        if rng.random() < opts.rage_click_rate * frustration:
            at = rng.randint(start + 500, end - 1_600)
            target = rng.choice(stuck_targets())
            x0, y0 = self._point()
            for _ in range(rng.randint(3, 5)):
                point = (max(0, x0 + rng.randint(-6, 6)), max(0, y0 + rng.randint(-6, 6)))
                self.click(at, target, interactive=True, point=point)
                at += rng.randint(100, 220)


def _demo_visitor() -> VisitorProfile:
    """A fixed visitor for this module's examples.

    >>> _demo_visitor().visitor_id
    'sim-demo'
    """
    from pipeline.sim.visitor import draw_visitor

    return draw_visitor(random.Random(0), "sim-demo", "shop_browser")
