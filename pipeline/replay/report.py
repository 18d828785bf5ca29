"""Experiment report: personalized vs control, from a decision log and its outcomes.

The unit of analysis is the **visitor**, meaning the person the arm was drawn for: the
experiment unit each decision records (DecisionLog v5; a person's devices share it after
identify or alias), or the visitor id in logs written before v5. A visitor belongs to the
arm of their first logged decision (a visitor seen in both arms is counted once, in that
arm, and an ``arm_conflict`` warning is returned).

**Conversions come from purchases** when they are given (``purchases``: the worker's
forwarded purchase events, or any clickstream file): each purchase is attributed to its
person's logged decisions of either arm, on any of their devices, within the attribution
window (the rule is in
:mod:`pipeline.replay.attribution`), so control visitors, whose decisions are never shown
and so never get a ``converted`` outcome, convert too; ``converted`` outcomes are then
not counted (nothing twice). Without purchases, conversions are the ``converted``
outcomes, and a ``control_conversions_unmeasured`` warning says the control arm reads
too low. Per arm:

- ``conversion_rate``: share of visitors with at least one attributed purchase (without
  purchases: at least one ``converted`` outcome);
- ``click_rate``: share of visitors with at least one ``clicked`` outcome;
- ``bounce_rate``: share of visitors who bounced. Without an events summary a
  visitor bounced when they have a **single logged decision and no click or
  conversion** (the log sees one decision per page-level trigger, so this is a
  proxy for "one page view"). With ``page_views`` (visitor -> page views, e.g.
  from the clickstream), a listed visitor bounced when they had at most one page
  view; unlisted visitors fall back to the log definition;
- ``revenue_per_visitor``: summed value of the visitor's attributed purchases (each
  once; without purchases: of their ``converted`` outcomes);
- ``average_order_value``: revenue / number of those purchases (or outcomes).

Lift is personalized minus control (absolute) and personalized / control - 1
(relative), with ``confidence`` intervals: Newcombe's hybrid score interval
(absolute) and the Katz log interval (relative) for rates; seeded bootstrap over
visitors, each arm resampled independently, for revenue per visitor and order
value. The sample-ratio-mismatch check is a chi-square test of visitor counts
against the configured control share (warning when ``p < srm_alpha``): the share
each decision recorded (DecisionLog v2), unless one is given explicitly (see
:mod:`pipeline.replay.control_share` for old logs and logs that mix shares).

Breakdowns: per action (decisions, click/conversion rate and revenue per
decision, per arm) and per segment (conversion by arm and its lift) for the
``segment_keys`` of ``categorical_features`` (visitor's first decision) and the
intent class of the visitor's **last** decision (where their visit got to: the intent
class of the first decision is "browsing" for nearly everyone, since intent builds up
over a visit). Time series at ``time_buckets`` points: cumulative conversion
rates and lift of visitors enrolled so far (their final outcome), and cumulative
reward per decision by arm.

>>> from pipeline.replay.join import join_records
>>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
>>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=400, control_share=0.2,
...                                               decisions_per_visitor=(1, 3), seed=4))
>>> report = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows, 0.2,
...                                 ReportOptions(n_boot=200))
>>> report.srm.mismatch, report.metric("conversion_rate").metric
(False, 'conversion_rate')
>>> "conversion_rate" in report.to_text() and "<svg" in report.to_html()
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.replay.attribution import (
    Attribution,
    AttributionOptions,
    Credit,
    Purchase,
    attribute,
    credited_rows,
    read_purchases,
)
from pipeline.replay.control_share import resolve_control_share
from pipeline.replay.cuped import CupedLift, CupedUnavailable, cuped_lift
from pipeline.replay.errors import EmptyLog, InvalidOptions, LogFormatError
from pipeline.replay.intervals import (
    Interval,
    bootstrap_two_sample,
    chi_square_two_cells,
    newcombe_difference,
    relative_risk_interval,
)
from pipeline.replay.join import JoinedRow, RewardWeights, join_files
from pipeline.replay.logfile import LogFileOptions
from pipeline.replay.notices import ReplayWarning
from pipeline.replay.sequential import (
    AlwaysValidInterval,
    confidence_sequence,
    confidence_sequence_path,
)

__all__ = [
    "REPORT_WEIGHTS",
    "ActionBreakdown",
    "ArmStats",
    "MetricLift",
    "Report",
    "ReportOptions",
    "SegmentBreakdown",
    "SrmCheck",
    "TimelinePoint",
    "VisitorSummary",
    "always_valid_revenue_text",
    "always_valid_text",
    "build_report",
    "build_report_from_rows",
    "conversion_text",
    "cuped_revenue_text",
    "cuped_text",
    "fixed_horizon_text",
    "format_lift",
    "format_time",
    "headline_figures",
    "headline_text",
    "read_page_views",
    "summarise_visitors",
]

PERSONALIZED = "personalized"
CONTROL = "control"
BOUNCE_DEFINITION = (
    "a visitor bounced when they had a single logged decision and no click or conversion "
    "(or, with an events summary, at most one page view)"
)


#: The report's reward of a decision: 1 per click and 1 per conversion (attributed, when
#: purchases are given), the weights the engine learns with (its -0.5 per dismissal is
#: not in a report's reward).
REPORT_WEIGHTS = RewardWeights(clicked=1.0, converted=1.0)


@dataclass(frozen=True)
class ReportOptions:
    """Choices of the experiment report (see the module docstring).

    ``srm_alpha``: warn of sample-ratio mismatch below this p-value. ``segment_keys``:
    ``categorical_features`` keys to break down by. ``time_buckets``: points of the time
    series. ``top_actions``: actions shown by name in the action-mix chart (the rest are
    "other"). ``weights``: reward weights for the cumulative-reward series and the per-
    action reward (default :data:`REPORT_WEIGHTS`: 1 per click and 1 per conversion, the
    engine's weights; with purchases the conversions are the attributed ones, so control
    decisions, which are never shown nor clicked, earn reward from the purchases that follow
    them). ``cs_tuning_visitors``, ``cs_min_visitors``: the always-valid interval's tuning
    (tightest near that many visitors; fixed in advance) and the visitors it needs before it
    is reported (see :mod:`pipeline.replay.sequential`). ``attribution``: how far back a
    purchase credits decisions (:mod:`pipeline.replay.attribution`). ``cuped_covariate``:
    the ``numeric_features`` key of each visitor's first decision used for CUPED (``None``:
    no CUPED; see :mod:`pipeline.replay.cuped` for why ``past_purchases`` is pre-exposure),
    applied from ``cuped_min_visitors`` visitors on.

    >>> ReportOptions().srm_alpha
    0.001
    """

    confidence: float = 0.95
    n_boot: int = 1000
    seed: int = 0
    srm_alpha: float = 0.001
    segment_keys: tuple[str, ...] = ("traffic_source", "device", "sector")
    include_intent_class: bool = True
    time_buckets: int = 24
    top_actions: int = 7
    weights: RewardWeights = field(default_factory=lambda: REPORT_WEIGHTS)
    cs_tuning_visitors: int = 1000
    cs_min_visitors: int = 100
    attribution: AttributionOptions = field(default_factory=AttributionOptions)
    cuped_covariate: str | None = "past_purchases"
    cuped_min_visitors: int = 100
    #: The metric the report leads with (the config's objective: ``rtp report --config``)
    #: and what it is called.
    headline_metric: str = "conversion_rate"
    headline_label: str = "conversion rate per visitor"


@dataclass(frozen=True)
class VisitorSummary:
    """One visitor's experiment outcome.

    >>> VisitorSummary("v", "control", 1, 0, False, 0, 0.0, 0, True, {}).converted
    False
    """

    visitor_id: str
    arm: str
    decisions: int
    first_seen: int
    clicked: bool
    conversions: int
    revenue: float
    last_seen: int
    bounced: bool
    segments: Mapping[str, str]
    #: ``numeric_features`` of the visitor's first decision (before any exposure).
    pre_exposure: Mapping[str, float] = field(default_factory=dict)

    @property
    def converted(self) -> bool:
        """At least one conversion."""
        return self.conversions > 0


@dataclass(frozen=True)
class MetricLift:
    """One metric per arm and its lift (personalized over control) with intervals.

    >>> m = MetricLift("conversion_rate", 0.1, 0.12, 0.02, Interval(0.0, 0.04), 0.2,
    ...                Interval(0.0, 0.4), "newcombe / katz")
    >>> m.significant
    False
    """

    metric: str
    control: float
    personalized: float
    absolute: float
    absolute_ci: Interval
    relative: float
    relative_ci: Interval
    method: str
    higher_is_better: bool = True

    @property
    def significant(self) -> bool:
        """Whether the absolute interval excludes zero."""
        return bool(self.absolute_ci.low > 0.0 or self.absolute_ci.high < 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "metric": self.metric,
            "control": _num(self.control),
            "personalized": _num(self.personalized),
            "absolute_lift": _num(self.absolute),
            "absolute_ci": [_num(self.absolute_ci.low), _num(self.absolute_ci.high)],
            "relative_lift": _num(self.relative),
            "relative_ci": [_num(self.relative_ci.low), _num(self.relative_ci.high)],
            "method": self.method,
            "higher_is_better": self.higher_is_better,
        }


@dataclass(frozen=True)
class SrmCheck:
    """Sample-ratio-mismatch test of visitor counts against the configured control share.

    >>> SrmCheck(500, 500, 0.5, 0.5, 0.0, 1.0, False).mismatch
    False
    """

    control_visitors: int
    personalized_visitors: int
    expected_control_share: float
    observed_control_share: float
    chi_square: float
    p_value: float
    mismatch: bool
    #: Where the expected share came from: "recorded" in the log, or "given" explicitly.
    share_source: str = "given"


@dataclass(frozen=True)
class ArmStats:
    """Decision-level totals of one action in one arm.

    >>> ArmStats(10, 2, 1, 50.0, 2.0).click_rate
    0.2
    """

    decisions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: float = 0.0
    reward: float = 0.0

    @property
    def click_rate(self) -> float:
        """Clicked decisions per decision (``nan`` without decisions)."""
        return self.clicks / self.decisions if self.decisions else float("nan")

    @property
    def conversion_rate(self) -> float:
        """Converted outcomes per decision."""
        return self.conversions / self.decisions if self.decisions else float("nan")

    @property
    def revenue_per_decision(self) -> float:
        """Revenue per decision."""
        return self.revenue / self.decisions if self.decisions else float("nan")


@dataclass(frozen=True)
class ActionBreakdown:
    """Per-action totals in each arm (control rows log what would have been shown).

    >>> ActionBreakdown("banner", ArmStats(3), ArmStats(1)).personalized.decisions
    3
    """

    action_id: str
    personalized: ArmStats
    control: ArmStats


@dataclass(frozen=True)
class SegmentBreakdown:
    """Conversion by arm within one segment value, with the absolute lift.

    >>> SegmentBreakdown("device", "mobile", 10, 5, 0.1, 0.2, 0.1, Interval(-0.2, 0.4)).key
    'device'
    """

    key: str
    value: str
    personalized_visitors: int
    control_visitors: int
    control_conversion: float
    personalized_conversion: float
    lift: float
    lift_ci: Interval


@dataclass(frozen=True)
class TimelinePoint:
    """Cumulative state at time ``at_ms`` (visitors first seen, decisions made, by then).

    >>> TimelinePoint(0, 1, 1, 0.0, 0.0, 0.0, Interval(0, 0), 1, 1, 0.0, 0.0).at_ms
    0
    """

    at_ms: int
    control_visitors: int
    personalized_visitors: int
    control_conversion: float
    personalized_conversion: float
    lift: float
    lift_ci: Interval
    control_decisions: int
    personalized_decisions: int
    control_reward: float
    personalized_reward: float
    #: The always-valid interval for the lift at this point (the confidence sequence over
    #: the visitors enrolled by then); ``None`` before ``cs_min_visitors`` visitors.
    always_valid: Interval | None = None


@dataclass(frozen=True)
class Report:
    """The experiment report; render with :meth:`to_text` or :meth:`write_html`.

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=100, control_share=0.5))
    >>> rep = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows, 0.5,
    ...                              ReportOptions(n_boot=50))
    >>> sorted(rep.to_dict())[:3]
    ['actions', 'always_valid_conversion_lift', 'always_valid_revenue_per_visitor_lift']
    """

    n_decisions: int
    srm: SrmCheck
    metrics: tuple[MetricLift, ...]
    actions: tuple[ActionBreakdown, ...]
    segments: tuple[SegmentBreakdown, ...]
    timeline: tuple[TimelinePoint, ...]
    warnings: tuple[ReplayWarning, ...]
    options: ReportOptions
    bounce_definition: str = BOUNCE_DEFINITION
    sources: tuple[str, ...] = ()
    #: Always-valid interval for the conversion lift (None: not computed).
    always_valid: AlwaysValidInterval | None = None
    #: How purchases were attributed (None: no purchases given, conversions are outcomes).
    attribution: Attribution | None = None
    #: CUPED-adjusted conversion lift, or why it was not applied (None: not asked for).
    cuped: CupedLift | CupedUnavailable | None = None
    #: CUPED-adjusted revenue-per-visitor lift (same covariate), or why not applied.
    cuped_revenue: CupedLift | CupedUnavailable | None = None
    #: Always-valid interval for the revenue-per-visitor lift (None: not computed).
    always_valid_revenue: AlwaysValidInterval | None = None

    def metric(self, name: str) -> MetricLift:
        """The metric called ``name`` (``KeyError`` if absent)."""
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(f"no metric {name!r}; have {[m.metric for m in self.metrics]}")

    @property
    def warning_codes(self) -> tuple[str, ...]:
        """Codes of the warnings, in order."""
        return tuple(w.code for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "headline": {"metric": self.options.headline_metric,
                         "label": self.options.headline_label},
            "n_decisions": self.n_decisions,
            "confidence": self.options.confidence,
            "srm": {k: _num(v) for k, v in dataclasses.asdict(self.srm).items()},
            "metrics": [m.to_dict() for m in self.metrics],
            "actions": [
                {
                    "action_id": a.action_id,
                    "personalized": dataclasses.asdict(a.personalized),
                    "control": dataclasses.asdict(a.control),
                }
                for a in self.actions
            ],
            "segments": [
                {
                    "key": s.key,
                    "value": s.value,
                    "personalized_visitors": s.personalized_visitors,
                    "control_visitors": s.control_visitors,
                    "control_conversion": _num(s.control_conversion),
                    "personalized_conversion": _num(s.personalized_conversion),
                    "lift": _num(s.lift),
                    "lift_ci": [_num(s.lift_ci.low), _num(s.lift_ci.high)],
                }
                for s in self.segments
            ],
            "timeline": [
                {
                    "at_ms": t.at_ms,
                    "control_conversion": _num(t.control_conversion),
                    "personalized_conversion": _num(t.personalized_conversion),
                    "lift": _num(t.lift),
                    "lift_ci": [_num(t.lift_ci.low), _num(t.lift_ci.high)],
                    "control_reward": t.control_reward,
                    "personalized_reward": t.personalized_reward,
                    "always_valid": (None if t.always_valid is None else
                                     [_num(t.always_valid.low), _num(t.always_valid.high)]),
                    "control_decisions": t.control_decisions,
                    "personalized_decisions": t.personalized_decisions,
                }
                for t in self.timeline
            ],
            "warnings": [w.to_dict() for w in self.warnings],
            "bounce_definition": self.bounce_definition,
            "sources": list(self.sources),
            "conversions": _attribution_dict(self.attribution),
            "always_valid_conversion_lift": None if self.always_valid is None else {
                "low": _num(self.always_valid.low), "high": _num(self.always_valid.high),
                "confidence": self.always_valid.confidence,
                "visitors": self.always_valid.visitors,
                "tuning_visitors": self.always_valid.tuning_visitors,
                "conclusive": self.always_valid.conclusive,
            },
            "cuped_conversion_lift": _cuped_dict(self.cuped),
            "cuped_revenue_per_visitor_lift": _cuped_dict(self.cuped_revenue),
            "always_valid_revenue_per_visitor_lift": None if self.always_valid_revenue is None
            else {"low": _num(self.always_valid_revenue.low),
                  "high": _num(self.always_valid_revenue.high),
                  "confidence": self.always_valid_revenue.confidence,
                  "visitors": self.always_valid_revenue.visitors,
                  "conclusive": self.always_valid_revenue.conclusive},
        }

    def to_text(self) -> str:
        """A plain-text report for the terminal."""
        return _render_text(self)

    def to_html(self) -> str:
        """A self-contained HTML page (inline CSS and SVG, no scripts)."""
        from pipeline.replay.report_html import render_report_html

        return render_report_html(self)

    def write_html(self, path: str | Path) -> Path:
        """Write :meth:`to_html` to ``path`` (parents created); return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_html(), encoding="utf-8")
        return target


