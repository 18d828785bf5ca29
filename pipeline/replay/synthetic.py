"""Seeded synthetic decision logs whose true policy values are known exactly.

The world (fixed by ``world_seed``): visitors have a segment and a device (which
drive rewards), a traffic source, a sector and per-decision intent class (which
do not). The probability that a served action is clicked is

``mu(segment, device, action) = sigmoid(alpha[action] + beta[action][segment]
+ gamma[action][device])``

with ``alpha ~ N(base_logit, 0.5)`` (``base_logit = -2`` by default, click
rates around 10%), ``beta ~ N(0, 0.7)``, ``gamma ~ N(0, 0.5)`` drawn from
``world_seed``, except ``alpha`` of the ``default_action`` which is
``base_logit - 1`` (doing nothing is the weakest option, so personalization has
lift to find). A
click converts with ``conversion_given_click``; an order is worth
``mean_order_value * Gamma(2, 0.5)`` (mean ``mean_order_value``).

The logging policy is epsilon-greedy around a noisy belief of ``mu`` (also from
``world_seed``): the believed-best eligible action gets ``1 - eps + eps/k``, each
other eligible action ``eps/k`` - so propensities vary and are all positive.
Actions in ``mobile_ineligible`` are not eligible on mobile (a guardrail).

Visitors in the control group (``control_share``) are logged with
``served=False``; their clicks and conversions come from the default experience
(``mu`` of ``default_action``) whatever action was logged. Served decisions get
a ``shown`` outcome, then ``clicked`` or ``ignored``, then maybe ``converted``.

:meth:`SyntheticLog.true_value` computes a target policy's exact expected
reward per served decision by enumerating every context cell with its
probability (exact for policies that read only categorical features, the
intent class and ``pages_seen == 1``; with several decisions per visitor,
policies reading ``pages_seen`` are evaluated at 1).

>>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=10, seed=1))
>>> len(syn.logs), syn.logs[0]["decision"]["policy"]
(10, 'synthetic_epsilon_greedy')
>>> from pipeline.replay.policies import uniform_policy
>>> 0.0 < syn.true_value(uniform_policy) < 1.0
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.replay.errors import InvalidOptions
from pipeline.replay.join import JoinedRow, RewardWeights
from pipeline.replay.policies import TargetPolicy

__all__ = ["SyntheticLog", "SyntheticOptions", "SyntheticWorld", "generate_synthetic_log"]

Categorical = tuple[tuple[str, float], ...]

_SLOTS = {"banner": "hero", "overlay": "overlay", "grid": "grid", "cta": "cta", "none": "none"}


@dataclass(frozen=True)
class SyntheticOptions:
    """Size, seed and shape of a synthetic log (see the module docstring).

    >>> SyntheticOptions().actions
    ('banner', 'overlay', 'grid', 'cta', 'none')
    """

    n_visitors: int = 500
    decisions_per_visitor: tuple[int, int] = (1, 1)
    actions: tuple[str, ...] = ("banner", "overlay", "grid", "cta", "none")
    default_action: str = "none"
    mobile_ineligible: tuple[str, ...] = ("overlay",)
    epsilon: float = 0.4
    control_share: float = 0.0
    base_logit: float = -2.0
    conversion_given_click: float = 0.3
    mean_order_value: float = 60.0
    seed: int = 0
    world_seed: int = 7
    start_ms: int = 1_700_000_000_000
    duration_ms: int = 7 * 86_400_000
    segments: Categorical = (("new", 0.5), ("returning", 0.3), ("loyal", 0.2))
    devices: Categorical = (("desktop", 0.55), ("mobile", 0.35), ("tablet", 0.10))
    traffic_sources: Categorical = (
        ("direct", 0.4), ("search", 0.3), ("social", 0.2), ("email", 0.1)
    )
    sectors: Categorical = (("ecommerce", 0.7), ("saas", 0.3))
    intents: Categorical = (("browsing", 0.6), ("comparing", 0.25), ("buying", 0.15))

    def check(self) -> None:
        """Raise :class:`~pipeline.replay.errors.InvalidOptions` when inconsistent.

        >>> SyntheticOptions(epsilon=0.0).check()
        Traceback (most recent call last):
        ...
        pipeline.replay.errors.InvalidOptions: epsilon must be in (0, 1], got 0.0
        """
        if not 0.0 < self.epsilon <= 1.0:
            raise InvalidOptions(f"epsilon must be in (0, 1], got {self.epsilon}")
        if self.default_action not in self.actions:
            raise InvalidOptions(f"default_action {self.default_action!r} is not in actions")
        if not 0.0 <= self.control_share < 1.0:
            raise InvalidOptions(f"control_share must be in [0, 1), got {self.control_share}")
        low, high = self.decisions_per_visitor
        if not 1 <= low <= high:
            raise InvalidOptions(f"decisions_per_visitor must be 1 <= low <= high, got {low, high}")
        if self.n_visitors < 0:
            raise InvalidOptions(f"n_visitors must be >= 0, got {self.n_visitors}")
        for name in ("segments", "devices", "traffic_sources", "sectors", "intents"):
            probs = [p for _, p in getattr(self, name)]
            if abs(sum(probs) - 1.0) > 1e-9 or min(probs) < 0.0:
                raise InvalidOptions(f"{name} probabilities must sum to 1")


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class SyntheticWorld:
    """The fixed reward function and logging policy drawn from ``world_seed``.

    >>> world = SyntheticWorld(SyntheticOptions())
    >>> world.eligible("mobile")
    ('banner', 'grid', 'cta', 'none')
    >>> round(sum(world.logging_distribution("new", "desktop").values()), 12)
    1.0
    """

    def __init__(self, options: SyntheticOptions) -> None:
        options.check()
        self.options = options
        rng = np.random.default_rng(options.world_seed)
        segments = [s for s, _ in options.segments]
        devices = [d for d, _ in options.devices]
        self._logit: dict[tuple[str, str, str], float] = {}
        self._belief: dict[tuple[str, str, str], float] = {}
        self._logging: dict[tuple[str, str], dict[str, float]] = {}
        for action in options.actions:
            alpha = (
                options.base_logit - 1.0
                if action == options.default_action
                else float(rng.normal(options.base_logit, 0.5))
            )
            beta = {s: float(rng.normal(0.0, 0.7)) for s in segments}
            gamma = {d: float(rng.normal(0.0, 0.5)) for d in devices}
            for s in segments:
                for d in devices:
                    z = alpha + beta[s] + gamma[d]
                    self._logit[(s, d, action)] = z
                    self._belief[(s, d, action)] = z + float(rng.normal(0.0, 0.8))

    def click_probability(self, segment: str, device: str, action: str) -> float:
        """``mu(segment, device, action)``: probability a served action is clicked.

        >>> 0.0 < SyntheticWorld(SyntheticOptions()).click_probability("new", "mobile", "grid") < 1
        True
        """
        return _sigmoid(self._logit[(segment, device, action)])

    def belief(self, segment: str, device: str, action: str) -> float:
        """The logging policy's (noisy) score of an action, logged as the eligible ``score``."""
        return self._belief[(segment, device, action)]

    def eligible(self, device: str) -> tuple[str, ...]:
        """Actions the guardrails allow on ``device``."""
        if device == "mobile":
            return tuple(a for a in self.options.actions if a not in self.options.mobile_ineligible)
        return self.options.actions

    def logging_distribution(self, segment: str, device: str) -> dict[str, float]:
        """Epsilon-greedy distribution of the logging policy over the eligible actions."""
        cached = self._logging.get((segment, device))
        if cached is None:
            eligible = self.eligible(device)
            eps = self.options.epsilon
            best = max(eligible, key=lambda a: self._belief[(segment, device, a)])
            k = len(eligible)
            cached = {a: (1.0 - eps + eps / k) if a == best else eps / k for a in eligible}
            self._logging[(segment, device)] = cached
        return dict(cached)


