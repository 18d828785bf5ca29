"""``docker-compose.yml`` (broker plus every service) agrees with the code it runs.

No Docker here: the file is parsed and held against the ``rtp`` command line, the
settings and the services' options (every ``RTP_*`` variable is one rtp reads, every
published port is the one the command listens on).
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any

import pytest
import yaml

from pipeline.cli import build_parser
from pipeline.collector.options import CollectorOptions
from pipeline.console.options import ConsoleOptions
from pipeline.delivery.options import DeliveryOptions
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.web.env import env_names

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
KAFKA_COMPOSE = PROJECT_ROOT / "docker-compose.kafka.yml"

#: Variables each rtp subcommand reads besides the settings (its options).
OPTION_VARS = {
    "collector": set(env_names(CollectorOptions, "RTP_COLLECTOR_").values()),
    "delivery": set(env_names(DeliveryOptions, "RTP_DELIVERY_").values()),
    "console": set(env_names(ConsoleOptions, "RTP_CONSOLE_").values()),
}
SETTINGS_VARS = {Settings.env_name(f.name) for f in fields(Settings)}


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def _rtp_services() -> dict[str, Any]:
    return {name: s for name, s in _services().items() if "command" in s}


def _args(service: dict[str, Any]) -> argparse.Namespace:
    return build_parser().parse_args(service["command"])


def _published(service: dict[str, Any]) -> set[int]:
    return {int(p.rsplit(":", 1)[1]) for p in service.get("ports", [])}


def test_one_file_starts_the_broker_and_every_service() -> None:
    services = _services()
    commands = {s["command"][0] for s in _rtp_services().values()}
    assert commands == {"topics", "worker", "learner", "collector", "delivery", "console",
                        "channel"}
    channels = {s["command"][1] for s in _rtp_services().values() if s["command"][0] == "channel"}
    assert channels == {"email", "sms"}
    kafka = services["kafka"]["extends"]
    assert (PROJECT_ROOT / kafka["file"]) == KAFKA_COMPOSE
    assert kafka["service"] in yaml.safe_load(KAFKA_COMPOSE.read_text())["services"]
    # Nothing is left out of `docker compose up`: no profiles.
    assert all("profiles" not in s for s in services.values())


@pytest.mark.parametrize("name", sorted(_rtp_services()))
def test_every_command_is_an_rtp_subcommand_the_cli_accepts(name: str) -> None:
    service = _rtp_services()[name]
    args = _args(service)  # exits (SystemExit) on an unknown subcommand or flag
    assert args.command == service["command"][0]
    assert callable(args.handler)


@pytest.mark.parametrize("name", sorted(_rtp_services()))
def test_every_variable_is_one_rtp_reads_and_parses(name: str) -> None:
    service = _rtp_services()[name]
    env = service["environment"]
    command = service["command"][0]
    unknown = set(env) - SETTINGS_VARS - OPTION_VARS.get(command, set())
    assert not unknown, f"{name}: nothing reads {sorted(unknown)}"
    settings = Settings.from_env(env)
    assert settings.bootstrap == "kafka:19092"


def test_the_containers_reach_the_broker_on_its_internal_listener() -> None:
    kafka = _services()["kafka"]["environment"]
    advertised = kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
    for service in _rtp_services().values():
        bootstrap = Settings.from_env(service["environment"]).bootstrap
        assert any(a.endswith("//" + bootstrap) for a in advertised), bootstrap
        listener = next(a for a in advertised if a.endswith("//" + bootstrap)).split(":")[0]
        assert listener in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
        assert f"{listener}://0.0.0.0:{bootstrap.rsplit(':', 1)[1]}" in kafka["KAFKA_LISTENERS"]


@pytest.mark.parametrize("name, options", [("collector", CollectorOptions),
                                           ("delivery", DeliveryOptions),
                                           ("console", ConsoleOptions)])
def test_web_services_publish_the_port_they_listen_on(name: str, options: Any) -> None:
    service = _rtp_services()[name]
    args = _args(service)
    assert args.host == "0.0.0.0"  # reachable from outside the container
    assert _published(service) == {args.http_port}
    assert f"{args.http_port}/readyz" in " ".join(service["healthcheck"]["test"])
    # The options the service starts with (environment, then flags) agree.
    prefix = {"collector": "RTP_COLLECTOR_", "delivery": "RTP_DELIVERY_",
              "console": "RTP_CONSOLE_"}[name]
    built = options.from_env({k: v for k, v in service["environment"].items()
                              if k.startswith(prefix)}, http_port=args.http_port)
    assert built.http_port == args.http_port


def test_the_worker_publishes_its_metrics_port() -> None:
    worker = _rtp_services()["worker"]
    settings = Settings.from_env(worker["environment"])
    assert settings.worker_metrics_port > 0 and settings.worker_metrics_host == "0.0.0.0"
    assert _published(worker) == {settings.worker_metrics_port}


def test_the_web_tier_shares_its_keys() -> None:
    services = _rtp_services()
    collector, delivery = services["collector"]["environment"], services["delivery"]["environment"]
    assert collector["RTP_VISITOR_TOKEN_KEYS"] == delivery["RTP_VISITOR_TOKEN_KEYS"]
    keys = CollectorOptions.from_env(collector).write_keys
    assert DeliveryOptions.from_env(delivery).write_key in keys
    # The storefront's tracker is told the collector's published port.
    url = DeliveryOptions.from_env(delivery).collector_url
    assert int(url.rsplit(":", 1)[1]) in _published(services["collector"])
    # and the collector lets the storefront's origin send from the browser.
    shop = f"http://127.0.0.1:{_args(services['delivery']).http_port}"
    assert shop in CollectorOptions.from_env(collector).cors_origins


def test_the_channels_read_a_contacts_file_that_is_mounted_and_parses() -> None:
    from pipeline.channels.contacts import FileContactResolver

    for name in ("channel-email", "channel-sms"):
        service = _rtp_services()[name]
        contacts = _args(service).contacts
        mounts = {target: source for source, target, *_ in
                  (v.split(":") for v in service["volumes"])}
        source = mounts[str(contacts)]
        FileContactResolver(PROJECT_ROOT / source)  # raises on a file it cannot use
