"""What a simulation run amounts to, as data and as text.

>>> from pipeline.sim.ledger import ArmStats, RewardLedger
>>> s = SimulationSummary(started_ms=0, clock_ms=60_000, visitors_arrived=3,
...     visitors_finished=2, visitors_active=1, events=40, events_by_type={"page_view": 10},
...     visitors_by_persona={"shop_browser": 3}, decisions_received=2,
...     decisions_by_action={"cta_change": 1}, control_decisions=1, duplicate_decisions=0,
...     late_decisions=0, foreign_decisions=0, rewards=RewardLedger(decisions=1, oracle=0.5),
...     arms={"personalized": ArmStats(1, 1, 0.4), "control": ArmStats(1, 0, 0.1)})
>>> s.regret
0.5
>>> print(s.to_text().splitlines()[0])
simulated 1m00s of event time: 3 visitors arrived, 2 finished, 1 still browsing; 40 events
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.sim.ledger import ArmStats, RewardLedger

__all__ = ["SimulationSummary"]


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class SimulationSummary:
    """A snapshot of a run (see :meth:`Simulator.summary`).

    Attributes
    ----------
    started_ms, clock_ms
        Event-time span simulated so far.
    visitors_arrived, visitors_finished, visitors_active
        Visitors so far; only finished ones count in ``arms``.
    events, events_by_type
        ClickEvents emitted.
    visitors_by_persona
        Arrivals per persona.
    decisions_received
        Decisions passed to ``receive_decision`` (duplicates excluded).
    decisions_by_action
        Personalized decisions per action id.
    control_decisions
        Control-arm decisions (logged, never shown).
    duplicate_decisions, late_decisions, foreign_decisions
        Redelivered decision ids; decisions for visitors who had already left or
        were checking out; decisions for visitor ids this simulator never made.
    rewards
        Reward totals (a copy of the ledger).
    arms
        True conversion per experiment arm of finished visitors: the arm of
        the first decision a visitor received, else the arm the ``arm_of``
        callable gives, else ``undecided``.
    unsettled
        Totals over the scored decisions of visitors still browsing: their ``expected``
        and ``oracle`` are in ``rewards``, their conversions not yet (a purchase comes at
        the end of the visit), so ``rewards.obtained`` falls short of them by about
        ``unsettled.expected - unsettled.obtained``.

    >>> import dataclasses
    >>> [f.name for f in dataclasses.fields(SimulationSummary)][:3]
    ['started_ms', 'clock_ms', 'visitors_arrived']
    """

    started_ms: int
    clock_ms: int
    visitors_arrived: int
    visitors_finished: int
    visitors_active: int
    events: int
    events_by_type: Mapping[str, int]
    visitors_by_persona: Mapping[str, int]
    decisions_received: int
    decisions_by_action: Mapping[str, int]
    control_decisions: int
    duplicate_decisions: int
    late_decisions: int
    foreign_decisions: int
    rewards: RewardLedger
    arms: Mapping[str, ArmStats]
    unsettled: RewardLedger = field(default_factory=RewardLedger)

    @property
    def regret(self) -> float:
        """Oracle reward minus obtained reward.

        >>> SimulationSummary(0, 0, 0, 0, 0, 0, {}, {}, 0, {}, 0, 0, 0, 0,
        ...                   RewardLedger(oracle=1.0), {}).regret
        1.0
        """
        return self.rewards.regret

    def lift(self) -> tuple[float, float, float] | None:
        """Personalized minus control conversion rate, with a 95% interval (``None`` if an arm
        is empty).

        >>> SimulationSummary(0, 0, 0, 0, 0, 0, {}, {}, 0, {}, 0, 0, 0, 0, RewardLedger(),
        ...                   {"personalized": ArmStats(10, 5)}).lift() is None
        True
        """
        personalized, control = self.arms.get("personalized"), self.arms.get("control")
        if personalized is None or control is None:
            return None
        return personalized.lift_over(control)

    def to_text(self) -> str:
        """A human-readable report.

        >>> text = SimulationSummary(0, 0, 0, 0, 0, 0, {}, {}, 0, {}, 0, 0, 0, 0,
        ...                          RewardLedger(), {}).to_text()
        >>> "regret" in text
        True
        """
        span_s = max(0, self.clock_ms - self.started_ms) // 1000
        r = self.rewards
        lines = [
            f"simulated {span_s // 60}m{span_s % 60:02d}s of event time: "
            f"{self.visitors_arrived} visitors arrived, {self.visitors_finished} finished, "
            f"{self.visitors_active} still browsing; {self.events} events",
        ]
        if self.events_by_type:
            lines.append(f"  events: {_counts(self.events_by_type)}")
        if self.visitors_by_persona:
            lines.append(f"  personas: {_counts(self.visitors_by_persona)}")
        lines.append(
            f"decisions: {self.decisions_received} received, {r.decisions} shown and scored, "
            f"{self.control_decisions} control (not shown), {self.late_decisions} late, "
            f"{self.duplicate_decisions} duplicate, {self.foreign_decisions} foreign")
        if self.decisions_by_action:
            lines.append(f"  personalized by action: {_counts(self.decisions_by_action)}")
        lines.append(
            f"outcomes: {r.clicks} clicked, {r.dismissals} dismissed, {r.ignored} ignored, "
            f"{r.converted_visitors} converting visitors credited to {r.conversions} "
            f"decisions (EUR {r.revenue:,.2f})")
        lines.append(
            f"reward: obtained {r.obtained:.2f}, expected {r.expected:.2f}, oracle {r.oracle:.2f}"
            f" -> regret {r.regret:.2f} (expected regret {r.expected_regret:.2f}); "
            f"oracle's action chosen in {100 * r.match_rate:.1f}% of decisions")
        u = self.unsettled
        if u.decisions:
            lines.append(
                f"  {u.decisions} of those decisions are of visitors still browsing, whose "
                f"purchases have not come yet (expected {u.expected:.2f}, obtained so far "
                f"{u.obtained:.2f})")
        for name in sorted(self.arms):
            arm = self.arms[name]
            lines.append(
                f"conversion {name}: {100 * arm.rate:.2f}% ({arm.conversions}/{arm.visitors} "
                f"finished visitors; true probability {100 * arm.expected_rate:.2f}%; "
                f"EUR {arm.revenue:,.2f})")
        lift = self.lift()
        if lift is not None:
            diff, low, high = lift
            lines.append(f"lift personalized vs control: {100 * diff:+.2f} pts "
                         f"(95% CI {100 * low:+.2f} .. {100 * high:+.2f})")
        return "\n".join(lines)
