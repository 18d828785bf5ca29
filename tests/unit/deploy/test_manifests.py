"""The Kubernetes manifests and the Dockerfile agree with the code they deploy.

Docker and a cluster are not available to the test suite: these checks parse the files
and hold them against ``pipeline.settings`` (the ``RTP_*`` names), Faust's settings
(the names Faust reads from the environment) and the ``rtp`` command line.
"""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from faust.types.settings import Settings as FaustSettings

from pipeline.cli import build_parser
from pipeline.collector.options import CollectorOptions
from pipeline.console.options import ConsoleOptions
from pipeline.delivery.options import DeliveryOptions
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.web.env import env_names

K8S = PROJECT_ROOT / "deploy" / "k8s"
DOCKERFILE = PROJECT_ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"

Doc = dict[str, Any]


def _docs() -> list[Doc]:
    out: list[Doc] = []
    for path in sorted(K8S.glob("*.yaml")):
        out.extend(d for d in yaml.safe_load_all(path.read_text()) if d is not None)
    return out


def _one(kind: str) -> Doc:
    found = [d for d in _docs() if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _deployment(component: str) -> Doc:
    found = [d for d in _docs() if d["kind"] == "Deployment"
             and d["metadata"]["labels"]["app.kubernetes.io/component"] == component]
    assert len(found) == 1, f"expected one {component} Deployment, found {len(found)}"
    return found[0]


def _deployments() -> list[Doc]:
    return [d for d in _docs() if d["kind"] == "Deployment"]


def _subcommands() -> set[str]:
    action = next(a for a in build_parser()._actions if a.dest == "command")
    return set(action.choices)  # type: ignore[arg-type]


def _pod(deployment: Doc) -> Doc:
    pod: Doc = deployment["spec"]["template"]["spec"]
    return pod


def _containers(deployment: Doc) -> list[Doc]:
    pod = _pod(deployment)
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_every_manifest_parses_and_is_namespace_free() -> None:
    docs = _docs()
    assert {d["kind"] for d in docs} >= {"ConfigMap", "Deployment", "PodDisruptionBudget"}
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"]
        assert "namespace" not in doc["metadata"], doc["metadata"]["name"]


def test_configmap_keys_are_settings_rtp_reads_or_faust_settings() -> None:
    data = _one("ConfigMap")["data"]
    rtp = {Settings.env_name(f.name) for f in fields(Settings)}
    faust = {p.env_name for p in FaustSettings.SETTINGS.values() if p.env_name}
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings"
    unknown = [k for k in data if k not in rtp and k not in faust]
    assert not unknown, f"neither rtp nor Faust reads {unknown}"
    assert "RTP_KAFKA_BOOTSTRAP" in data  # the broker address comes from the ConfigMap
    # The values parse as the settings they configure.
    settings = Settings.from_env({k: v for k, v in data.items() if k in rtp})
    assert settings.partitions >= 1 and settings.replication >= 1


@pytest.mark.parametrize("component", ["personalize", "learner", "collector", "delivery",
                                       "console", "channel-email", "channel-sms"])
def test_the_deployment_takes_every_setting_from_the_configmap(component: str) -> None:
    config = _one("ConfigMap")
    deployment = _deployment(component)
    for container in _containers(deployment):
        refs = [e["configMapRef"]["name"] for e in container.get("envFrom", [])]
        assert refs == [config["metadata"]["name"]], container["name"]
        for env in container.get("env", []):
            key_ref = env.get("valueFrom", {}).get("configMapKeyRef")
            if key_ref:
                assert key_ref["name"] == config["metadata"]["name"]
                assert key_ref["key"] in config["data"]


def test_worker_container_runs_rtp_worker_with_resources_and_probes() -> None:
    deployment = _deployment("personalize")
    worker = next(c for c in _pod(deployment)["containers"] if c["name"] == "worker")
    assert worker["args"][0] == "worker"
    assert "worker" in _subcommands()
    resources = worker["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]
    # Its own /metrics: the port of RTP_WORKER_METRICS_PORT, reachable in the pod.
    env = {e["name"]: e.get("value") for e in worker["env"]}
    settings = Settings.from_env({k: v for k, v in env.items() if v is not None})
    assert settings.worker_metrics_host == "0.0.0.0"
    metrics = next(p for p in worker["ports"] if p["name"] == "metrics")
    assert metrics["containerPort"] == settings.worker_metrics_port > 0
    # Readiness: caught-up lag, through `rtp ready`.
    command = worker["readinessProbe"]["exec"]["command"]
    words = shlex.split(command[-1]) if command[0] == "sh" else command
    words = words[1:] if words[0] == "exec" else words
    assert words[:2] == ["rtp", "ready"], words
    assert "ready" in _subcommands(), (
        "the readiness probe runs `rtp ready`, which the CLI does not have yet")
    # Liveness/startup use the profile side's Faust web server: `rtp worker` starts the
    # profile side as a child process and passes it its --web-port (the decision loop has
    # no HTTP endpoint), so the profile side must not be turned off.
    assert "--no-profiles" not in worker["args"]
    port = worker["args"][worker["args"].index("--web-port") + 1]
    assert {p["containerPort"] for p in worker["ports"]} == {int(port),
                                                            settings.worker_metrics_port}
    for probe in ("livenessProbe", "startupProbe"):
        assert worker[probe]["httpGet"]["port"] in {"faust-web", int(port)}
    # RocksDB lives on the data volume, which is where RTP_CACHE_DIR points.
    data_dir = worker["args"][worker["args"].index("--data-dir") + 1]
    cache = _one("ConfigMap")["data"]["RTP_CACHE_DIR"]
    mounts = {m["mountPath"] for m in worker["volumeMounts"]}
    assert cache in mounts and data_dir.startswith(cache + "/")


def test_pods_run_as_the_images_non_root_user() -> None:
    user = next(line.split()[1] for line in DOCKERFILE.read_text().splitlines()
                if line.startswith("USER "))
    for deployment in _deployments():
        pod = _pod(deployment)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert user.split(":")[0] == str(pod["securityContext"]["runAsUser"]) != "0"


def test_the_budget_and_the_deployment_select_the_same_pods() -> None:
    deployment = _deployment("personalize")
    budget = _one("PodDisruptionBudget")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert budget["spec"]["maxUnavailable"] == 1


def test_every_container_uses_the_same_image() -> None:
    images = {c["image"] for d in _deployments() for c in _containers(d)}
    assert len(images) == 1, images


def test_one_learner_runs_rtp_learner_with_arguments_the_cli_accepts() -> None:
    deployment = _deployment("learner")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # never two at once
    (learner,) = _pod(deployment)["containers"]
    args = build_parser().parse_args(learner["args"])
    assert learner["args"][0] == "learner" and args.snapshot_every > 0
    assert learner["resources"]["requests"]["cpu"] and learner["resources"]["limits"]["memory"]
    assert learner["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_one_pod_per_channel_keeps_its_state_on_a_volume_and_contacts_in_a_secret(
        channel: str) -> None:
    deployment = _deployment(f"channel-{channel}")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # never two at once
    (container,) = _pod(deployment)["containers"]
    args = build_parser().parse_args(container["args"])
    assert (args.command, args.channel) == ("channel", channel)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in _pod(deployment)["volumes"]}
    # The state file is on a persistent volume claimed in the same folder.
    state = str(args.state)
    folder = state.rsplit("/", 1)[0]
    claim = volumes[mounts[folder]]["persistentVolumeClaim"]["claimName"]
    assert [d for d in _docs() if d["kind"] == "PersistentVolumeClaim"
            and d["metadata"]["name"] == claim]
    # The contacts (personal data) come from a Secret, as a file.
    contacts = str(args.contacts)
    assert "secret" in volumes[mounts[contacts.rsplit("/", 1)[0]]]
    # The sink is filled in by Kubernetes from an env variable read from a Secret.
    sink = args.sink
    assert sink.startswith("$(") and sink.endswith(")")
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env[sink[2:-1]]["valueFrom"]


def _ignored(path: str, patterns: list[str]) -> bool:
    """``.dockerignore`` semantics for the simple patterns used here (last match wins)."""
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatch(p, bare) or fnmatch.fnmatch(p, bare.replace("**/", ""))
               for p in prefixes):
            verdict = not negate
    return verdict


