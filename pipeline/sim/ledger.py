"""Running totals of the closed loop: reward obtained, expected and the oracle's; arm stats.

Per personalized decision the simulator knows, from the response model, the
expected reward of the chosen action and of the best candidate (the oracle).
The obtained reward is what actually happened: clicks, dismissals and
conversions attributed to the decision, weighted like rtp's feedback.

>>> from pipeline.sim.options import RewardWeights
>>> ledger = RewardLedger()
>>> ledger.record_decision(expected=0.3, oracle=0.5, matched=False)
>>> ledger.record_reaction("clicked", RewardWeights())
>>> ledger.obtained, round(ledger.regret, 2), round(ledger.expected_regret, 2)
(1.0, -0.5, 0.2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.replay.intervals import newcombe_difference
from pipeline.sim.options import RewardWeights

__all__ = ["ArmStats", "DecisionRecord", "RewardLedger", "VisitorOutcome", "ledger_of"]


@dataclass(slots=True)
class RewardLedger:
    """Reward totals over the personalized decisions scored so far.

    Attributes
    ----------
    decisions
        Personalized decisions shown to a visitor still browsing (scored).
    oracle_matches
        Of those, how many chose an action as good as the oracle's.
    expected
        Sum of the chosen actions' expected rewards.
    oracle
        Sum of the best candidate's expected reward at each decision.
    obtained
        Realized reward: weighted clicks, dismissals and attributed conversions
        (a conversion is counted when the purchase happens, at the session end).
    clicks, dismissals, ignored, conversions
        Outcome counts; ``conversions`` counts decisions credited with a conversion (one
        purchase may be credited to several decisions of the visitor).
    converted_visitors
        Visitors whose purchase was credited to at least one decision.
    revenue
        Value of those visitors' purchases (each purchase once).

    >>> RewardLedger().match_rate
    0.0
    """

    decisions: int = 0
    oracle_matches: int = 0
    expected: float = 0.0
    oracle: float = 0.0
    obtained: float = 0.0
    clicks: int = 0
    dismissals: int = 0
    ignored: int = 0
    conversions: int = 0
    converted_visitors: int = 0
    revenue: float = 0.0

    @property
    def regret(self) -> float:
        """Oracle reward minus obtained reward.

        >>> RewardLedger(oracle=3.0, obtained=1.0).regret
        2.0
        """
        return self.oracle - self.obtained

    @property
    def expected_regret(self) -> float:
        """Oracle reward minus the chosen actions' expected reward (no sampling noise).

        >>> RewardLedger(oracle=3.0, expected=2.5).expected_regret
        0.5
        """
        return self.oracle - self.expected

    @property
    def match_rate(self) -> float:
        """Share of decisions whose action was as good as the oracle's.

        >>> RewardLedger(decisions=4, oracle_matches=1).match_rate
        0.25
        """
        return self.oracle_matches / self.decisions if self.decisions else 0.0

    def record_decision(self, expected: float, oracle: float, matched: bool) -> None:
        """Score one shown decision.

        >>> led = RewardLedger(); led.record_decision(0.2, 0.2, True); led.oracle_matches
        1
        """
        self.decisions += 1
        self.oracle_matches += int(matched)
        self.expected += expected
        self.oracle += oracle

    def record_reaction(self, kind: str, weights: RewardWeights) -> None:
        """Count a clicked, dismissed or ignored outcome (and its reward).

        >>> led = RewardLedger(); led.record_reaction("dismissed", RewardWeights(dismissed=-1))
        >>> led.dismissals, led.obtained
        (1, -1.0)
        """
        if kind == "clicked":
            self.clicks += 1
            self.obtained += weights.clicked
        elif kind == "dismissed":
            self.dismissals += 1
            self.obtained += weights.dismissed
        elif kind == "ignored":
            self.ignored += 1

    def record_conversion(self, weights: RewardWeights) -> None:
        """Count a conversion credited to one decision (and its reward).

        >>> led = RewardLedger(); led.record_conversion(RewardWeights())
        >>> led.conversions, led.obtained
        (1, 1.0)
        """
        self.conversions += 1
        self.obtained += weights.converted

    def record_converted_visitor(self, value: float) -> None:
        """Count a visitor whose purchase of ``value`` was credited to their decisions.

        >>> led = RewardLedger(); led.record_converted_visitor(10.0)
        >>> led.converted_visitors, led.revenue
        (1, 10.0)
        """
        self.converted_visitors += 1
        self.revenue += value


@dataclass(slots=True)
class DecisionRecord:
    """One scored decision and every reward it has obtained so far, whenever it came.

    The running :class:`RewardLedger` adds a conversion when the purchase happens, which
    may be long after the decision (at the visitor's conversion point), so the difference
    of two ledger snapshots mixes decisions made before the first with rewards that came
    after it, and misses the conversions of decisions whose visitor is still browsing.
    These records keep each reward with its decision: totals over the decisions made in a
    time window (:func:`ledger_of`) compare the realized and the expected reward of the
    same decisions.

    Attributes
    ----------
    decision_id, visitor_id, action_id
        The decision, its visitor and the shown action.
    at_ms
        When it was shown (event time).
    expected, oracle, matched
        As :meth:`RewardLedger.record_decision` counted them.
    reaction
        ``clicked``, ``dismissed`` or ``ignored``; ``None`` for ``no_action`` (nothing shown).
    converted, value
        Whether a purchase was credited to it, and its value.

    >>> r = DecisionRecord("d1", "v1", "cta_change", 5, 0.3, 0.5, False, "dismissed")
    >>> r.reward(RewardWeights(dismissed=-0.5))
    -0.5
    """

    decision_id: str
    visitor_id: str
    action_id: str
    at_ms: int
    expected: float
    oracle: float
    matched: bool
    reaction: str | None = None
    converted: bool = False
    value: float = 0.0

    def reward(self, weights: RewardWeights) -> float:
        """The realized reward of this decision under ``weights``.

        >>> DecisionRecord("d", "v", "a", 0, 0.0, 0.0, True, "clicked", True).reward(
        ...     RewardWeights())
        2.0
        """
        return weights.reward(self.reaction == "clicked", self.converted,
                              self.reaction == "dismissed")


def ledger_of(records: Iterable[DecisionRecord], weights: RewardWeights,
              since_ms: int | None = None, until_ms: int | None = None) -> RewardLedger:
    """Totals over the decisions shown in ``[since_ms, until_ms)``, each with every reward it
    obtained (a conversion counted with its decision, whenever the purchase came).

    ``converted_visitors`` and ``revenue`` count the visitors of those decisions whose
    purchase was credited to at least one of them (each purchase once).

    >>> w = RewardWeights(dismissed=-0.5)
    >>> recs = [DecisionRecord("a", "v1", "x", 0, 0.4, 0.5, False, "clicked"),
    ...         DecisionRecord("b", "v1", "y", 60, 0.3, 0.3, True, "dismissed", True, 9.0),
    ...         DecisionRecord("c", "v2", "no_action", 90, 0.1, 0.2, False)]
    >>> late = ledger_of(recs, w, since_ms=50)
    >>> late.decisions, late.obtained, late.conversions, round(late.expected, 2)
    (2, 0.5, 1, 0.4)
    >>> late.dismissals, late.ignored, late.converted_visitors, late.revenue
    (1, 0, 1, 9.0)
    >>> ledger_of(recs, w, until_ms=60).obtained
    1.0
    """
    ledger = RewardLedger()
    buyers: dict[str, float] = {}
    for r in records:
        if (since_ms is not None and r.at_ms < since_ms) or (
                until_ms is not None and r.at_ms >= until_ms):
            continue
        ledger.record_decision(r.expected, r.oracle, r.matched)
        if r.reaction is not None:
            ledger.record_reaction(r.reaction, weights)
        if r.converted:
            ledger.record_conversion(weights)
            buyers[r.visitor_id] = r.value
    for value in buyers.values():
        ledger.record_converted_visitor(value)
    return ledger


@dataclass(slots=True)
class ArmStats:
    """True conversion of the finished visitors of one experiment arm.

    Attributes
    ----------
    visitors, conversions
        Finished visitors and how many converted.
    expected_conversions
        Sum of their final conversion probabilities (the truth without sampling noise).
    revenue
        Value of their conversions.

    >>> s = ArmStats(); s.add(True, 0.5, 10.0); s.add(False, 0.1, 0.0)
    >>> s.rate, s.expected_rate
    (0.5, 0.3)
    """

    visitors: int = 0
    conversions: int = 0
    expected_conversions: float = 0.0
    revenue: float = 0.0

    @property
    def rate(self) -> float:
        """Observed conversion rate (0 without visitors).

        >>> ArmStats().rate
        0.0
        """
        return self.conversions / self.visitors if self.visitors else 0.0

    @property
    def expected_rate(self) -> float:
        """Mean final conversion probability (0 without visitors).

        >>> ArmStats(visitors=2, expected_conversions=0.5).expected_rate
        0.25
        """
        return self.expected_conversions / self.visitors if self.visitors else 0.0

    def add(self, converted: bool, probability: float, value: float) -> None:
        """Count one finished visitor.

        >>> s = ArmStats(); s.add(True, 0.2, 5.0); (s.visitors, s.conversions, s.revenue)
        (1, 1, 5.0)
        """
        self.visitors += 1
        self.conversions += int(converted)
        self.expected_conversions += probability
        self.revenue += value

    def lift_over(self, control: ArmStats,
                  level: float = 0.95) -> tuple[float, float, float] | None:
        """Difference of observed rates to ``control`` with the experiment report's interval
        for it (Newcombe's hybrid score interval, 95% by default), so the demo's summary and
        the report print the same interval for the same counts.

        ``None`` when either arm has no visitors.

        >>> a, b = ArmStats(100, 20), ArmStats(100, 10)
        >>> [round(x, 4) for x in a.lift_over(b)]
        [0.1, 0.0001, 0.1995]
        >>> ArmStats().lift_over(b) is None
        True
        """
        if not self.visitors or not control.visitors:
            return None
        interval = newcombe_difference(self.conversions, self.visitors, control.conversions,
                                       control.visitors, level)
        return self.rate - control.rate, interval.low, interval.high


@dataclass(frozen=True, slots=True)
class VisitorOutcome:
    """The truth about one visitor: their arm, whether they bought (at any time, whatever
    was shown or credited) and for how much, and whether their visit has ended.

    The experiment report's conversions are checked against these, visitor by visitor.

    >>> VisitorOutcome("control", True, 49.0, finished=True).converted
    True
    """

    arm: str
    converted: bool
    value: float
    finished: bool