def _attribution_dict(found: Attribution | None) -> dict[str, Any]:
    if found is None:
        return {"source": "converted outcomes"}
    return {"source": "purchases", "window_ms": found.options.window_ms,
            "purchases": found.purchases, "attributed": found.attributed,
            "unattributed": found.unattributed, "duplicates": found.duplicates,
            "invalid": found.invalid}


def _cuped_dict(cuped: CupedLift | CupedUnavailable | None) -> dict[str, Any] | None:
    if cuped is None:
        return None
    if isinstance(cuped, CupedUnavailable):
        return {"covariate": cuped.covariate, "applied": False, "reason": cuped.reason}
    return {
        "covariate": cuped.covariate, "applied": True, "visitors": cuped.visitors,
        "theta": _num(cuped.theta), "covariate_mean": _num(cuped.covariate_mean),
        "control_adjusted": _num(cuped.control_mean),
        "personalized_adjusted": _num(cuped.personalized_mean),
        "lift": _num(cuped.lift), "ci": [_num(cuped.interval.low), _num(cuped.interval.high)],
        "unadjusted_lift": _num(cuped.unadjusted_lift),
        "unadjusted_ci": [_num(cuped.unadjusted_interval.low),
                          _num(cuped.unadjusted_interval.high)],
        "variance_reduction": _num(cuped.variance_reduction),
        "correlation": _num(cuped.correlation), "conclusive": cuped.conclusive,
    }