@dataclass(frozen=True)
class SyntheticLog:
    """Generated ``rtp.DecisionLog`` and ``rtp.Outcome`` dicts plus the world behind them.

    ``page_views`` maps each visitor to a page-view count (one per decision), in
    the shape :func:`pipeline.replay.report.build_report` accepts.

    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=3, seed=0))
    >>> sorted(syn.page_views.values())
    [1, 1, 1]
    """

    options: SyntheticOptions
    world: SyntheticWorld
    logs: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    page_views: dict[str, int] = field(default_factory=dict)

    def expected_reward(
        self, segment: str, device: str, action: str, weights: RewardWeights | None = None
    ) -> float:
        """Expected reward of serving ``action`` in a context, under ``weights``.

        >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=1))
        >>> mu = syn.world.click_probability("new", "desktop", "cta")
        >>> syn.expected_reward("new", "desktop", "cta") == mu
        True
        """
        w = weights or RewardWeights()
        mu = self.world.click_probability(segment, device, action)
        conv = self.options.conversion_given_click
        return mu * (w.clicked + conv * (w.converted + w.revenue * self.options.mean_order_value))

    def true_value(self, policy: TargetPolicy, weights: RewardWeights | None = None) -> float:
        """Exact expected reward per served decision if ``policy`` had chosen.

        >>> from pipeline.replay.policies import logged_policy, always_policy
        >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=1))
        >>> syn.true_value(always_policy("none")) < syn.true_value(logged_policy)
        True
        """
        o = self.options
        total = 0.0
        for (seg, p_seg), (dev, p_dev), (src, p_src), (sector, p_sec), (intent, p_int) in (
            itertools.product(o.segments, o.devices, o.traffic_sources, o.sectors, o.intents)
        ):
            prob = p_seg * p_dev * p_src * p_sec * p_int
            if prob == 0.0:
                continue
            dist = self.world.logging_distribution(seg, dev)
            first = next(iter(dist))
            row = JoinedRow(
                decision_id=f"truth:{seg}:{dev}:{src}:{sector}:{intent}",
                visitor_id="truth",
                session_id="truth",
                created_at=o.start_ms,
                action_id=first,
                propensity=dist[first],
                eligible=dist,
                numeric_features={"pages_seen": 1.0},
                categorical_features={
                    "segment": seg, "device": dev, "traffic_source": src, "sector": sector
                },
                intent_class=intent,
            )
            value = sum(
                p * self.expected_reward(seg, dev, a, weights) for a, p in policy(row).items()
            )
            total += prob * value
        return total


