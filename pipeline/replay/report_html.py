"""Render an experiment :class:`~pipeline.replay.report.Report` as one self-contained HTML page.

Inline CSS, inline SVG charts (lift over time with its fixed-horizon band and the
always-valid band, cumulative reward per decision by arm from the same attributed
conversions as the headline, action mix by arm), no JavaScript and no
external resources, so the file can be mailed or archived as is. The output is
deterministic (no generation timestamp), so it can be diffed.

>>> from pipeline.replay.join import join_records
>>> from pipeline.replay.report import ReportOptions, build_report_from_rows
>>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
>>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=150, control_share=0.5))
>>> rep = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows, 0.5,
...                              ReportOptions(n_boot=50))
>>> page = render_report_html(rep)
>>> page.startswith("<!DOCTYPE html>"), "<script" in page, page.count("<svg")
(True, False, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from pipeline.replay.cuped import CupedLift
from pipeline.replay.join import RewardWeights
from pipeline.replay.report import (
    Report,
    always_valid_revenue_text,
    always_valid_text,
    conversion_text,
    cuped_revenue_text,
    cuped_text,
    fixed_horizon_text,
    format_lift,
    format_time,
    headline_figures,
)
from pipeline.replay.svg import Series, line_chart, stacked_bars

__all__ = ["render_report_html", "reward_title"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1000px;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.3rem}
.muted{color:#666;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
.metrics td:last-child{white-space:normal;font-size:.78rem;color:#666;text-align:left}
.verdicts td:first-child,.verdicts td:nth-last-child(-n+2){white-space:normal;text-align:left}
th:first-child,td:first-child{text-align:left}
th{background:#f6f6f6;white-space:normal;vertical-align:bottom}
.good{color:#0a7a3b;font-weight:600}.bad{color:#b3261e;font-weight:600}
.box{padding:.6rem .9rem;border-radius:6px;margin:.6rem 0}
.ok{background:#eaf6ee;border:1px solid #b7dfc3}.alert{background:#fdecea;border:1px solid #f3b8b2}
.warn{background:#fff6e0;border:1px solid #f1d48a}
.headline{background:#eef3fb;border:1px solid #b9cbe8;font-size:1.05rem}
.headline .fig{display:inline-block;margin:.4rem 1.6rem 0 0}.headline b{font-size:1.3rem}
svg{display:block;margin:.8rem 0;max-width:100%;height:auto}
svg .title{font-size:14px;font-weight:600;fill:#1b1b1b}
svg .tick{font-size:11px;fill:#555}svg .legend{font-size:12px;fill:#1b1b1b}
svg .inbar{font-size:11px;fill:#fff}
svg .plot{fill:#fcfcfc;stroke:#ddd}svg .grid{stroke:#eee}svg .zero{stroke:#888;stroke-dasharray:4 3}
"""

_MONEY = ("revenue_per_visitor", "average_order_value")


def _pct(value: float, digits: int = 2) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}%}"


def _money(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:,.2f}"


def _value(metric: str, value: float) -> str:
    return _money(value) if metric in _MONEY else _pct(value)


def _interval(metric: str, low: float, high: float, relative: bool = False) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    if relative:
        return f"[{low:+.1%}, {high:+.1%}]"
    if metric in _MONEY:
        return f"[{low:+,.2f}, {high:+,.2f}]"
    return f"[{low:+.2%}, {high:+.2%}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], css_class: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows
    )
    attr = f' class="{css_class}"' if css_class else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _metrics_table(report: Report) -> str:
    level = f"{report.options.confidence:.0%}"
    rows = []
    for m in report.metrics:
        css = ""
        if m.significant and math.isfinite(m.absolute):
            better = (m.absolute > 0) == m.higher_is_better
            css = "good" if better else "bad"
        lift = escape(format_lift(m.metric, m.absolute))
        rel = "n/a" if not math.isfinite(m.relative) else f"{m.relative:+.1%}"
        rows.append([
            escape(m.metric),
            escape(_value(m.metric, m.control)),
            escape(_value(m.metric, m.personalized)),
            f'<span class="{css}">{lift}</span>' if css else lift,
            escape(_interval(m.metric, m.absolute_ci.low, m.absolute_ci.high)),
            escape(rel),
            escape(_interval(m.metric, m.relative_ci.low, m.relative_ci.high, relative=True)),
            escape(m.method),
        ])
    return _table(
        ["metric", "control", "personalized", "abs lift", f"{level} CI", "rel lift",
         f"{level} CI", "method"],
        rows,
        css_class="metrics",
    )