def _num(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_page_views(path: str | Path) -> dict[str, int]:
    """Read an events summary: JSON lines ``{"visitor_id": ..., "page_views": n}``.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pv.jsonl"
    >>> _ = p.write_text('{"visitor_id": "v1", "page_views": 3}\\n')
    >>> read_page_views(p)
    {'v1': 3}
    """
    views: dict[str, int] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                visitor, count = str(obj["visitor_id"]), int(obj["page_views"])
            except (ValueError, KeyError, TypeError) as exc:
                raise LogFormatError(
                    path, line_no, f"expected {{'visitor_id': str, 'page_views': int}} ({exc})"
                ) from exc
            if count < 0:
                raise LogFormatError(path, line_no, f"page_views must be >= 0, got {count}")
            views[visitor] = views.get(visitor, 0) + count
    return views


def summarise_visitors(
    rows: Sequence[JoinedRow],
    segment_keys: Sequence[str] = ("traffic_source", "device", "sector"),
    page_views: Mapping[str, int] | None = None,
    credits: Mapping[str, Credit] | None = None,
) -> tuple[list[VisitorSummary], int]:
    """Per-visitor summaries (sorted by first decision) and how many visitors changed arm.

    A "visitor" here is the experiment unit, the person (``JoinedRow.unit``: their devices
    share it since DecisionLog v5; the visitor id in older logs), and ``visitor_id`` of a
    summary is that unit. With ``credits`` (purchases attributed by person), a visitor's
    conversions and revenue are their attributed purchases, each once; otherwise the sums
    over their rows.

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id="d1", visitor_id="v", session_id="s", created_at=1,
    ...                   action_id="a", propensity=1.0, eligible={"a": 1.0}, arm="control")]
    >>> visitors, conflicts = summarise_visitors(rows)
    >>> visitors[0].bounced, visitors[0].arm, conflicts
    (True, 'control', 0)
    """
    ordered = sorted(rows, key=lambda r: (r.created_at, r.decision_id))
    grouped: dict[str, list[JoinedRow]] = {}
    for row in ordered:
        grouped.setdefault(row.unit, []).append(row)  # a person: all their devices
    summaries: list[VisitorSummary] = []
    conflicts = 0
    for visitor, own in grouped.items():
        first = own[0]
        if any(r.arm != first.arm for r in own):
            conflicts += 1
        clicked = any(r.clicked for r in own)
        if credits is None:
            conversions, revenue = sum(r.conversions for r in own), sum(r.revenue for r in own)
        else:
            credit = credits.get(visitor)
            conversions = 0 if credit is None else len(credit.purchases)
            revenue = 0.0 if credit is None else credit.revenue
        devices = {r.visitor_id for r in own}  # page views are counted per device id
        listed = [] if page_views is None else [page_views[d] for d in devices
                                                if d in page_views]
        bounced = (sum(listed) <= 1 if listed
                   else len(own) == 1 and not clicked and conversions == 0)
        cats = first.categorical_features
        segments = {k: cats[k] for k in segment_keys if k in cats}
        segments["intent_class"] = own[-1].intent_class  # where the visit got to
        summaries.append(
            VisitorSummary(
                visitor_id=visitor,
                arm=first.arm,
                decisions=len(own),
                first_seen=first.created_at,
                clicked=clicked,
                conversions=conversions,
                revenue=revenue,
                last_seen=own[-1].created_at,
                bounced=bounced,
                segments=segments,
                pre_exposure=first.numeric_features,
            )
        )
    return summaries, conflicts


def _rate_metric(
    name: str,
    control: Sequence[VisitorSummary],
    treated: Sequence[VisitorSummary],
    flag: str,
    level: float,
    higher_is_better: bool = True,
) -> MetricLift:
    sc = sum(1 for v in control if getattr(v, flag))
    st = sum(1 for v in treated if getattr(v, flag))
    nc, nt = len(control), len(treated)
    pc = sc / nc if nc else float("nan")
    pt = st / nt if nt else float("nan")
    relative = pt / pc - 1.0 if nc and nt and pc > 0 else float("nan")
    return MetricLift(
        name,
        pc,
        pt,
        pt - pc,
        newcombe_difference(st, nt, sc, nc, level),
        relative,
        relative_risk_interval(st, nt, sc, nc, level),
        "Newcombe hybrid score (absolute), Katz log (relative)",
        higher_is_better,
    )


def _money_metrics(
    control: Sequence[VisitorSummary],
    treated: Sequence[VisitorSummary],
    options: ReportOptions,
) -> list[MetricLift]:
    out: list[MetricLift] = []
    for name, per_order in (("revenue_per_visitor", False), ("average_order_value", True)):
        groups: list[tuple[list[float], list[float] | None]] = []
        values: list[float] = []
        for arm in (control, treated):
            revenue = [v.revenue for v in arm]
            if per_order:
                orders = [float(v.conversions) for v in arm]
                groups.append((revenue, orders))
                total_orders = sum(orders)
                values.append(sum(revenue) / total_orders if total_orders else float("nan"))
            else:
                groups.append((revenue, None))
                values.append(sum(revenue) / len(arm) if arm else float("nan"))
        absolute, relative = bootstrap_two_sample(
            groups[0], groups[1], n_boot=options.n_boot, seed=options.seed,
            level=options.confidence,
        )
        vc, vt = values
        out.append(
            MetricLift(
                name,
                vc,
                vt,
                vt - vc,
                absolute.interval,
                vt / vc - 1.0 if vc and math.isfinite(vc) else float("nan"),
                relative.interval,
                f"bootstrap over visitors ({options.n_boot} resamples, seed {options.seed})",
            )
        )
    return out


def _timeline(
    visitors: Sequence[VisitorSummary],
    rows: Sequence[JoinedRow],
    options: ReportOptions,
    control_share: float,
) -> list[TimelinePoint]:
    if not visitors:
        return []
    # The always-valid path over the enrolled visitors in order of first sight (the order
    # summarise_visitors returns), read at each point: the prefix enrolled by then.
    enrolled = [v for v in visitors if v.arm in (CONTROL, PERSONALIZED)]
    cs_low, cs_high = confidence_sequence_path(
        [v.arm == CONTROL for v in enrolled], [v.converted for v in enrolled], control_share,
        options.confidence, options.cs_tuning_visitors)
    start = min(v.first_seen for v in visitors)
    end = max(max(v.first_seen for v in visitors), max(r.created_at for r in rows))
    buckets = max(options.time_buckets, 1)
    edges = sorted({start + (end - start) * k // buckets for k in range(1, buckets + 1)})
    by_time = sorted(visitors, key=lambda v: v.first_seen)
    decisions = sorted(rows, key=lambda r: r.created_at)
    points: list[TimelinePoint] = []
    vi = di = 0
    counts = {CONTROL: 0, PERSONALIZED: 0}
    conv = {CONTROL: 0, PERSONALIZED: 0}
    dec = {CONTROL: 0, PERSONALIZED: 0}
    reward = {CONTROL: 0.0, PERSONALIZED: 0.0}
    for edge in edges:
        while vi < len(by_time) and by_time[vi].first_seen <= edge:
            v = by_time[vi]
            if v.arm in counts:
                counts[v.arm] += 1
                conv[v.arm] += int(v.converted)
            vi += 1
        while di < len(decisions) and decisions[di].created_at <= edge:
            r = decisions[di]
            if r.arm in dec:
                dec[r.arm] += 1
                reward[r.arm] += r.reward
            di += 1
        nc, nt = counts[CONTROL], counts[PERSONALIZED]
        seen = nc + nt
        always_valid = (Interval(float(cs_low[seen - 1]), float(cs_high[seen - 1]))
                        if seen >= max(options.cs_min_visitors, 1) else None)
        pc = conv[CONTROL] / nc if nc else float("nan")
        pt = conv[PERSONALIZED] / nt if nt else float("nan")
        points.append(
            TimelinePoint(
                at_ms=edge,
                control_visitors=nc,
                personalized_visitors=nt,
                control_conversion=pc,
                personalized_conversion=pt,
                lift=pt - pc,
                lift_ci=newcombe_difference(conv[PERSONALIZED], nt, conv[CONTROL], nc,
                                            options.confidence),
                control_decisions=dec[CONTROL],
                personalized_decisions=dec[PERSONALIZED],
                control_reward=reward[CONTROL],
                personalized_reward=reward[PERSONALIZED],
                always_valid=always_valid,
            )
        )
    return points


def build_report_from_rows(
    rows: Sequence[JoinedRow],
    control_share: float | None = None,
    options: ReportOptions | None = None,
    page_views: Mapping[str, int] | None = None,
    sources: Sequence[str] = (),
    purchases: Sequence[Purchase] | None = None,
) -> Report:
    """Build the report from joined rows (see the module docstring for definitions).

    ``purchases`` (None: none given) are attributed to the rows' decisions and are then
    the report's conversions and revenue (:mod:`pipeline.replay.attribution`).

    ``control_share`` is the configured share of visitors in the control group,
    for the sample-ratio-mismatch check; ``None`` reads it from the rows (each
    decision records it since DecisionLog v2; see
    :func:`~pipeline.replay.control_share.resolve_control_share`).

    >>> build_report_from_rows([], 0.1)
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.EmptyLog: no decisions to report on
    """
    opts = options or ReportOptions()
    if control_share is not None and not 0.0 < control_share < 1.0:
        raise InvalidOptions(f"control_share must be in (0, 1), got {control_share}")
    if not rows:
        raise EmptyLog("no decisions to report on")
    resolved = resolve_control_share((r.control_share for r in rows), control_share)
    control_share = resolved.share
    attribution = None if purchases is None else attribute(rows, purchases, opts.attribution)
    if attribution is not None:
        rows = credited_rows(rows, attribution, opts.weights)
    visitors, conflicts = summarise_visitors(
        rows, opts.segment_keys, page_views,
        None if attribution is None else attribution.visitors)
    control = [v for v in visitors if v.arm == CONTROL]
    treated = [v for v in visitors if v.arm == PERSONALIZED]
    level = opts.confidence
    warnings: list[ReplayWarning] = []
    stat, p_value = chi_square_two_cells(len(control), len(treated), control_share)
    n_vis = len(control) + len(treated)
    srm = SrmCheck(
        control_visitors=len(control),
        personalized_visitors=len(treated),
        expected_control_share=control_share,
        observed_control_share=len(control) / n_vis if n_vis else float("nan"),
        chi_square=stat,
        p_value=p_value,
        mismatch=p_value < opts.srm_alpha,
        share_source=resolved.source,
    )
    if srm.mismatch:
        warnings.append(
            ReplayWarning(
                "sample_ratio_mismatch",
                f"control has {srm.observed_control_share:.2%} of visitors, configured "
                f"{control_share:.2%} (chi-square {stat:.1f}, p = {p_value:.2g} < "
                f"{opts.srm_alpha:g}): assignment or logging is broken; lifts are not "
                "trustworthy",
                {"p_value": p_value, "chi_square": stat, "alpha": opts.srm_alpha},
            )
        )
    if conflicts:
        warnings.append(
            ReplayWarning(
                "arm_conflict",
                f"{conflicts} visitors appear in both arms; each is counted in the arm of "
                "their first decision",
                {"visitors": conflicts},
            )
        )
    warnings += _conversion_warnings(attribution, control)
    for arm, group in ((CONTROL, control), (PERSONALIZED, treated)):
        if not group:
            warnings.append(
                ReplayWarning("empty_arm", f"no {arm} visitors: lifts are undefined",
                              {"arm": arm})
            )
    metrics = [
        _rate_metric("conversion_rate", control, treated, "converted", level),
        _rate_metric("click_rate", control, treated, "clicked", level),
        _rate_metric("bounce_rate", control, treated, "bounced", level, higher_is_better=False),
        *_money_metrics(control, treated, opts),
    ]
    per_action: dict[str, dict[str, ArmStats]] = {}
    for row in rows:
        stats = per_action.setdefault(
            row.action_id, {PERSONALIZED: ArmStats(), CONTROL: ArmStats()}
        )
        arm = row.arm if row.arm in stats else PERSONALIZED
        old = stats[arm]
        stats[arm] = ArmStats(
            old.decisions + 1,
            old.clicks + int(row.clicked),
            old.conversions + row.conversions,
            old.revenue + row.revenue,
            old.reward + row.reward,
        )
    actions = sorted(
        (ActionBreakdown(a, s[PERSONALIZED], s[CONTROL]) for a, s in per_action.items()),
        key=lambda a: (-(a.personalized.decisions + a.control.decisions), a.action_id),
    )
    keys = [*opts.segment_keys, *(["intent_class"] if opts.include_intent_class else [])]
    segments: list[SegmentBreakdown] = []
    for key in keys:
        values = sorted({v.segments[key] for v in visitors if key in v.segments})
        for value in values:
            c = [v for v in control if v.segments.get(key) == value]
            t = [v for v in treated if v.segments.get(key) == value]
            sc, st = sum(v.converted for v in c), sum(v.converted for v in t)
            pc = sc / len(c) if c else float("nan")
            pt = st / len(t) if t else float("nan")
            segments.append(
                SegmentBreakdown(key, value, len(t), len(c), pc, pt, pt - pc,
                                 newcombe_difference(st, len(t), sc, len(c), level))
            )
    enrolled = [v for v in visitors if v.arm in (CONTROL, PERSONALIZED)]  # by first sight
    always_valid = confidence_sequence(
        [v.arm == CONTROL for v in enrolled], [v.converted for v in enrolled], control_share,
        level, opts.cs_tuning_visitors, opts.cs_min_visitors)
    always_valid_revenue = confidence_sequence(
        [v.arm == CONTROL for v in enrolled], [v.revenue for v in enrolled], control_share,
        level, opts.cs_tuning_visitors, opts.cs_min_visitors)
    cuped = cuped_revenue = None
    if opts.cuped_covariate is not None:
        arms = [v.arm == CONTROL for v in enrolled]
        before = [v.pre_exposure.get(opts.cuped_covariate) for v in enrolled]
        cuped = cuped_lift(arms, [v.converted for v in enrolled], before,
                           opts.cuped_covariate, level, opts.cuped_min_visitors)
        cuped_revenue = cuped_lift(arms, [v.revenue for v in enrolled], before,
                                   opts.cuped_covariate, level, opts.cuped_min_visitors,
                                   outcome="revenue")
    return Report(
        always_valid=always_valid,
        always_valid_revenue=always_valid_revenue,
        cuped=cuped,
        cuped_revenue=cuped_revenue,
        n_decisions=len(rows),
        srm=srm,
        metrics=tuple(metrics),
        actions=tuple(actions),
        segments=tuple(segments),
        timeline=tuple(_timeline(visitors, rows, opts, control_share)),
        warnings=tuple(warnings),
        options=opts,
        bounce_definition=BOUNCE_DEFINITION,
        sources=tuple(sources),
        attribution=attribution,
    )


def _conversion_warnings(attribution: Attribution | None,
                         control: Sequence[VisitorSummary]) -> list[ReplayWarning]:
    if attribution is None:
        if not control or any(v.conversions for v in control):
            return []
        return [ReplayWarning(
            "control_conversions_unmeasured",
            "no purchases given and no control decision has a converted outcome: control "
            "decisions are never shown, so nothing reports their conversions and the control "
            "arm's conversion and revenue read 0; give the purchases (rtp report --purchases, "
            "or --from-topics)", {"control_visitors": len(control)})]
    out = []
    if attribution.unattributed:
        minutes = attribution.options.window_ms / 60_000
        out.append(ReplayWarning(
            "unattributed_purchases",
            f"{attribution.unattributed} of {attribution.purchases} purchases have no logged "
            f"decision of their visitor or its person in the {minutes:g} min before them "
            "(visitors not in the experiment, or decided for longer ago): not counted",
            {"purchases": attribution.unattributed}))
    if attribution.invalid:
        out.append(ReplayWarning(
            "invalid_purchases",
            f"{attribution.invalid} purchases with a negative or non-finite value refused",
            {"purchases": attribution.invalid}))
    return out


def build_report(
    log_path: str | Path,
    outcomes_path: str | Path | None,
    control_share: float | None = None,
    options: ReportOptions | None = None,
    page_views: Mapping[str, int] | None = None,
    file_options: LogFileOptions | None = None,
    purchases_path: str | Path | None = None,
    source_names: Sequence[str] | None = None,
) -> Report:
    """Read a decision log, outcomes and (optionally) purchases, and build the report.

    ``source_names``: what the report names as its sources (default: the paths read; a
    caller reading filtered copies names the originals).

    ``purchases_path``: a ClickEvent file (``.jsonl`` or ``.avro``: the export's
    ``purchases.jsonl``, or a whole clickstream); its purchase events are attributed to
    the logged decisions (:mod:`pipeline.replay.attribution`).

    >>> import tempfile, pathlib
    >>> from pipeline.replay.logfile import write_decision_logs, write_outcomes
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=200, control_share=0.3))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_decision_logs(folder / "d.jsonl", syn.logs)
    >>> _ = write_outcomes(folder / "o.jsonl", syn.outcomes)
    >>> rep = build_report(folder / "d.jsonl", folder / "o.jsonl", 0.3, ReportOptions(n_boot=50))
    >>> rep.write_html(folder / "report.html").stat().st_size > 1000
    True
    """
    opts = options or ReportOptions()
    joined = join_files(log_path, outcomes_path, opts.weights, file_options)
    sources = list(source_names) if source_names is not None else [
        str(p) for p in (log_path, outcomes_path, purchases_path) if p is not None]
    read = None if purchases_path is None else read_purchases(purchases_path)
    report = build_report_from_rows(joined.rows, control_share, opts, page_views, sources,
                                    None if read is None else read.purchases)
    if read is not None and read.unreadable:
        extra = ReplayWarning(
            "unreadable_purchase_records",
            f"{read.unreadable} records of {purchases_path} are not ClickEvents: skipped",
            {"records": read.unreadable})
        report = dataclasses.replace(report, warnings=(*report.warnings, extra))
    if joined.unmatched_outcomes:
        extra = ReplayWarning(
            "unmatched_outcomes",
            f"{joined.unmatched_outcomes} outcomes refer to decisions missing from the log",
            {"outcomes": joined.unmatched_outcomes},
        )
        report = dataclasses.replace(report, warnings=(*report.warnings, extra))
    return report


#: How the text and HTML reports name where the expected control share came from.
_SOURCES = {"recorded": "recorded in the log", "given": "given"}


def always_valid_text(report: Report) -> str:
    """One line on the always-valid interval of the conversion lift, and what it allows.

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id=f"d{i}", visitor_id=f"v{i}", session_id="s",
    ...                   created_at=i, action_id="a", propensity=1.0, eligible={"a": 1.0},
    ...                   arm="control" if i % 2 else "personalized") for i in range(10)]
    >>> always_valid_text(build_report_from_rows(rows, 0.5, ReportOptions(n_boot=5)))
    'conversion lift, always-valid 95% interval: needs 100 visitors (have 10)'
    """
    return _always_valid_line("conversion lift", report.always_valid,
                              report.options.cs_min_visitors, "{:+.2%}")


def always_valid_revenue_text(report: Report) -> str:
    """One line on the always-valid interval of the revenue-per-visitor lift.

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id=f"d{i}", visitor_id=f"v{i}", session_id="s",
    ...                   created_at=i, action_id="a", propensity=1.0, eligible={"a": 1.0},
    ...                   arm="control" if i % 2 else "personalized") for i in range(10)]
    >>> always_valid_revenue_text(build_report_from_rows(rows, 0.5, ReportOptions(n_boot=5)))
    'revenue per visitor lift, always-valid 95% interval: needs 100 visitors (have 10)'
    """
    return _always_valid_line("revenue per visitor lift", report.always_valid_revenue,
                              report.options.cs_min_visitors, "{:+,.2f}")


def _always_valid_line(metric: str, cs: AlwaysValidInterval | None, min_visitors: int,
                       number: str) -> str:
    """The always-valid interval of ``metric`` in one line; ``number`` formats its ends."""
    if cs is None:
        return f"{metric}, always-valid interval: not computed"
    level = f"{cs.confidence:.0%}"
    if not math.isfinite(cs.low):
        return (f"{metric}, always-valid {level} interval: needs {min_visitors} visitors "
                f"(have {cs.visitors})")
    verdict = ("conclusive: it excludes 0, stopping here is allowed" if cs.conclusive
               else "not conclusive yet (it includes 0): keep collecting")
    return (f"{metric}, always-valid {level} interval (valid however often you look): "
            f"[{number.format(cs.low)}, {number.format(cs.high)}] -> {verdict}")


def _one_look_verdict(low: float, high: float, revenue: bool = False) -> str:
    if not (low > 0.0 or high < 0.0):
        return "includes 0: not conclusive"
    side = "more" if low > 0.0 else "less"
    if revenue:
        return (f"excludes 0 (personalized earns {side} per visitor): conclusive only if "
                "this is the one look planned in advance; if you have been watching the "
                "lift, go by the revenue's always-valid interval")
    return (f"excludes 0 (personalized converts {side}): conclusive only if this is the one "
            "look planned in advance; if you have been watching the lift, go by the "
            "always-valid interval")


def fixed_horizon_text(report: Report) -> str:
    """One line on the fixed-horizon interval of the conversion lift, and what it allows.

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id=f"d{i}", visitor_id=f"v{i}", session_id="s",
    ...                   created_at=i, action_id="a", propensity=1.0, eligible={"a": 1.0},
    ...                   arm="control" if i % 2 else "personalized") for i in range(10)]
    >>> print(fixed_horizon_text(build_report_from_rows(rows, 0.5, ReportOptions(n_boot=5))))
    ... # doctest: +NORMALIZE_WHITESPACE
    conversion lift, fixed-horizon 95% interval (Newcombe; valid for one look at a sample
    size set in advance): [-43.45%, +43.45%] -> includes 0: not conclusive
    """
    ci = report.metric("conversion_rate").absolute_ci
    level = f"{ci.level:.0%}"
    head = (f"conversion lift, fixed-horizon {level} interval (Newcombe; valid for one look "
            "at a sample size set in advance)")
    if not (math.isfinite(ci.low) and math.isfinite(ci.high)):
        return f"{head}: n/a (an arm has no visitors)"
    return f"{head}: [{ci.low:+.2%}, {ci.high:+.2%}] -> {_one_look_verdict(ci.low, ci.high)}"


def cuped_text(report: Report) -> str:
    """One line on the CUPED-adjusted conversion lift, or why there is none.

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id=f"d{i}", visitor_id=f"v{i}", session_id="s",
    ...                   created_at=i, action_id="a", propensity=1.0, eligible={"a": 1.0},
    ...                   arm="control" if i % 2 else "personalized",
    ...                   numeric_features={"past_purchases": 0.0}) for i in range(200)]
    >>> print(cuped_text(build_report_from_rows(rows, 0.5, ReportOptions(n_boot=5))))
    ... # doctest: +NORMALIZE_WHITESPACE
    conversion lift, CUPED: not applied (past_purchases is 0 for every visitor: a constant
    covariate cannot reduce variance); no adjusted interval
    """
    found = report.cuped
    if found is None:
        return "conversion lift, CUPED: off (no covariate chosen)"
    if isinstance(found, CupedUnavailable):
        return f"conversion lift, CUPED: not applied ({found.reason}); no adjusted interval"
    ci, raw = found.interval, found.unadjusted_interval
    return (f"conversion lift, CUPED {ci.level:.0%} interval (covariate {found.covariate} of "
            f"each visitor's first decision, measured before exposure; theta "
            f"{found.theta:.4g}, correlation {found.correlation:+.3f}; variance reduction "
            f"{_pct(found.variance_reduction)}; fixed horizon): lift {found.lift:+.2%} "
            f"[{ci.low:+.2%}, {ci.high:+.2%}] vs unadjusted {found.unadjusted_lift:+.2%} "
            f"[{raw.low:+.2%}, {raw.high:+.2%}] (same normal interval) -> "
            f"{_one_look_verdict(ci.low, ci.high)}")


def cuped_revenue_text(report: Report) -> str:
    """One line on the CUPED-adjusted revenue-per-visitor lift, or why there is none (the
    same covariate and method as the conversion lift's; beside the bootstrap interval of
    the metrics table, which it does not replace).

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id=f"d{i}", visitor_id=f"v{i}", session_id="s",
    ...                   created_at=i, action_id="a", propensity=1.0, eligible={"a": 1.0},
    ...                   arm="control" if i % 2 else "personalized",
    ...                   numeric_features={"past_purchases": float(i % 3)}) for i in range(200)]
    >>> print(cuped_revenue_text(build_report_from_rows(rows, 0.5, ReportOptions(n_boot=5))))
    ... # doctest: +NORMALIZE_WHITESPACE
    revenue per visitor lift, CUPED: not applied (every visitor has the same revenue: nothing
    to adjust); no adjusted interval
    """
    found = report.cuped_revenue
    if found is None:
        return "revenue per visitor lift, CUPED: off (no covariate chosen)"
    if isinstance(found, CupedUnavailable):
        return (f"revenue per visitor lift, CUPED: not applied ({found.reason}); no adjusted "
                "interval")
    ci, raw = found.interval, found.unadjusted_interval
    return (f"revenue per visitor lift, CUPED {ci.level:.0%} interval (covariate "
            f"{found.covariate} of each visitor's first decision; theta {found.theta:.4g}, "
            f"correlation {found.correlation:+.3f}; variance reduction "
            f"{_pct(found.variance_reduction)}; fixed horizon): lift {found.lift:+,.2f} "
            f"[{ci.low:+,.2f}, {ci.high:+,.2f}] vs unadjusted {found.unadjusted_lift:+,.2f} "
            f"[{raw.low:+,.2f}, {raw.high:+,.2f}] (same normal interval) -> "
            f"{_one_look_verdict(ci.low, ci.high, revenue=True)}")


def conversion_text(report: Report) -> str:
    """One line on where the report's conversions come from.

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...                   action_id="a", propensity=1.0, eligible={"a": 1.0})]
    >>> text = conversion_text(build_report_from_rows(
    ...     rows, 0.5, ReportOptions(n_boot=5), purchases=[Purchase("e", "v", 1, 5.0)]))
    >>> print(text)  # doctest: +NORMALIZE_WHITESPACE
    conversions: 1 of 1 purchases attributed to their person's decisions of either arm, on
    any of their devices, in the 30 min before them (0 duplicates, 0 invalid)
    """
    found = report.attribution
    if found is None:
        return ("conversions: converted outcomes (no purchases given; control decisions are "
                "never shown, so none reports a control conversion)")
    return (f"conversions: {found.attributed} of {found.purchases} purchases attributed to "
            f"their person's decisions of either arm, on any of their devices, in the "
            f"{found.options.window_ms / 60_000:g} min before them ({found.duplicates} "
            f"duplicates, {found.invalid} invalid)")


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.2%}"


def _money(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:,.2f}"


def _fmt_metric(metric: str, value: float) -> str:
    return _money(value) if metric in ("revenue_per_visitor", "average_order_value") else _pct(
        value
    )


def _fmt_interval(metric: str, interval: Interval, relative: bool = False) -> str:
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return "n/a"
    if relative:
        return f"[{interval.low:+.1%}, {interval.high:+.1%}]"
    if metric in ("revenue_per_visitor", "average_order_value"):
        return f"[{interval.low:+,.2f}, {interval.high:+,.2f}]"
    return f"[{interval.low:+.2%}, {interval.high:+.2%}]"


def format_lift(metric: str, value: float) -> str:
    """Signed absolute lift: money with two decimals, rates in percentage points.

    >>> format_lift("revenue_per_visitor", 1.5), format_lift("conversion_rate", 0.012)
    ('+1.50', '+1.20%')
    """
    if not math.isfinite(value):
        return "n/a"
    if metric in ("revenue_per_visitor", "average_order_value"):
        return f"{value:+,.2f}"
    return f"{value:+.2%}"


def format_time(ms: float) -> str:
    """``YYYY-MM-DD HH:MM`` (UTC) of epoch milliseconds.

    >>> format_time(0)
    '1970-01-01 00:00'
    """
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in
                     enumerate(zip(header, widths, strict=True)))
    out = [line, "-" * len(line)]
    for row in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                             enumerate(zip(row, widths, strict=True))))
    return out


