"""The OBD sample in the cache (``rtp data obd``): checks, re-download, no-op, clear failures.

Most tests run on a small fake sample packed into a fake sdist; the real sample
is the session fixture ``obd_dir`` (downloaded once on a fresh clone), and the
"no registry answered" path runs the real pip against a closed port.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from pipeline.commands import data, import_data
from pipeline.replay.obd_sample import (
    OBD_SAMPLE_FILES,
    ObdSampleError,
    RegistryUnavailable,
    SampleFile,
    check_obd_sample,
    download_obp_sdist,
    ensure_obd_sample,
)
from pipeline.settings import Settings
from tests.datasets import obd_sample_or_fail
from tests.unit.replay.cli_helpers import run_command

Capture = pytest.CaptureFixture[str]

_LOG = b",timestamp,click\n0,2019-11-24,0\n1,2019-11-24,1\n2,2019-11-25,0\n"
_ITEMS = b",item_id\n0,0\n1,1\n"
_CONTENTS = {"random/all.csv": _LOG, "random/item_context.csv": _ITEMS}


def _spec(path: str, data: bytes) -> SampleFile:
    header = tuple(data.decode().splitlines()[0].split(","))
    rows = data.count(b"\n") - 1
    return SampleFile(path, f"pkg-1.0/data/{path}", header, rows,
                      hashlib.sha256(data).hexdigest())


SPECS = tuple(_spec(path, data) for path, data in _CONTENTS.items())


class FakeRegistry:
    """A ``fetch`` that writes a small sdist holding ``contents`` and counts its calls."""

    def __init__(self, contents: dict[str, bytes] | None = None) -> None:
        self.contents = contents if contents is not None else dict(_CONTENTS)
        self.calls = 0

    def __call__(self, dest: Path) -> Path:
        self.calls += 1
        sdist = dest / "pkg-1.0.tar.gz"
        with tarfile.open(sdist, "w:gz") as tar:
            for path, payload in self.contents.items():
                info = tarfile.TarInfo(f"pkg-1.0/data/{path}")
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
        return sdist


def _no_registry(dest: Path) -> Path:
    raise RegistryUnavailable("no package registry answered (test)")


def _fill(folder: Path) -> None:
    for path, payload in _CONTENTS.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(payload)


def test_a_missing_sample_is_downloaded_and_checked(tmp_path: Path) -> None:
    registry = FakeRegistry()
    messages: list[str] = []
    status = ensure_obd_sample(tmp_path / "obd", files=SPECS, fetch=registry,
                               echo=messages.append)
    assert registry.calls == 1
    assert status.fetched == ("random/all.csv", "random/item_context.csv")
    assert not status.was_present
    for path, payload in _CONTENTS.items():
        assert (tmp_path / "obd" / path).read_bytes() == payload
    assert check_obd_sample(tmp_path / "obd", SPECS) == {}
    assert any("no sample in" in m for m in messages)
    assert any(m.startswith("wrote ") and "random/all.csv (3 rows" in m for m in messages)
    assert not list((tmp_path / "obd").rglob("*.partial"))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "obd" / "random" / "all.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_present_valid_sample_is_a_no_op(tmp_path: Path) -> None:
    _fill(tmp_path)
    before = {p: (tmp_path / p).stat().st_mtime_ns for p in _CONTENTS}
    messages: list[str] = []
    status = ensure_obd_sample(tmp_path, files=SPECS, fetch=_no_registry, echo=messages.append)
    assert status.was_present and status.fetched == () and status.problems == {}
    assert {p: (tmp_path / p).stat().st_mtime_ns for p in _CONTENTS} == before
    assert messages == [f"the Open Bandit Dataset sample is already in {tmp_path} "
                        "(2 files: columns, row counts and SHA-256 as recorded)"]


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda b: b[: b.rindex(b"\n", 0, -1) + 1], "2 data rows, expected 3 (truncated?)"),
    (lambda b: b.replace(b"2019-11-25", b"2019-11-26"), "SHA-256 differs from the recorded"),
    (lambda b: b.replace(b",timestamp,", b",time,"), "columns ['', 'time', 'click'] differ"),
    (lambda b: b + b"3,2019-11-25,0\n", "4 data rows, expected 3"),
    (lambda b: b"\xff" + b, "not UTF-8 text"),
    (lambda b: b"", "columns [] differ"),
])
def test_a_damaged_file_is_detected_and_only_it_is_fetched_again(
        tmp_path: Path, damage: object, problem: str) -> None:
    _fill(tmp_path)
    log = tmp_path / "random" / "all.csv"
    log.write_bytes(damage(_LOG))  # type: ignore[operator]
    items_mtime = (tmp_path / "random" / "item_context.csv").stat().st_mtime_ns
    found = check_obd_sample(tmp_path, SPECS)
    assert list(found) == ["random/all.csv"]
    assert problem in found["random/all.csv"]
    registry = FakeRegistry()
    status = ensure_obd_sample(tmp_path, files=SPECS, fetch=registry)
    assert registry.calls == 1
    assert status.fetched == ("random/all.csv",)
    assert status.problems == found
    assert log.read_bytes() == _LOG
    assert (tmp_path / "random" / "item_context.csv").stat().st_mtime_ns == items_mtime


def test_no_registry_is_reported_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(RegistryUnavailable, match="no package registry answered"):
        ensure_obd_sample(tmp_path / "obd", files=SPECS, fetch=_no_registry)
    assert not (tmp_path / "obd").exists() or not any((tmp_path / "obd").rglob("*.csv"))


def test_a_download_with_other_data_is_refused_and_leaves_the_folder_alone(
        tmp_path: Path) -> None:
    _fill(tmp_path)
    (tmp_path / "random" / "all.csv").write_bytes(_LOG[:-10])
    other = FakeRegistry({**_CONTENTS, "random/all.csv": _LOG.replace(b",1\n", b",0\n")})
    with pytest.raises(ObdSampleError, match=r"served different data.*nothing was written"):
        ensure_obd_sample(tmp_path, files=SPECS, fetch=other)
    assert (tmp_path / "random" / "all.csv").read_bytes() == _LOG[:-10]
    incomplete = FakeRegistry({"random/item_context.csv": _ITEMS})
    with pytest.raises(ObdSampleError, match=r"has no pkg-1\.0/data/random/all\.csv"):
        ensure_obd_sample(tmp_path, files=SPECS, fetch=incomplete)


def test_an_unreadable_download_is_an_error(tmp_path: Path) -> None:
    def garbage(dest: Path) -> Path:
        (dest / "pkg-1.0.tar.gz").write_bytes(b"not a tarball")
        return dest / "pkg-1.0.tar.gz"

    with pytest.raises(ObdSampleError, match="not a readable source distribution"):
        ensure_obd_sample(tmp_path, files=SPECS, fetch=garbage)


def _pip_without_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point pip at a closed local port, with no config files and no local wheel folders."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    empty = tmp_path / "no-links"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    monkeypatch.setenv("PIP_RETRIES", "0")


def test_pip_without_a_registry_raises_registry_unavailable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _pip_without_registry(monkeypatch, tmp_path)
    with pytest.raises(RegistryUnavailable) as info:
        download_obp_sdist(tmp_path)
    text = str(info.value)
    assert "no package registry answered with the obp==0.5.7 source distribution" in text
    assert "pip said:" in text and "obp==0.5.7" in text


def test_rtp_data_obd_without_a_registry_exits_3(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Capture) -> None:
    _pip_without_registry(monkeypatch, tmp_path)
    code = run_command(data, ["data", "obd", "--dir", str(tmp_path / "obd")])
    captured = capsys.readouterr()
    assert code == data.EXIT_NO_REGISTRY == 3
    assert captured.out == ""
    assert "rtp data obd: no sample in" in captured.err
    assert "cannot fetch the Open Bandit Dataset sample: no package registry answered" \
        in captured.err
    assert not any((tmp_path / "obd").rglob("*.csv"))
    # rtp import obd without DIR goes the same way, and says so under its own name.
    settings = Settings(cache_dir=tmp_path / "cache")
    code = run_command(import_data, ["import", "obd", "--out", str(tmp_path / "o")], settings)
    assert code == 3
    assert "rtp import obd: cannot fetch the Open Bandit Dataset sample: no package registry " \
        "answered" in capsys.readouterr().err


def test_the_test_fixture_fails_never_skips_without_a_registry(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as info:
        obd_sample_or_fail(tmp_path, fetch=_no_registry)
    assert "need the Open Bandit Dataset sample" in str(info.value)
    assert "could not be downloaded" in str(info.value)
    assert "no package registry answered" in str(info.value)


# -- the real sample (session fixture: downloaded once on a fresh clone) ----------------------


def test_the_real_sample_matches_every_recorded_check(obd_dir: Path) -> None:
    assert check_obd_sample(obd_dir) == {}
    assert [f.rows for f in OBD_SAMPLE_FILES] == [10_000, 80, 10_000, 80]
    assert all(len(f.columns) == (90 if f.path.endswith("all.csv") else 6)
               for f in OBD_SAMPLE_FILES)


def test_rtp_data_obd_on_the_present_sample_prints_its_folder(obd_dir: Path,
                                                              capsys: Capture) -> None:
    assert run_command(data, ["data", "obd", "--dir", str(obd_dir)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(obd_dir.resolve())
    assert "already in" in captured.err


def test_import_obd_without_dir_reads_the_cached_sample(obd_dir: Path, tmp_path: Path,
                                                       capsys: Capture) -> None:
    settings = Settings(cache_dir=obd_dir.parent)
    code = run_command(import_data, ["import", "obd", "--out", str(tmp_path), "--limit", "30",
                                     "--behaviors", "random"], settings)
    assert code == 0
    assert "random: 30 decisions" in capsys.readouterr().out
    assert (tmp_path / "obd_random_decisions.jsonl").is_file()


def test_the_help_explains_the_command(capsys: Capture) -> None:
    with pytest.raises(SystemExit):
        run_command(data, ["data", "obd", "--help"])
    text = capsys.readouterr().out
    for needle in ("obp==0.5.7", "SHA-256", "CC BY 4.0", "Saito", "--dir DIR", "exit status",
                   "no package registry answered"):
        assert needle in text
