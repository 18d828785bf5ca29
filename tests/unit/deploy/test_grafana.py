"""The Grafana dashboard in deploy/grafana shows exactly the metrics the services expose."""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.collector.metrics import CollectorMetrics
from pipeline.console import ConsoleOptions, ConsoleService
from pipeline.console.metrics import FAMILIES as CONSOLE_FAMILIES
from pipeline.console.metrics import ConsoleFigures
from pipeline.delivery.feed import FeedStatus
from pipeline.delivery.metrics import DeliveryMetrics
from pipeline.delivery.store import DecisionStore
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.web.metrics import new_registry, render
from tests.scrape import families
from topologies.metrics import WorkerMetrics

DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "rtp-dashboard.json"


def _exposed() -> dict[str, str]:
    delivery = DeliveryMetrics.create(DecisionStore(), FeedStatus, lambda: 0)
    collector = CollectorMetrics.create()
    # Histograms and labelled counters show up once they have a series.
    delivery.latency.labels(route="/v1/decisions", method="GET").observe(0.001)
    collector.latency.labels(route="/v1/t", method="POST").observe(0.001)
    for counter, labels in ((delivery.requests, {"route": "/", "status": "200"}),
                            (delivery.decisions, {"result": "stored"}),
                            (delivery.outcomes, {"kind": "shown"}),
                            (collector.requests, {"route": "/", "status": "200"}),
                            (collector.messages, {"result": "produced", "record": "ClickEvent"}),
                            (collector.refused, {"status": "401"})):
        counter.labels(**labels).inc()
    worker = WorkerMetrics()
    worker.event()
    worker.decision("control", "cta_change")
    worker.signal("rage_click")
    worker.dead_letter("clickstream.events", "garbage")
    worker.latency(0.01)
    worker.on_stats('{"topics": {"t": {"partitions": {"0": {"consumer_lag": 1}}}}}')
    # The console's families are declared even before it has figures for them.
    console = ConsoleService(Settings(kafka_port=1), ConsoleOptions(http_port=0, n_boot=10))
    registry = new_registry()
    ConsoleFigures(console.snapshot, registry)
    return {**families(render(delivery.registry).decode()),
            **families(render(collector.registry).decode()),
            **families(render(worker.registry).decode()),
            **families(render(registry).decode())}


def _panels() -> list[dict[str, Any]]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def _referenced(expr: str) -> set[str]:
    names = set(re.findall(r"\brtp_[a-z0-9_]+", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_every_exposed_metric_has_a_panel_and_every_panel_metric_exists() -> None:
    exposed = _exposed()
    # twelve delivery + four collector + ten worker metrics, and the console's
    assert len(exposed) == 26 + len(CONSOLE_FAMILIES) == 59
    referenced = {n for p in _panels() for t in p["targets"] for n in _referenced(t["expr"])}
    assert referenced == set(exposed)


def test_histograms_are_read_as_quantiles_and_counters_as_rates() -> None:
    exposed = _exposed()
    for panel in _panels():
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.count("(") == expr.count(")"), expr
            for name in _referenced(expr):
                if exposed[name] == "histogram":
                    assert f"{name}_bucket" in expr and "histogram_quantile" in expr, expr
                elif exposed[name] == "counter":
                    assert f"rate({name}" in expr, expr


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "job"}


def test_the_console_panels_read_its_gauges_once_per_figure() -> None:
    """Every console pod reads every topic: its gauges are combined with max/min, never
    summed (two pods would double every figure), and nothing takes a rate of them."""
    for panel in _panels():
        for target in panel["targets"]:
            expr = target["expr"]
            if "rtp_console_" in expr:
                assert expr.startswith(("max(", "max by", "min(", "min by")), expr
                assert "rate(" not in expr and "sum" not in expr, expr


def test_the_job_variable_lists_every_rtp_service() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    job = next(v for v in dashboard["templating"]["list"] if v["name"] == "job")
    assert job["query"]["query"] == 'label_values({__name__=~"rtp_.+"}, job)'