def _draw(rng: np.random.Generator, options: Categorical | Sequence[tuple[str, float]]) -> str:
    u = float(rng.random())
    cumulative = 0.0
    for value, p in options:
        cumulative += p
        if u < cumulative:
            return value
    return options[-1][0]


def _outcome(
    base: dict[str, str], kind: str, at: int, value: float = 0.0
) -> dict[str, Any]:
    return {
        "outcome_id": f"{base['decision_id']}:{kind}",
        "decision_id": base["decision_id"],
        "visitor_id": base["visitor_id"],
        "kind": kind,
        "value": value,
        "event_time": at,
    }


def generate_synthetic_log(options: SyntheticOptions | None = None) -> SyntheticLog:
    """Generate a seeded log (see the module docstring); same options, same log.

    >>> a = generate_synthetic_log(SyntheticOptions(n_visitors=20, seed=5))
    >>> b = generate_synthetic_log(SyntheticOptions(n_visitors=20, seed=5))
    >>> a.logs == b.logs and a.outcomes == b.outcomes
    True
    """
    o = options or SyntheticOptions()
    world = SyntheticWorld(o)
    rng = np.random.default_rng(o.seed)
    logs: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    page_views: dict[str, int] = {}
    low, high = o.decisions_per_visitor
    for i in range(o.n_visitors):
        visitor = f"v{o.seed}-{i:06d}"
        segment = _draw(rng, o.segments)
        device = _draw(rng, o.devices)
        source = _draw(rng, o.traffic_sources)
        sector = _draw(rng, o.sectors)
        control = bool(rng.random() < o.control_share)
        count = int(rng.integers(low, high + 1))
        page_views[visitor] = count
        times = np.sort(rng.integers(o.start_ms, o.start_ms + o.duration_ms, size=count))
        dist = world.logging_distribution(segment, device)
        actions = list(dist)
        choices = list(dist.items())
        for j in range(count):
            created = int(times[j])
            intent = _draw(rng, o.intents)
            action = _draw(rng, choices)
            decision_id = f"syn{o.seed}-{i:06d}-{j}"
            served = not control
            logs.append(
                {
                    "decision": {
                        "decision_id": decision_id,
                        "visitor_id": visitor,
                        "session_id": f"{visitor}-s{j // 3}",
                        "action_id": action,
                        "slot": _SLOTS.get(action, "inline"),
                        "payload": {},
                        "propensity": dist[action],
                        "policy": "synthetic_epsilon_greedy",
                        "policy_version": "1",
                        "model_version": f"world-{o.world_seed}",
                        "experiment_arm": "control" if control else "personalized",
                        "ttl_ms": 30_000,
                        "trigger_event_id": f"evt-{decision_id}",
                        "created_at": created,
                    },
                    "numeric_features": {"pages_seen": float(j + 1)},
                    "categorical_features": {
                        "segment": segment,
                        "device": device,
                        "traffic_source": source,
                        "sector": sector,
                    },
                    "eligible": [
                        {
                            "action_id": a,
                            "probability": dist[a],
                            "score": world.belief(segment, device, a),
                        }
                        for a in actions
                    ],
                    "guardrails_fired": (
                        ["mobile_ineligible"] if device == "mobile" and o.mobile_ineligible else []
                    ),
                    "intent_probability": float(rng.random()),
                    "intent_class": intent,
                    "served": served,
                    "control_share": o.control_share,
                }
            )
            shown_action = action if served else o.default_action
            clicked = bool(rng.random() < world.click_probability(segment, device, shown_action))
            converted = clicked and bool(rng.random() < o.conversion_given_click)
            revenue = float(o.mean_order_value * rng.gamma(2.0, 0.5)) if converted else 0.0

            base = {"decision_id": decision_id, "visitor_id": visitor}
            if served:
                outcomes.append(_outcome(base, "shown", created + 50))
            if clicked:
                outcomes.append(_outcome(base, "clicked", created + 2_000))
            elif served:
                outcomes.append(_outcome(base, "ignored", created + 30_000))
            if converted:
                outcomes.append(_outcome(base, "converted", created + 60_000, revenue))
    return SyntheticLog(o, world, logs, outcomes, page_views)
