"""Options of the simulator, as frozen dataclasses with documented defaults.

>>> opts = SimulatorOptions(seed=3, visitors_per_minute=12.0)
>>> opts.seed, opts.sector_weights()["ecommerce"]
(3, 0.4)
>>> SimulatorOptions(drift_after_ms=60_000)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pipeline.sim.errors.InvalidSimulationOptions: drift_after_ms needs world='contextual' ...
>>> SimulatorOptions(visitors_per_minute=0)
Traceback (most recent call last):
...
pipeline.sim.errors.InvalidSimulationOptions: visitors_per_minute must be positive (got 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.sim.errors import InvalidSimulationOptions
from pipeline.sim.personas import PERSONA_NAMES
from pipeline.sim.vocabulary import SECTORS, WORLDS

__all__ = ["RewardWeights", "SimulatorOptions"]


@dataclass(frozen=True, slots=True)
class RewardWeights:
    """How outcomes add up to a decision's reward, as in rtp's feedback.

    The defaults are the engine's (:class:`~pipeline.feedback.RewardOptions`, what a worker
    without a config file learns from), so the oracle of ``rtp demo`` and ``rtp simulate``
    scores the policy by the reward it is given; the dismissal counted 0 here until it was
    found to differ from the engine's -0.5.

    Attributes
    ----------
    clicked
        Reward of a click on the shown action (1).
    converted
        Reward of a conversion attributed to the decision (1).
    dismissed
        Reward of a dismissal (-0.5: an annoyance).

    >>> RewardWeights().reward(clicked=True, converted=True, dismissed=False)
    2.0
    >>> RewardWeights().reward(False, False, True)
    -0.5
    """

    clicked: float = 1.0
    converted: float = 1.0
    dismissed: float = -0.5

    def reward(self, clicked: bool, converted: bool, dismissed: bool) -> float:
        """The reward of one decision's outcomes.

        >>> RewardWeights(clicked=2.0).reward(True, False, False)
        2.0
        """
        return (self.clicked * float(clicked) + self.converted * float(converted)
                + self.dismissed * float(dismissed))


def _check_mix(name: str, mix: tuple[tuple[str, float], ...], known: tuple[str, ...]) -> None:
    for key, weight in mix:
        if key not in known:
            raise InvalidSimulationOptions(f"{name} names unknown {key!r}; known: {list(known)}")
        if not weight >= 0:
            raise InvalidSimulationOptions(f"{name} weight of {key!r} must be >= 0 (got {weight})")


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """Everything that shapes a simulation run; the same options and seed give the same run.

    Attributes
    ----------
    seed
        Seed of every random draw (arrivals, visitors, journeys, reactions).
    visitors_per_minute
        Mean arrival rate of new visitors (Poisson arrivals in event time), 30.
    sector_mix
        ``(sector, weight)`` pairs: which site a new visitor comes to. Default
        40% e-commerce, 20% each SaaS, travel, finance.
    persona_mix
        ``(persona name, weight)`` pairs; when non-empty it replaces ``sector_mix``
        and each persona's default share (e.g. only headphone shoppers).
    session_pages
        Session length: browsing page views drawn uniformly from this range
        (inclusive) (4..10). A struggling persona's pattern adds its own pages and
        keeps only about a third of this browsing around it.
    response_strength
        Multiplies every conversion lift of the response model (1; 0 means no
        action changes conversion, clicks still happen).
    rage_click_rate
        Chance that a page visit holds a rage-click burst (3-5 clicks within
        1 s within 30 px on an unresponsive control), 0.015: about one session
        in seven has one.
    dead_click_rate
        Chance that a page visit holds a dead click (a non-interactive element,
        no navigation within 1.5 s), 0.04.
    mouse_sample_ms
        About one sampled mouse_move event per this much dwell on desktop (5 s).
    returning_share
        Share of visitors who have been to the site before (30%).
    reaction_delay_ms
        A click or dismissal happens this long after the action is shown
        (uniform, inclusive), 1.5..8 s.
    ignore_after_ms
        An action neither clicked nor dismissed is reported ignored this long
        after it was shown (15 s).
    weights
        Reward weights of the oracle's ledger.
    world
        The response model: ``"classic"`` (default; an action's effect depends on the
        sector, the visible struggle and the intent) or ``"contextual"`` (it also depends
        on the visitor's device and traffic source, so the best action differs between
        visitors a static rule cannot tell apart; :mod:`pipeline.sim.contextual`).
    drift_after_ms
        Contextual world only: this long after :meth:`Simulator.start` (event time) the
        responses drift (``None``, default: never): campaign visitors have seen the
        first-order discount too often, so it puts them off like everyone else, and free
        express shipping is what converts them now (:mod:`pipeline.sim.contextual`). What
        was learned before stops being right for that segment; a learner must notice.
    id_prefix
        Start of every visitor id (``{id_prefix}-s{seed}-v{n}``), so runs sharing
        topics do not collide.

    >>> SimulatorOptions(sector_mix=(("travel", 1.0),)).sector_weights()
    {'travel': 1.0}
    """

    seed: int = 0
    visitors_per_minute: float = 30.0
    sector_mix: tuple[tuple[str, float], ...] = (
        ("ecommerce", 0.4), ("saas", 0.2), ("travel", 0.2), ("finance", 0.2),
    )
    persona_mix: tuple[tuple[str, float], ...] = ()
    session_pages: tuple[int, int] = (4, 10)
    response_strength: float = 1.0
    rage_click_rate: float = 0.015
    dead_click_rate: float = 0.04
    mouse_sample_ms: int = 5_000
    returning_share: float = 0.3
    reaction_delay_ms: tuple[int, int] = (1_500, 8_000)
    ignore_after_ms: int = 15_000
    weights: RewardWeights = field(default_factory=RewardWeights)
    id_prefix: str = "sim"
    world: str = "classic"
    drift_after_ms: int | None = None

    def __post_init__(self) -> None:
        if not self.visitors_per_minute > 0:
            raise InvalidSimulationOptions(
                f"visitors_per_minute must be positive (got {self.visitors_per_minute})")
        _check_mix("sector_mix", self.sector_mix, SECTORS)
        _check_mix("persona_mix", self.persona_mix, PERSONA_NAMES)
        mix = self.persona_mix or self.sector_mix
        if sum(w for _, w in mix) <= 0:
            raise InvalidSimulationOptions("the visitor mix needs at least one positive weight")
        lo, hi = self.session_pages
        if not 1 <= lo <= hi:
            raise InvalidSimulationOptions(
                f"session_pages must be a range 1 <= low <= high (got {self.session_pages})")
        if not self.response_strength >= 0:
            raise InvalidSimulationOptions(
                f"response_strength must be >= 0 (got {self.response_strength})")
        for name in ("rage_click_rate", "dead_click_rate", "returning_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InvalidSimulationOptions(f"{name} must be within 0..1 (got {value})")
        if self.mouse_sample_ms < 500:
            raise InvalidSimulationOptions(
                f"mouse_sample_ms must be >= 500 (got {self.mouse_sample_ms})")
        lo, hi = self.reaction_delay_ms
        if not 0 <= lo <= hi:
            raise InvalidSimulationOptions(
                "reaction_delay_ms must be a range 0 <= low <= high "
                f"(got {self.reaction_delay_ms})")
        if self.ignore_after_ms < 0:
            raise InvalidSimulationOptions(
                f"ignore_after_ms must be >= 0 (got {self.ignore_after_ms})")
        if self.world not in WORLDS:
            raise InvalidSimulationOptions(
                f"world must be one of {', '.join(WORLDS)} (got {self.world!r})")
        if self.drift_after_ms is not None:
            if self.world != "contextual":
                raise InvalidSimulationOptions(
                    f"drift_after_ms needs world='contextual' (got {self.world!r})")
            if self.drift_after_ms < 0:
                raise InvalidSimulationOptions(
                    f"drift_after_ms must be >= 0 (got {self.drift_after_ms})")
        if not self.id_prefix or not self.id_prefix.strip():
            raise InvalidSimulationOptions("id_prefix must not be empty")

    def sector_weights(self) -> dict[str, float]:
        """``sector_mix`` as a dict (sectors with weight 0 dropped).

        >>> SimulatorOptions(sector_mix=(("saas", 1.0), ("finance", 0.0))).sector_weights()
        {'saas': 1.0}
        """
        return {s: w for s, w in self.sector_mix if w > 0}