def _lift_intervals(report: Report) -> str:
    """The conversion lift's intervals side by side: unadjusted, CUPED, always-valid."""
    level = f"{report.options.confidence:.0%}"
    conv = report.metric("conversion_rate")

    def verdict(low: float, high: float, always_valid: bool = False) -> str:
        if not (math.isfinite(low) and math.isfinite(high)):
            return "n/a"
        if not (low > 0.0 or high < 0.0):
            return "not conclusive (includes 0)"
        return ("conclusive: stopping here is allowed" if always_valid else
                "conclusive only as the one look planned in advance")

    def width(low: float, high: float) -> str:
        return _pct(high - low) if math.isfinite(high - low) else "n/a"

    ci = conv.absolute_ci
    rows = [["fixed horizon, unadjusted (Newcombe)", escape(format_lift(conv.metric,
             conv.absolute)), escape(_interval("rate", ci.low, ci.high)),
             width(ci.low, ci.high), "one look at a sample size set in advance",
             verdict(ci.low, ci.high)]]
    cuped = report.cuped
    if isinstance(cuped, CupedLift):
        raw, adj = cuped.unadjusted_interval, cuped.interval
        rows.append(["fixed horizon, unadjusted (normal, the CUPED baseline)",
                     f"{cuped.unadjusted_lift:+.2%}", escape(_interval("rate", raw.low,
                     raw.high)), width(raw.low, raw.high), "one look",
                     verdict(raw.low, raw.high)])
        rows.append([f"CUPED on {escape(cuped.covariate)} (theta {cuped.theta:.4g}, variance "
                     f"reduction {_pct(cuped.variance_reduction, 1)})", f"{cuped.lift:+.2%}",
                     escape(_interval("rate", adj.low, adj.high)), width(adj.low, adj.high),
                     "one look", verdict(adj.low, adj.high)])
    cs = report.always_valid
    if cs is not None and math.isfinite(cs.low):
        rows.append(["always-valid (confidence sequence)", "",
                     escape(_interval("rate", cs.low, cs.high)), width(cs.low, cs.high),
                     "any number of looks", verdict(cs.low, cs.high, always_valid=True)])
    return _table(["conversion lift", "lift", f"{level} interval", "width", "valid for",
                   "verdict"], rows, css_class="verdicts")  # wrapped: it fits the page


def _headline(report: Report) -> str:
    """The objective's metric first, with the same figures as the text report's headline
    line (:func:`~pipeline.replay.report.headline_figures`)."""
    f = headline_figures(report)
    label = escape(report.options.headline_label)
    metric = escape(report.options.headline_metric)
    if f is None:
        return (f'<div class="box headline" id="headline" data-metric="{metric}">'
                f"<strong>Headline: {label}</strong> ({metric}): not computed</div>")
    cells = (("control", f["control"]), ("personalized", f["personalized"]),
             ("lift", f["lift"]), (f"{f['level']} CI", f["ci"]))
    figures = "".join(
        f'<span class="fig"><span class="muted">{escape(name)}</span> '
        f'<b data-figure="{escape(name.split()[-1].lower())}">{escape(value)}</b></span>'
        for name, value in cells)
    return (f'<div class="box headline" id="headline" data-metric="{metric}">'
            f"<strong>Headline: {label}</strong> <code>{metric}</code> "
            f"(the objective's headline metric)<div>{figures}</div></div>")


def reward_title(weights: RewardWeights, attributed: bool) -> str:
    """The reward chart's title, naming what a decision's reward counts (``attributed``:
    conversions are purchases attributed to the decisions, as the headline counts them).
    Short enough for the chart's width.

    >>> reward_title(RewardWeights(clicked=1.0, converted=1.0), True)
    'Reward per decision, cumulative (click 1 + attributed conversion 1)'
    """
    converted = "attributed conversion" if attributed else "converted outcome"
    terms = [f"{name} {weight:g}" for weight, name in (
        (weights.clicked, "click"), (weights.converted, converted),
        (weights.revenue, "revenue unit")) if weight]
    return f"Reward per decision, cumulative ({' + '.join(terms) or 'no reward'})"


def _charts(report: Report) -> str:
    timeline = report.timeline
    level = f"{report.options.confidence:.0%}"
    lift = Series(
        f"personalized - control, fixed-horizon {level}",
        [(float(t.at_ms), t.lift) for t in timeline],
        band=[(float(t.at_ms), t.lift_ci.low, t.lift_ci.high) for t in timeline],
    )
    always_valid = Series(
        f"always-valid {level} (any number of looks)", [],
        color="#888888",
        band=[(float(t.at_ms), t.always_valid.low, t.always_valid.high) for t in timeline
              if t.always_valid is not None],
    )
    lift_svg = line_chart(
        "Conversion lift over time (stop only when the grey band excludes 0)",
        [lift, always_valid],
        x_format=lambda x: format_time(x)[5:],
        y_format=lambda y: f"{y:+.1%}",
        zero_line=True,
    )

    def per_decision(reward: float, decisions: int) -> float:
        return reward / decisions if decisions else float("nan")

    reward_svg = line_chart(
        reward_title(report.options.weights, report.attribution is not None),
        [
            Series("personalized", [
                (float(t.at_ms), per_decision(t.personalized_reward, t.personalized_decisions))
                for t in timeline
            ]),
            Series("control", [
                (float(t.at_ms), per_decision(t.control_reward, t.control_decisions))
                for t in timeline
            ]),
        ],
        x_format=lambda x: format_time(x)[5:],
        y_format=lambda y: f"{y:.3g}",
    )
    top = report.options.top_actions
    bars = []
    for arm in ("personalized", "control"):
        parts = [
            (a.action_id, float(getattr(a, arm).decisions)) for a in report.actions[:top]
        ]
        rest = sum(getattr(a, arm).decisions for a in report.actions[top:])
        if rest:
            parts.append(("other", float(rest)))
        bars.append((arm, parts))
    mix_svg = stacked_bars("Action mix by arm (share of decisions)", bars)
    return lift_svg + reward_svg + mix_svg


