"""Guardrails: declarative rules applied before the bandit; each removes actions and says why.

Order (see :func:`default_guardrails`): consent (halts: no decision at all), compliance
zones, purchase suppression, frequency caps, dismissed-this-session, one overlay per session.
``no_action`` is never removed. Each removal is logged as ``"<guardrail>:<action_id>"``.

>>> from pipeline.decide.catalog import Action
>>> from pipeline.decide.context import DecisionContext
>>> actions = (Action(id="no_action", slot="none"),
...            Action(id="first_time_buyer_discount", slot="overlay", ttl_seconds=60,
...                   offer=True, first_time_buyer_offer=True))
>>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=True,
...                       purchased_ever=True)
>>> verdict = apply_guardrails(default_guardrails(GuardrailOptions()), ctx, actions)
>>> [a.id for a in verdict.kept], verdict.fired
(['no_action'], ('purchase_suppression:first_time_buyer_discount',))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from pipeline.decide.catalog import Action
from pipeline.decide.context import DecisionContext
from pipeline.frozen import maker

__all__ = [
    "ComplianceZone",
    "ComplianceZoneGuardrail",
    "ConsentGuardrail",
    "DismissedGuardrail",
    "FrequencyCapGuardrail",
    "Guardrail",
    "GuardrailOptions",
    "GuardrailResult",
    "GuardrailVerdict",
    "OverlayGuardrail",
    "PurchaseSuppressionGuardrail",
    "apply_guardrails",
    "default_guardrails",
]


@dataclass(frozen=True)
class GuardrailResult:
    """What one guardrail did: the action ids it removes, and whether it halts the decision.

    >>> GuardrailResult("consent", frozenset(), halt=True).halt
    True
    """

    name: str
    removed: frozenset[str] = frozenset()
    halt: bool = False


class Guardrail(Protocol):
    """A rule: ``name`` for the log, ``apply`` returns what it removes from ``candidates``.

    Any object with these two members is a guardrail (pass a list to ``Decider``).

    >>> class NoOverlaysOnMobile:
    ...     name = "no_overlays_on_mobile"
    ...     def apply(self, ctx, candidates):
    ...         mobile = ctx.categorical.get("device") == "mobile"
    ...         return GuardrailResult(self.name, frozenset(
    ...             a.id for a in candidates if mobile and a.slot == "overlay"))
    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {"device": "mobile"},
    ...                       consent=True)
    >>> overlay = Action(id="nudge", slot="overlay", ttl_seconds=60)
    >>> apply_guardrails([NoOverlaysOnMobile()], ctx, [overlay]).fired
    ('no_overlays_on_mobile:nudge',)
    """

    @property
    def name(self) -> str:
        """Name used in ``guardrails_fired``."""
        ...

    def apply(self, ctx: DecisionContext, candidates: Sequence[Action]) -> GuardrailResult:
        """Decide which candidates to remove."""
        ...


@lru_cache(maxsize=256)
def _nothing(name: str, halt: bool = False) -> GuardrailResult:
    """The result that removes nothing (immutable: one per name, shared by every decision).

    >>> _nothing("consent") is _nothing("consent"), _nothing("consent", True).halt
    (True, True)
    """
    return GuardrailResult(name, halt=halt)


def _remove(
    name: str, candidates: Sequence[Action], predicate: Callable[[Action], bool]
) -> GuardrailResult:
    return GuardrailResult(
        name, frozenset(a.id for a in candidates if not a.is_no_action and predicate(a))
    )


@dataclass(frozen=True)
class ConsentGuardrail:
    """Opted-out visitors get no decision at all (the decision halts, nothing is logged).

    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=False)
    >>> ConsentGuardrail().apply(ctx, ()).halt
    True
    """

    name: str = "consent"

    def apply(self, ctx: DecisionContext, candidates: Sequence[Action]) -> GuardrailResult:
        """Halt without consent."""
        return _nothing(self.name, not ctx.consent)


@dataclass(frozen=True)
class ComplianceZone:
    """Pages where no offers are allowed (regulated finance or health pages).

    A page is in the zone when it matches every non-empty criterion: sector, page type,
    category (``categorical["category"]``).

    >>> zone = ComplianceZone("finance_applications", sectors=frozenset({"finance"}),
    ...                       page_types=frozenset({"eligibility"}))
    >>> zone.contains({"sector": "finance", "page_type": "eligibility"})
    True
    >>> zone.contains({"sector": "finance", "page_type": "home"})
    False
    """

    name: str
    sectors: frozenset[str] = frozenset()
    page_types: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    def contains(self, categorical: Mapping[str, str]) -> bool:
        """Whether the current page is in this zone.

        >>> ComplianceZone("health", categories=frozenset({"pharmacy"})).contains(
        ...     {"category": "pharmacy"})
        True
        """
        sectors, page_types, categories = self.sectors, self.page_types, self.categories
        if not (sectors or page_types or categories):
            return False
        return (
            (not sectors or categorical.get("sector", "unknown") in sectors)
            and (not page_types or categorical.get("page_type", "unknown") in page_types)
            and (not categories or categorical.get("category", "none") in categories)
        )


def _default_zones() -> tuple[ComplianceZone, ...]:
    return (
        ComplianceZone(
            "finance_applications",
            sectors=frozenset({"finance"}),
            page_types=frozenset({"eligibility", "calculator", "checkout", "signup"}),
        ),
        ComplianceZone(
            "health_categories", categories=frozenset({"health", "pharmacy", "medical"})
        ),
    )


@dataclass(frozen=True)
class GuardrailOptions:
    """Configuration of the default guardrails.

    Parameters
    ----------
    compliance_zones
        Where no offers are allowed (default: finance application pages and health
        categories).
    compliance_blocks_all
        In a zone, remove every action (not only offers); default False: assistance such as
        the one-click eligibility check stays allowed.
    max_actions_per_session / max_actions_per_visitor
        Global caps on deliveries (any action), on top of each action's own caps
        (default 6 per session, no visitor-wide cap).

    >>> [zone.name for zone in GuardrailOptions().compliance_zones]
    ['finance_applications', 'health_categories']
    >>> GuardrailOptions(max_actions_per_session=-1)
    Traceback (most recent call last):
    ...
    ValueError: max_actions_per_session: must not be negative (got -1)
    """

    compliance_zones: tuple[ComplianceZone, ...] = field(default_factory=_default_zones)
    compliance_blocks_all: bool = False
    max_actions_per_session: int | None = 6
    max_actions_per_visitor: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_actions_per_session", "max_actions_per_visitor"):
            cap = getattr(self, name)
            if cap is not None and cap < 0:
                raise ValueError(f"{name}: must not be negative (got {cap})")


@dataclass(frozen=True)
class ComplianceZoneGuardrail:
    """No offers (or nothing, with ``blocks_all``) on pages inside a compliance zone.

    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {},
    ...     {"sector": "finance", "page_type": "eligibility"}, consent=True)
    >>> offer = Action(id="cashback", slot="hero", ttl_seconds=60, offer=True)
    >>> ComplianceZoneGuardrail(GuardrailOptions().compliance_zones).apply(ctx, [offer]).removed
    frozenset({'cashback'})
    """

    zones: tuple[ComplianceZone, ...]
    blocks_all: bool = False
    name: str = "compliance_zone"

    def apply(self, ctx: DecisionContext, candidates: Sequence[Action]) -> GuardrailResult:
        """Remove offers inside a zone."""
        categorical = ctx.categorical
        for zone in self.zones:  # a loop, not any(generator): most pages are in no zone
            if zone.contains(categorical):
                return _remove(self.name, candidates, lambda a: self.blocks_all or a.offer)
        return _nothing(self.name)


@dataclass(frozen=True)
class PurchaseSuppressionGuardrail:
    """No first-time-buyer offer to anyone who purchased, on any device.

    Purchased means: ``purchased_ever`` (stitched profile), ``past_purchases`` > 0 or
    ``converted`` this session.

    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {"converted": 1.0}, {}, consent=True)
    >>> welcome = Action(id="welcome", slot="overlay", ttl_seconds=60, first_time_buyer_offer=True)
    >>> PurchaseSuppressionGuardrail().apply(ctx, [welcome]).removed
    frozenset({'welcome'})
    """

    name: str = "purchase_suppression"

    def apply(self, ctx: DecisionContext, candidates: Sequence[Action]) -> GuardrailResult:
        """Remove first-time-buyer offers for buyers."""
        bought = (
            ctx.purchased_ever
            or ctx.numeric.get("past_purchases", 0.0) > 0.0
            or ctx.numeric.get("converted", 0.0) > 0.0
        )
        if not bought:
            return _nothing(self.name)
        return _remove(self.name, candidates, lambda a: a.first_time_buyer_offer)


@dataclass(frozen=True)
class FrequencyCapGuardrail:
    """Per-action caps (catalog ``caps``) and global caps per session / visitor.

    >>> from pipeline.decide.catalog import FrequencyCaps
    >>> from pipeline.decide.history import DecisionHistory
    >>> history = DecisionHistory().with_delivered("s", "d1", "hero_x", "hero")
    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=True, history=history)
    >>> capped = Action(id="hero_x", slot="hero", ttl_seconds=60, caps=FrequencyCaps(per_session=1))
    >>> FrequencyCapGuardrail().apply(ctx, [capped]).removed
    frozenset({'hero_x'})
    """

    max_per_session: int | None = None
    max_per_visitor: int | None = None
    name: str = "frequency_cap"

    def apply(self, ctx: DecisionContext, candidates: Sequence[Action]) -> GuardrailResult:
        """Remove actions that reached a cap."""
        history = ctx.history.for_session(ctx.session_id)
        if (
            self.max_per_session is not None and history.total_session >= self.max_per_session
        ) or (
            self.max_per_visitor is not None and history.total_visitor >= self.max_per_visitor
        ):
            return _remove(self.name, candidates, lambda _action: True)
        # Each action's own caps, in one loop (no closure, no generator per decision); the
        # counts as history.shown_in_session / shown_to_visitor read them.
        shown_session, shown_visitor = history.shown_session, history.shown_visitor
        removed: list[str] = []
        for action in candidates:
            if action.is_no_action:
                continue
            caps = action.caps
            per_session, per_visitor = caps.per_session, caps.per_visitor
            if (
                per_session is not None and shown_session.get(action.id, 0) >= per_session
            ) or (per_visitor is not None and shown_visitor.get(action.id, 0) >= per_visitor):
                removed.append(action.id)
        if not removed:  # the usual case: one shared result
            return _nothing(self.name)
        return GuardrailResult(self.name, frozenset(removed))


@dataclass(frozen=True)
class DismissedGuardrail:
    """Never re-show an action the visitor dismissed in this session.

    >>> from pipeline.decide.history import DecisionHistory
    >>> history = DecisionHistory(session_id="s", dismissed_session=frozenset({"cta_change"}))
    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=True, history=history)
    >>> DismissedGuardrail().apply(ctx, [Action(id="cta_change", slot="cta")]).removed
    frozenset({'cta_change'})
    """

    name: str = "dismissed_this_session"

    def apply(self, ctx: DecisionContext, candidates: Sequence[Action]) -> GuardrailResult:
        """Remove dismissed actions."""
        dismissed = ctx.history.for_session(ctx.session_id).dismissed_session
        if not dismissed:  # the usual case: nothing to look for
            return _nothing(self.name)
        return _remove(self.name, candidates, lambda a: a.id in dismissed)


@dataclass(frozen=True)
class OverlayGuardrail:
    """At most one overlay per session, unless the previous overlay was dismissed.

    >>> from pipeline.decide.history import DecisionHistory
    >>> history = DecisionHistory().with_delivered("s", "d1", "nudge", "overlay")
    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=True, history=history)
    >>> other = Action(id="welcome", slot="overlay", ttl_seconds=60)
    >>> OverlayGuardrail().apply(ctx, [other]).removed
    frozenset({'welcome'})
    >>> dismissed = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=True,
    ...                             history=history.with_outcome("d1", "dismissed"))
    >>> OverlayGuardrail().apply(dismissed, [other]).removed
    frozenset()
    """

    name: str = "one_overlay_per_session"

    def apply(self, ctx: DecisionContext, candidates: Sequence[Action]) -> GuardrailResult:
        """Remove overlays once one is up and not dismissed."""
        history = ctx.history.for_session(ctx.session_id)
        if history.overlays_session == 0 or history.last_overlay_dismissed:
            return _nothing(self.name)
        return _remove(self.name, candidates, lambda a: a.slot == "overlay")


def default_guardrails(options: GuardrailOptions) -> tuple[Guardrail, ...]:
    """The standard guardrails, in evaluation order.

    >>> [g.name for g in default_guardrails(GuardrailOptions())][:2]
    ['consent', 'compliance_zone']
    """
    return (
        ConsentGuardrail(),
        ComplianceZoneGuardrail(options.compliance_zones, options.compliance_blocks_all),
        PurchaseSuppressionGuardrail(),
        FrequencyCapGuardrail(options.max_actions_per_session, options.max_actions_per_visitor),
        DismissedGuardrail(),
        OverlayGuardrail(),
    )


@dataclass(frozen=True)
class GuardrailVerdict:
    """The candidates left after all guardrails, what fired, and who halted (if any).

    >>> GuardrailVerdict(kept=(), fired=(), halted_by="consent").halted
    True
    """

    kept: tuple[Action, ...]
    fired: tuple[str, ...]
    halted_by: str | None = None

    @property
    def halted(self) -> bool:
        """Whether a guardrail stopped the decision entirely.

        >>> GuardrailVerdict(kept=(), fired=()).halted
        False
        """
        return self.halted_by is not None


def apply_guardrails(
    guardrails: Sequence[Guardrail], ctx: DecisionContext, candidates: Sequence[Action]
) -> GuardrailVerdict:
    """Run ``guardrails`` in order; each sees what the previous ones kept.

    ``no_action`` always survives (a guardrail cannot remove it).

    >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=False)
    >>> apply_guardrails(default_guardrails(GuardrailOptions()), ctx, ()).halted_by
    'consent'
    """
    kept = list(candidates)
    fired: list[str] = []
    for guardrail in guardrails:
        result = guardrail.apply(ctx, kept)
        if result.halt:
            return GuardrailVerdict(kept=(), fired=(*fired, result.name), halted_by=result.name)
        removed = result.removed
        if not removed:
            continue
        fired.extend(
            f"{result.name}:{a.id}" for a in kept if a.id in removed and not a.is_no_action
        )
        kept = [a for a in kept if a.is_no_action or a.id not in removed]
    return _new_verdict(tuple(kept), tuple(fired), None)  # GuardrailVerdict(kept, fired)


#: Positional constructors (every field, in order: :mod:`pipeline.frozen`), for the hot path.
_new_verdict = maker(GuardrailVerdict)
