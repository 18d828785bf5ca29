"""The console's ``/metrics`` are its own figures: for a fixed input, every number
``/v1/console`` shows is a sample with the same value, and there is no other sample."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.console import ConsoleOptions, ConsoleService
from pipeline.console.app import build_app
from pipeline.console.metrics import FAMILIES
from pipeline.decide.catalog import Action, Catalog
from pipeline.engine import EngineOptions
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
from pipeline.settings import Settings
from tests.scrape import Sample, families, samples

KEY = "metrics-key-0123"
CATALOG = Catalog(actions=(Action(id="no_action", slot="none"), Action(id="banner", slot="hero")),
                  version=7, fingerprint="abc")
#: Leaves of /v1/console that are not figures of the moment (Prometheus keeps the time
#: series itself), are text, or are not shown on the page: ``experiment.actions`` is what
#: the page's per-action rows are built from (their personalized arm; the control arm's
#: per-action numbers are in the JSON only). ``decisions.total`` is the sum by arm.
NOT_FIGURES = ("experiment.actions.", "now_ms", "decisions.total", "decisions.window_s",
               "decisions.series",
               "experiment.timeline", "catalog.fingerprint", "catalog.source",
               "objective.", "feed.missing", "feed.error", "feed.topic_prefix",
               "experiment.warnings", "experiment.headline.metric", "actions.*.action_id",
               "actions.*.slot")


def _service() -> ConsoleService:
    """A console service (no Kafka: its feed is not started) holding a fixed input."""
    service = ConsoleService(Settings(kafka_port=1),
                             ConsoleOptions(http_port=0, report_every_s=0, n_boot=20,
                                            time_buckets=3, key=KEY),
                             EngineOptions(catalog=CATALOG), clock=lambda: 1_700_000_100.0)
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=200, control_share=0.5, seed=4))
    tally = service.tally
    for n, log in enumerate(syn.logs):
        decision = log["decision"]
        tally.add_event({"event_id": decision.get("trigger_event_id") or f"e{n}"},
                        int(decision["created_at"]))
        tally.add_decision(log, int(decision["created_at"]) + 5 + n % 40)
    for outcome in syn.outcomes:
        tally.add_outcome(outcome)
    for sid, rule in (("s1", "rage_click"), ("s2", "rage_click"), ("s3", "hesitation")):
        tally.add_signal({"signal_id": sid, "rule": rule}, 0)
    for topic, reason in (("clickstream.events.dlq", "garbage"),
                          ("clickstream.events.dlq", "garbage"),
                          ("personalization.outcomes.dlq", "schema")):
        tally.add_dead_letter({"source_topic": topic, "error_class": reason})
    for topic in ("decisions.log", "decisions.log", "signals.struggle"):
        tally.count_record(topic)
    return service


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{path}.{k}" if path else str(k)))
        return out
    return {path: value}


def _expected(body: dict[str, Any]) -> tuple[dict[Sample, float], set[str]]:
    """The samples the page's JSON calls for (written out here, independently of the
    module), and the JSON paths they took."""
    out: dict[Sample, float] = {}
    used: set[str] = set()

    def put(name: str, path: str, value: Any, scale: float = 1.0, **labels: str) -> None:
        used.add(path)
        if value is not None:
            out[(name, frozenset(labels.items()))] = float(value) * scale

    d = body["decisions"]
    for arm, n in d["by_arm"].items():
        put("rtp_console_decisions", f"decisions.by_arm.{arm}", n, arm=arm)
    put("rtp_console_decisions_per_second", "decisions.per_second", d["per_second"])
    for version, n in d["model_versions"].items():
        put("rtp_console_model_decisions", f"decisions.model_versions.{version}", n,
            model_version=version)
    lat = body["latency"]
    put("rtp_console_event_to_action_seconds", "latency.p50_ms", lat["p50_ms"], 1e-3,
        quantile="0.5")
    put("rtp_console_event_to_action_seconds", "latency.p99_ms", lat["p99_ms"], 1e-3,
        quantile="0.99")
    put("rtp_console_event_to_action_recent_p99_seconds", "latency.recent_p99_ms",
        lat["recent_p99_ms"], 1e-3)
    put("rtp_console_event_to_action_samples", "latency.samples", lat["samples"], over="kept")
    put("rtp_console_event_to_action_samples", "latency.recent_samples",
        lat["recent_samples"], over="recent")
    for rule, n in body["signals"].items():
        put("rtp_console_signals", f"signals.{rule}", n, rule=rule)
    for topic, reasons in body["dead_letters"].items():
        for reason, n in reasons.items():
            put("rtp_console_dead_letters", f"dead_letters.{topic}.{reason}", n,
                topic=topic, reason=reason)
    for topic, n in body["records"].items():
        put("rtp_console_records", f"records.{topic}", n, topic=topic)
    ex = body["experiment"]
    for arm, figures in ex["arms"].items():
        put("rtp_console_experiment_visitors", f"experiment.arms.{arm}.visitors",
            figures["visitors"], arm=arm)
        put("rtp_console_experiment_conversion_rate", f"experiment.arms.{arm}.conversion",
            figures["conversion"], arm=arm)
    put("rtp_console_experiment_lift", "experiment.lift", ex["lift"])
    for i, bound in enumerate(("low", "high")):
        put("rtp_console_experiment_lift_ci", "experiment.ci", ex["ci"][i], bound=bound)
        put("rtp_console_experiment_lift_always_valid", f"experiment.always_valid.{bound}",
            ex["always_valid"][bound], bound=bound)
        put("rtp_console_headline_lift_ci", "experiment.headline.ci", ex["headline"]["ci"][i],
            metric=ex["headline"]["metric"], bound=bound)
    put("rtp_console_experiment_lift_conclusive", "experiment.always_valid.conclusive",
        ex["always_valid"]["conclusive"])
    put("rtp_console_experiment_srm_mismatch", "experiment.srm_mismatch", ex["srm_mismatch"])
    put("rtp_console_experiment_control_share", "experiment.control_share",
        ex["control_share"])
    put("rtp_console_experiment_confidence", "experiment.confidence", ex["confidence"])
    for arm in ("control", "personalized"):
        put("rtp_console_headline", f"experiment.headline.{arm}", ex["headline"][arm],
            metric=ex["headline"]["metric"], arm=arm)
    put("rtp_console_headline_lift", "experiment.headline.lift", ex["headline"]["lift"],
        metric=ex["headline"]["metric"])
    for row in body["actions"]:
        a = row["action_id"]
        for arm, n in row["decisions"].items():
            put("rtp_console_action_decisions", f"actions.*.decisions.{arm}", n, action=a, arm=arm)
        for field in ("clicks", "conversions", "click_rate", "conversion_rate", "in_catalog"):
            put(f"rtp_console_action_{field}", f"actions.*.{field}", row[field], action=a)
    put("rtp_console_catalog_version", "catalog.version", body["catalog"]["version"])
    put("rtp_console_catalog_actions", "catalog.actions", body["catalog"]["actions"])
    put("rtp_console_config_version", "config_version", body["config_version"])
    for field in ("caught_up", "behind", "undecodable"):
        put(f"rtp_console_feed_{field}", f"feed.{field}", body["feed"][field])
    return out, used


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    service = _service()
    app = build_app(service.snapshot, service.status, key=KEY)
    async with TestClient(TestServer(app)) as c:
        yield c


async def _get(client: TestClient, path: str) -> Any:
    response = await client.get(path, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status == 200, await response.text()
    return await (response.json() if path.startswith("/v1") else response.text())


async def test_the_metrics_are_the_console_figures_both_ways(client: TestClient) -> None:
    body = await _get(client, "/v1/console")
    text = await _get(client, "/metrics")
    assert "error" not in body["experiment"], body["experiment"]
    expected, _ = _expected(body)
    # The fixed input has figures of every family (nothing vacuous).
    assert {name for name, _ in expected} == set(FAMILIES)
    assert body["dead_letters"] and body["signals"] and len(body["actions"]) >= 2
    assert samples(text) == pytest.approx(expected, rel=1e-12, abs=0)


async def test_every_figure_of_the_page_is_a_metric(client: TestClient) -> None:
    body = await _get(client, "/v1/console")
    _, used = _expected(body)
    paths = set()
    for path in _leaves(body):
        parts = path.split(".")
        if parts[0] == "actions":
            continue  # a list: its rows' fields are listed below
        paths.add(path)
    for row in body["actions"]:
        paths |= {f"actions.*.{p}" for p in _leaves(row)}
    left = {p for p in paths if not p.startswith(NOT_FIGURES)}
    assert left == used


async def test_metrics_need_the_console_key_like_its_json(client: TestClient) -> None:
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer wrong-key-0000"})
    assert wrong.status == 401
    right = await client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})
    assert right.status == 200 and right.headers["Content-Type"].startswith("text/plain")
    assert (await client.get("/metrics?x=1",
                             headers={"Authorization": f"Bearer {KEY}"})).status == 400


async def test_without_an_experiment_yet_its_families_are_empty() -> None:
    service = ConsoleService(Settings(kafka_port=1),
                             ConsoleOptions(http_port=0, report_every_s=0, n_boot=20),
                             EngineOptions(catalog=CATALOG))
    app = build_app(service.snapshot, service.status)
    async with TestClient(TestServer(app)) as c:
        text = await (await c.get("/metrics")).text()
    assert set(families(text)) == set(FAMILIES)  # declared, some without samples
    names = {name for name, _ in samples(text)}
    assert not any(n.startswith(("rtp_console_experiment", "rtp_console_headline"))
                   for n in names)
    assert "rtp_console_catalog_version" in names
