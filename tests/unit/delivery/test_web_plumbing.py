"""The shared web pieces (pipeline/web): metrics text, options from the environment."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import Gauge, Histogram

from pipeline.delivery.options import DeliveryOptions
from pipeline.web.env import OptionsError, env_names, options_from_env
from pipeline.web.metrics import ReadCounter, new_registry, render
from tests.scrape import families, value


def test_histogram_buckets_are_cumulative_and_labels_escaped() -> None:
    r = new_registry()
    h = Histogram("x_seconds", "X.", ["route"], buckets=(0.1, 1.0), registry=r)
    for v in (0.05, 0.5, 0.5, 5.0):
        h.labels(route='a"b').observe(v)
    text = render(r).decode()
    assert 'x_seconds_bucket{le="0.1",route="a\\"b"} 1.0' in text
    assert [value(text, "x_seconds_bucket", le=le, route='a"b')
            for le in ("0.1", "1.0", "+Inf")] == [1, 3, 4]
    assert value(text, "x_seconds_count", route='a"b') == 4
    assert value(text, "x_seconds_sum", route='a"b') == 6.05


def test_read_counter_and_gauge_functions_are_read_at_scrape_time() -> None:
    r = new_registry()
    held, rejected = [2.5], [3]
    Gauge("g", "G.", registry=r).set_function(lambda: held[0])
    ReadCounter("c_total", "C.", lambda: rejected[0], r)
    first = render(r).decode()
    assert families(first) == {"g": "gauge", "c_total": "counter"}
    assert (value(first, "g"), value(first, "c_total")) == (2.5, 3)
    held[0], rejected[0] = 1.0, 7
    second = render(r).decode()
    assert (value(second, "g"), value(second, "c_total")) == (1.0, 7)
    assert "_created" not in first + second


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
