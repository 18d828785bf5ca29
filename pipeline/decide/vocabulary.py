"""The fixed names decisions are made from: sectors, page types, slots, signals, features.

They mirror the Avro contracts and the session-feature contract; the catalog is validated
against them so a typo in YAML fails at load time, with its line, not silently at run time.

>>> "shipping_returns" in PAGE_TYPES and "overlay" in SLOTS
True
>>> NO_ACTION_ID
'no_action'
"""

from __future__ import annotations

from pipeline.intent.options import INTENT_CLASSES

# One source of truth for the contract's names: the sessions and signals packages.
from pipeline.sessions.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from pipeline.sessions.pages import PAGE_TYPES
from pipeline.signals.rules import STRUGGLE_RULES as SIGNAL_RULES

__all__ = [
    "CATEGORICAL_FEATURES",
    "CHANNELS",
    "CHANNEL_SLOTS",
    "EVENT_TYPES",
    "INTENT_CLASSES",
    "NO_ACTION_ID",
    "NUMERIC_FEATURES",
    "PAGE_TYPES",
    "SECTORS",
    "SIGNAL_RULES",
    "SLOTS",
]

NO_ACTION_ID = "no_action"
"""The explicit "do nothing" arm: always eligible, logged, never sent."""

SECTORS: tuple[str, ...] = ("ecommerce", "saas", "travel", "finance")
"""Sites the events come from (ClickEvent.context.sector)."""


SLOTS: tuple[str, ...] = ("hero", "overlay", "grid", "cta", "inline", "message", "none")
"""Where an action renders (Decision.slot): on a page, or ``message`` (an email or an SMS);
``none`` is for ``no_action``."""

CHANNELS: tuple[str, ...] = ("web", "app", "email", "sms")
"""Where an action is delivered (Decision.channel, v2; a catalog action's ``channel``).
web and app are served by ``rtp delivery``; email and sms are sent by ``rtp channel``."""

CHANNEL_SLOTS: dict[str, tuple[str, ...]] = {
    "web": ("hero", "overlay", "grid", "cta", "inline"),
    "app": ("hero", "overlay", "grid", "cta", "inline"),
    "email": ("message",),
    "sms": ("message",),
}
"""The slots each channel has.

>>> CHANNEL_SLOTS["email"], "overlay" in CHANNEL_SLOTS["app"]
(('message',), True)
"""


EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "click",
    "scroll",
    "mouse_move",
    "search",
    "add_to_cart",
    "purchase",
    "form_error",
    "form_submit",
    "custom",
)
"""ClickEvent.event_type values."""