def _dockerfile_copies() -> list[str]:
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources.extend(words[1:-1])
    return sources


def test_the_dockerfile_builds_what_the_context_contains() -> None:
    text = DOCKERFILE.read_text()
    assert "FROM ${PYTHON_IMAGE}" in text and "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert 'ENTRYPOINT ["rtp"]' in text and 'CMD ["worker"' in text
    patterns = [p.strip() for p in DOCKERIGNORE.read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    copies = _dockerfile_copies()
    assert copies, "the Dockerfile copies nothing"
    for source in copies:
        assert (PROJECT_ROOT / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is excluded by .dockerignore"
    # What the running code reads from the source tree travels with the image.
    for needed in ("schemas", "deploy/catalog", "pipeline", "topologies"):
        assert needed in copies, needed


@pytest.mark.parametrize("path, ignored", [
    ("tests/unit", True), (".cache/kafka", True), ("pipeline/cli.py", False),
    ("pipeline/__pycache__/cli.pyc", True), ("deploy/catalog/actions.yaml", False),
    ("deploy/k8s/deployment.yaml", True)])
def test_dockerignore_keeps_the_context_small(path: str, ignored: bool) -> None:
    patterns = [p.strip() for p in DOCKERIGNORE.read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    assert _ignored(path, patterns) is ignored


def _web_app(component: str) -> web.Application:
    """The aiohttp app the component serves, built without connecting to anything."""
    settings = Settings(kafka_port=1, visitor_token_keys="0123456789abcdef0123")
    if component == "collector":
        from pipeline.collector import CollectorService
        from pipeline.collector.app import build_app as collector_app

        return collector_app(CollectorService(settings, CollectorOptions(
            http_port=0, write_keys=frozenset({"k"}))).state)
    if component == "delivery":
        from pipeline.delivery import DeliveryService
        from pipeline.delivery.app import build_app as delivery_app

        return delivery_app(DeliveryService(settings, DeliveryOptions(http_port=0)).state)
    from pipeline.console import ConsoleService
    from pipeline.console.app import build_app as console_app

    service = ConsoleService(settings, ConsoleOptions(http_port=0))
    return console_app(service.snapshot, service.status)


#: The options each web command reads from the environment, and their prefix.
_OPTIONS: dict[str, tuple[type[Any], str]] = {
    "collector": (CollectorOptions, "RTP_COLLECTOR_"),
    "delivery": (DeliveryOptions, "RTP_DELIVERY_"),
    "console": (ConsoleOptions, "RTP_CONSOLE_"),
}


@pytest.mark.parametrize("component", ["collector", "delivery", "console"])
def test_web_services_listen_where_their_probes_and_service_look(component: str) -> None:
    deployment = _deployment(component)
    (container,) = _pod(deployment)["containers"]
    args = build_parser().parse_args(container["args"])
    assert args.command == component
    assert args.host == "0.0.0.0"
    (port,) = container["ports"]
    assert port["containerPort"] == args.http_port
    routes = {r.resource.canonical for r in _web_app(component).router.routes()
              if r.method == "GET" and r.resource is not None}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["port"] in {port["name"], port["containerPort"]}
        assert get["path"] == path and path in routes, (component, probe, sorted(routes))
    # Prometheus scrapes /metrics on the same port (with a bearer token: README, Monitoring).
    assert "/metrics" in routes, (component, sorted(routes))
    # The Service sends its traffic to that port, of these pods.
    (service,) = [d for d in _docs() if d["kind"] == "Service"
                  and d["metadata"]["labels"]["app.kubernetes.io/component"] == component]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {port["name"],
                                                                   port["containerPort"]}
    # Every variable set on the container is a setting or one of this command's options.
    known = {Settings.env_name(f.name) for f in fields(Settings)}
    options, prefix = _OPTIONS[component]
    known |= set(env_names(options, prefix).values())
    unknown = [e["name"] for e in container.get("env", []) if e["name"] not in known]
    assert not unknown, f"{component}: nothing reads {unknown}"
    # Secrets come from a Secret, never written into the manifest.
    for env in container.get("env", []):
        if env["name"].endswith(("_KEYS", "_TOKEN")):
            assert "secretKeyRef" in env["valueFrom"], env["name"]


def test_the_web_tier_signs_and_checks_visitor_tokens_with_the_same_secret() -> None:
    refs = []
    for component in ("collector", "delivery"):
        (container,) = _pod(_deployment(component))["containers"]
        env = {e["name"]: e for e in container["env"]}
        refs.append(env["RTP_VISITOR_TOKEN_KEYS"]["valueFrom"]["secretKeyRef"])
    assert refs[0] == refs[1]
