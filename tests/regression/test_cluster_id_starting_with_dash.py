"""Regression: a random KRaft cluster id beginning with "-" was read as a flag by kafka-storage.

Seen on a fresh CI machine: ``kafka-storage: error: argument --cluster-id/-t: expected one
argument``. The id is now passed as ``--cluster-id=<id>``. Needs Java and the broker jars
(which ``make test`` has resolved before the suite runs).
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from pathlib import Path

import pytest

from pipeline.broker import local
from pipeline.broker.local import LocalKafka
from pipeline.settings import Settings


def test_storage_formats_with_a_cluster_id_that_starts_with_a_dash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dash_id = base64.urlsafe_b64decode("-" + "A" * 21 + "==")
    monkeypatch.setattr(local.uuid, "uuid4", lambda: uuid.UUID(bytes=dash_id))
    settings = dataclasses.replace(Settings.from_env(), kafka_port=39092,
                                   kafka_controller_port=39093)
    broker = LocalKafka(settings, echo=lambda _: None)
    broker.ensure_jars()
    broker.run_dir = tmp_path
    broker.data_dir = tmp_path / "data"
    broker.config_file = tmp_path / "server.properties"
    broker.log_config = tmp_path / "log4j2.properties"
    broker.log_file = tmp_path / "broker.log"
    broker._write_config()
    broker._format_storage()
    meta = (tmp_path / "data" / "meta.properties").read_text()
    assert "cluster.id=-AAAAAAAAAAAAAAAAAAAAA" in meta
