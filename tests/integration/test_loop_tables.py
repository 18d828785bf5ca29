"""The loop's tables on the real broker: written changelog first, restored exactly.

A table's stores are written through their changelogs; the local folder is deleted; a
new :class:`~topologies.loop.tables.Tables` on an empty folder restores every partition
from the changelogs: the same keys and values, byte for byte, nothing lost, nothing
extra (deletions included). A store left behind (a crash between changelog and local
write) catches up to the same content.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from pipeline.engine.staging import Change
from pipeline.settings import Settings
from pipeline.topics.admin import apply_topics
from pipeline.topics.definitions import TopicSpec
from topologies.loop.outputs import Outputs
from topologies.loop.recovery import ChangelogReader
from topologies.loop.store import PartitionStore
from topologies.loop.tables import Tables, changelog_topic


def _tables(settings: Settings, folder: Path, group: str) -> Tables:
    return Tables(folder, group, ["visitors"], ChangelogReader(settings.bootstrap))


def _content(tables: Tables, partitions: range) -> dict[int, dict[bytes, bytes]]:
    return {p: {k: v for k, _, v in tables.items("visitors", p)} for p in partitions}


def test_a_deleted_folder_is_restored_exactly_from_the_changelogs(
        kafka: Settings, tmp_path: Path) -> None:
    group = f"loop-{uuid.uuid4().hex[:8]}"
    partitions = range(3)
    apply_topics(kafka.bootstrap, [TopicSpec(changelog_topic(group, "visitors"), 3, 1, "", "",
                                             {"cleanup.policy": "compact"})])
    outputs = Outputs(kafka.bootstrap)
    first = _tables(kafka, tmp_path / "a", group)
    first.assign(partitions)
    expected: dict[int, dict[bytes, bytes]] = {p: {} for p in partitions}
    for commit in range(4):  # four commits; later ones overwrite and delete earlier keys
        changes = []
        for i in range(60):
            partition, key = i % 3, f"v{i}".encode()
            if commit == 3 and i % 7 == 0:
                changes.append(Change("visitors", key, partition, None))
                expected[partition].pop(key, None)
            else:
                value = f"{commit}:{i}:{uuid.uuid4().hex}".encode()
                changes.append(Change("visitors", key, partition, value))
                expected[partition][key] = value
        first.write(changes, outputs, bytes, timeout_s=30)
    assert _content(first, partitions) == expected
    first.close()

    shutil.rmtree(tmp_path / "a")
    second = _tables(kafka, tmp_path / "a", group)
    second.assign(partitions)
    assert _content(second, partitions) == expected
    second.close()

    # A store behind its changelog (its last commit lost locally) catches up the same way.
    store = PartitionStore.open(tmp_path / "a" / "tables" / "visitors" / "1")
    behind = store.changelog_offset - 25
    store.write({b"stale": b"left from before"}, behind)  # a key the changelog never had...
    store.close()
    third = _tables(kafka, tmp_path / "a", group)
    third.assign(partitions)
    content = _content(third, partitions)
    third.close()
    outputs.close()
    # ... stays (the changelog is folded in from the offset on; it deletes nothing it never
    # wrote), and everything else equals the changelog's content.
    assert content[1].pop(b"stale") == b"left from before"
    assert content == expected


def test_a_store_idle_longer_than_tombstones_are_kept_is_rebuilt_and_unowned_ones_go(
        kafka: Settings, tmp_path: Path) -> None:
    """A deletion compacted away while a store sat idle must not come back: such a store is
    rebuilt from the changelog, not caught up; stores of partitions not assigned are deleted."""
    group = f"loop-{uuid.uuid4().hex[:8]}"
    topic = changelog_topic(group, "visitors")
    apply_topics(kafka.bootstrap, [TopicSpec(topic, 2, 1, "", "", {"cleanup.policy": "compact"})])
    outputs = Outputs(kafka.bootstrap)
    tables = _tables(kafka, tmp_path, group)
    tables.assign(range(2))
    tables.write([Change("visitors", b"kept", 0, b"1"), Change("visitors", b"x", 1, b"2")],
                 outputs, bytes, timeout_s=30)
    tables.close()
    outputs.close()
    # What an idle store may hold: a key whose tombstone the changelog no longer has.
    store = PartitionStore.open(tmp_path / "tables" / "visitors" / "0")
    store.write({b"erased long ago": b"personal data"}, store.changelog_offset,
                now_ms=1_000_000)  # last written in 1970: idle far beyond any retention
    store.close()

    reader = ChangelogReader(kafka.bootstrap, max_idle_ms=3_600_000)
    again = Tables(tmp_path, group, ["visitors"], reader)
    again.assign([0])
    assert {k: v for k, _, v in again.items("visitors", 0)} == {b"kept": b"1"}
    assert again.prune() == [1]
    assert again.local_partitions("visitors") == [0]
    again.close()
    reader.close()
