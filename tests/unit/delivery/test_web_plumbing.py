"""The shared web pieces (pipeline/web): metrics text, options from the environment."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.delivery.options import DeliveryOptions
from pipeline.web.env import OptionsError, env_names, options_from_env
from pipeline.web.metrics import Counter, Gauge, Histogram, MetricsRegistry


def test_histogram_buckets_are_cumulative_and_labels_escaped() -> None:
    h = Histogram("x_seconds", "X.", buckets=(0.1, 1.0), labels=("route",))
    for v in (0.05, 0.5, 0.5, 5.0):
        h.observe(v, route='a"b')
    lines = h.samples()
    assert lines[:3] == ['x_seconds_bucket{route="a\\"b",le="0.1"} 1',
                         'x_seconds_bucket{route="a\\"b",le="1"} 3',
                         'x_seconds_bucket{route="a\\"b",le="+Inf"} 4']
    assert lines[-1] == 'x_seconds_count{route="a\\"b"} 4'


def test_metric_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="labels"):
        Counter("c", "C.", labels=("a",)).inc(b="x")
    with pytest.raises(ValueError, match="decrease"):
        Counter("c", "C.").inc(-1)
    with pytest.raises(ValueError, match="increasing"):
        Histogram("h", "H.", buckets=(2.0, 1.0))


def test_registry_renders_every_metric_with_help_and_type() -> None:
    r = MetricsRegistry()
    r.add(Gauge("g", "G.", read=lambda: 2.5))
    r.add(Counter("c_total", "C.", read=lambda: 3))
    assert r.render() == ("# HELP g G.\n# TYPE g gauge\ng 2.5\n"
                          "# HELP c_total C.\n# TYPE c_total counter\nc_total 3\n")


def test_every_delivery_option_has_an_environment_variable() -> None:
    names = env_names(DeliveryOptions, "RTP_DELIVERY_")
    assert names["http_port"] == "RTP_DELIVERY_HTTP_PORT"
    assert set(names) == {f.name for f in dataclasses.fields(DeliveryOptions)}
    options = DeliveryOptions.from_env({"RTP_DELIVERY_SERVE_SHOP": "off",
                                        "RTP_DELIVERY_START_TIMEOUT_S": "2.5"})
    assert options.serve_shop is False and options.start_timeout_s == 2.5


@pytest.mark.parametrize("env, message", [
    ({"RTP_DELIVERY_HTTP_PORT": "eighty"}, "RTP_DELIVERY_HTTP_PORT must be an integer"),
    ({"RTP_DELIVERY_SERVE_SHOP": "maybe"}, "true or false"),
    ({"RTP_DELIVERY_POLL_TIMEOUT_S": "fast"}, "must be a number"),
])
def test_bad_environment_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        options_from_env(DeliveryOptions, "RTP_DELIVERY_", env)


def test_options_check_their_bounds() -> None:
    with pytest.raises(ValueError, match="max_visitors"):
        DeliveryOptions(max_visitors=0)