def render_report_html(report: Report) -> str:
    """The report as a complete HTML document (see the module docstring).

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.report import ReportOptions, build_report_from_rows
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=40, control_share=0.5))
    >>> rep = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows, 0.5,
    ...                              ReportOptions(n_boot=20))
    >>> render_report_html(rep).rstrip().endswith("</body></html>")
    True
    """
    s = report.srm
    level = f"{report.options.confidence:.0%}"
    srm_class = "alert" if s.mismatch else "ok"
    cs_class = "ok" if report.always_valid is not None and report.always_valid.conclusive \
        else "warn"
    cuped_class = "warn" if isinstance(report.cuped, CupedLift) else "muted"
    revenue_class = "warn" if isinstance(report.cuped_revenue, CupedLift) else "muted"
    revenue_cs = report.always_valid_revenue
    revenue_cs_class = "ok" if revenue_cs is not None and revenue_cs.conclusive else "muted"
    srm_text = (
        f"Sample ratio: control {_pct(s.observed_control_share)} of visitors observed vs "
        f"{_pct(s.expected_control_share)} configured, "
        f"{'recorded in the log' if s.share_source == 'recorded' else 'given'} "
        f"(chi-square {s.chi_square:.2f}, "
        f"p = {s.p_value:.3g}): {'MISMATCH - lifts are not trustworthy' if s.mismatch else 'ok'}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>rtp experiment report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Experiment report: personalized vs control</h1>",
        f'<p class="muted">{report.n_decisions} decisions; visitors: personalized '
        f"{s.personalized_visitors}, control {s.control_visitors}"
        + (f"; sources: {escape(', '.join(report.sources))}" if report.sources else "")
        + "</p>",
        f'<div class="box {srm_class}">{escape(srm_text)}</div>',
        _headline(report),
    ]
    if report.warnings:
        items = "".join(
            f"<li><code>{escape(w.code)}</code> {escape(w.message)}</li>" for w in report.warnings
        )
        parts.append(f'<div class="box warn"><strong>Warnings</strong><ul>{items}</ul></div>')
    parts += [
        "<h2>Metrics (per visitor)</h2>",
        _metrics_table(report),
        f'<p class="muted">Bounce: {escape(report.bounce_definition)}. Lift = personalized '
        f"minus control; relative lift = personalized / control - 1. {level} intervals "
        "(fixed horizon: valid for one look at a sample size set in advance).</p>",
        f'<p class="muted">{escape(conversion_text(report))}.</p>',
        "<h2>Conversion lift: is it conclusive?</h2>",
        _lift_intervals(report),
        f'<div class="box warn">{escape(fixed_horizon_text(report))}</div>',
        f'<div class="box {cuped_class}">{escape(cuped_text(report))}</div>',
        f'<div class="box {revenue_class}">{escape(cuped_revenue_text(report))}</div>',
        f'<div class="box {cs_class}">{escape(always_valid_text(report))}</div>',
        f'<div class="box {revenue_cs_class}">'
        f'{escape(always_valid_revenue_text(report))}</div>',
        "<h2>Over time</h2>",
        _charts(report),
        "<h2>Per action (per decision)</h2>",
        _table(
            ["action", "personalized decisions", "click rate", "conversion rate",
             "revenue / decision", "control decisions", "click rate", "conversion rate"],
            [
                [
                    escape(a.action_id),
                    str(a.personalized.decisions),
                    _pct(a.personalized.click_rate),
                    _pct(a.personalized.conversion_rate),
                    _money(a.personalized.revenue_per_decision),
                    str(a.control.decisions),
                    _pct(a.control.click_rate),
                    _pct(a.control.conversion_rate),
                ]
                for a in report.actions
            ],
        ),
        '<p class="muted">Control decisions were logged but not served: their rates are those '
        "of the default experience.</p>",
    ]
    if report.segments:
        parts += [
            "<h2>Per segment (visitor conversion rate)</h2>",
            _table(
                ["segment", "personalized visitors", "conversion", "control visitors",
                 "conversion", "abs lift", f"{level} CI"],
                [
                    [
                        escape(f"{seg.key} = {seg.value}"),
                        str(seg.personalized_visitors),
                        _pct(seg.personalized_conversion),
                        str(seg.control_visitors),
                        _pct(seg.control_conversion),
                        "n/a" if not math.isfinite(seg.lift) else f"{seg.lift:+.2%}",
                        escape(_interval("rate", seg.lift_ci.low, seg.lift_ci.high)),
                    ]
                    for seg in report.segments
                ],
            ),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)