def headline_figures(report: Report) -> dict[str, str] | None:
    """The objective's metric as the text and HTML reports print it: ``label``, ``metric``,
    ``control``, ``personalized``, ``lift`` and ``ci`` (formatted); None when the report
    does not compute that metric.

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=60, control_share=0.5))
    >>> rep = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows, 0.5,
    ...     ReportOptions(n_boot=20, headline_metric="revenue_per_visitor",
    ...                   headline_label="revenue per visitor"))
    >>> figures = headline_figures(rep)
    >>> figures["metric"], figures["label"], figures["level"]
    ('revenue_per_visitor', 'revenue per visitor', '95%')
    """
    name = report.options.headline_metric
    try:
        m = report.metric(name)
    except KeyError:
        return None
    return {"label": report.options.headline_label, "metric": name,
            "control": _fmt_metric(name, m.control),
            "personalized": _fmt_metric(name, m.personalized),
            "lift": format_lift(name, m.absolute),
            "level": f"{report.options.confidence:.0%}",
            "ci": _fmt_interval(name, m.absolute_ci)}


def headline_text(report: Report) -> str:
    """The objective's metric, first: control, personalized, lift and its interval.

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=60, control_share=0.5))
    >>> rep = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows, 0.5,
    ...                              ReportOptions(n_boot=20))
    >>> headline_text(rep).startswith("headline: conversion rate per visitor "
    ...                               "(conversion_rate): control ")
    True
    """
    f = headline_figures(report)
    if f is None:
        name = report.options.headline_metric
        return f"headline: {report.options.headline_label} ({name}): not computed"
    return (f"headline: {f['label']} ({f['metric']}): control {f['control']}, personalized "
            f"{f['personalized']}, lift {f['lift']} ({f['level']} CI {f['ci']})")


