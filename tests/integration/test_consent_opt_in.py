"""Opt-in consent (config file ``consent.mode: opt-in``) holds in a real worker process."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.profiles import decode_view
from pipeline.settings import Settings
from pipeline.topics import apply_topics, topic_specs
from tests.integration.consent_checks import answer_then_browse, assert_decided_and_kept_only
from tests.integration.topic_watch import ABSENT, TopicWatch
from tests.integration.worker_process import WorkerProcess


@pytest.fixture(scope="module")
def opt_in(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Settings, WorkerProcess]]:
    settings = dataclasses.replace(kafka, topic_prefix=f"optin-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    tmp = tmp_path_factory.mktemp("worker")
    config = tmp / "rtp.yaml"
    config.write_text("consent:\n  mode: opt-in\n")
    worker = WorkerProcess(settings, tmp / "data", tmp / "worker.log", config=config,
                           learner=False)
    try:
        worker.wait_ready()
        yield settings, worker
    finally:
        worker.stop()


def test_without_a_consent_record_nothing_is_kept_or_decided_and_with_one_it_is(
        opt_in: tuple[Settings, WorkerProcess], tmp_path: Path) -> None:
    settings, worker = opt_in
    run = uuid.uuid4().hex[:6]
    silent, granted = f"silent-{run}", f"granted-{run}"
    now = int(time.time() * 1000)
    answer_then_browse(settings, worker, granted, True, silent, now)
    assert_decided_and_kept_only(settings, worker, granted, silent, now)
    views = TopicWatch(settings, worker.changelog("visitor-profiles"), decode=False)
    views.wait_for(lambda _: views.latest(granted) not in (None, ABSENT),
                   what="the consenting visitor's view")
    view = views.latest(granted)
    assert isinstance(view, dict) and decode_view(view["raw"]).personalization_allowed
    assert views.latest(silent) == ABSENT
    views.close()


def test_rtp_consent_required_alone_switches_a_worker_to_opt_in(
        kafka: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``RTP_CONSENT_REQUIRED=true`` in the worker's environment, no config file, no flag:
    a visitor without a consent record gets no decision and no state; one who consented in
    the same moment as browsing (the answer first) gets a decision for each page view."""
    settings = dataclasses.replace(kafka, topic_prefix=f"optin-env-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    monkeypatch.setenv("RTP_CONSENT_REQUIRED", "true")  # the worker process inherits it
    worker = WorkerProcess(settings, tmp_path / "data", tmp_path / "worker.log", learner=False)
    try:
        worker.wait_ready()
        run = uuid.uuid4().hex[:6]
        silent, granted = f"silent-{run}", f"granted-{run}"
        now = int(time.time() * 1000)
        answer_then_browse(settings, worker, granted, True, silent, now)
        assert_decided_and_kept_only(settings, worker, granted, silent, now)
    finally:
        worker.stop()