def _render_text(report: Report) -> str:
    s = report.srm
    level = f"{report.options.confidence:.0%}"
    lines = [
        "Experiment report: personalized vs control",
        f"decisions {report.n_decisions}; visitors: personalized {s.personalized_visitors}, "
        f"control {s.control_visitors}",
        f"sample ratio: control {_pct(s.observed_control_share)} observed vs "
        f"{_pct(s.expected_control_share)} configured ({_SOURCES[s.share_source]}); "
        f"chi-square {s.chi_square:.2f}, "
        f"p = {s.p_value:.3g} -> {'MISMATCH' if s.mismatch else 'ok'}",
        headline_text(report),
        "",
    ]
    header = ["metric", "control", "personalized", "abs lift", f"abs {level} CI", "rel lift",
              f"rel {level} CI"]
    body = []
    for m in report.metrics:
        rel = "n/a" if not math.isfinite(m.relative) else f"{m.relative:+.1%}"
        absolute = format_lift(m.metric, m.absolute)
        body.append([
            m.metric, _fmt_metric(m.metric, m.control), _fmt_metric(m.metric, m.personalized),
            absolute, _fmt_interval(m.metric, m.absolute_ci), rel,
            _fmt_interval(m.metric, m.relative_ci, relative=True),
        ])
    lines += _table(header, body)
    lines += [f"bounce: {report.bounce_definition}", conversion_text(report),
              fixed_horizon_text(report), cuped_text(report), cuped_revenue_text(report),
              always_valid_text(report), always_valid_revenue_text(report), "",
              "per action (per decision):"]
    body = [
        [
            a.action_id,
            str(a.personalized.decisions), _pct(a.personalized.click_rate),
            _pct(a.personalized.conversion_rate), _money(a.personalized.revenue_per_decision),
            str(a.control.decisions), _pct(a.control.click_rate),
            _pct(a.control.conversion_rate),
        ]
        for a in report.actions
    ]
    lines += _table(
        ["action", "pers n", "pers click", "pers conv", "pers rev", "ctrl n", "ctrl click",
         "ctrl conv"],
        body,
    )
    if report.segments:
        lines += ["", "per segment (visitor conversion rate):"]
        body = [
            [
                f"{seg.key}={seg.value}", str(seg.personalized_visitors),
                _pct(seg.personalized_conversion), str(seg.control_visitors),
                _pct(seg.control_conversion),
                "n/a" if not math.isfinite(seg.lift) else f"{seg.lift:+.2%}",
                _fmt_interval("rate", seg.lift_ci),
            ]
            for seg in report.segments
        ]
        lines += _table(
            ["segment", "pers n", "pers conv", "ctrl n", "ctrl conv", "abs lift", f"{level} CI"],
            body,
        )
    if report.timeline:
        first, last = report.timeline[0], report.timeline[-1]
        lines += [
            "",
            f"time span {format_time(first.at_ms)} .. {format_time(last.at_ms)} UTC "
            f"({len(report.timeline)} points)",
        ]
    if report.warnings:
        lines.append("warnings:")
        lines += [f"  - [{w.code}] {w.message}" for w in report.warnings]
    else:
        lines.append("warnings: none")
    return "\n".join(lines)
