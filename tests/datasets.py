"""Public data the tests read, fetched into the cache by the same code as ``rtp data obd``.

Nothing outside the repository is read: a fresh clone downloads the Open Bandit
Dataset sample once (into ``<RTP_CACHE_DIR or .cache>/obd``) and later runs
only check it. When it cannot be downloaded the tests that need it fail with
the reason; they are never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.replay.obd_sample import (
    ObdSampleError,
    RegistryUnavailable,
    default_obd_dir,
    download_obp_sdist,
    ensure_obd_sample,
)
from pipeline.settings import Settings


def obd_sample_or_fail(cache_dir: Path | None = None,
                       fetch: Callable[[Path], Path] = download_obp_sdist) -> Path:
    """The folder of the valid OBD sample under ``cache_dir``; fails the test when unavailable."""
    directory = default_obd_dir(cache_dir if cache_dir is not None
                                else Settings.from_env().cache_dir)
    try:
        return ensure_obd_sample(directory, fetch=fetch).directory
    except RegistryUnavailable as exc:
        reason = (f"these tests need the Open Bandit Dataset sample, which is not in "
                  f"{directory} and could not be downloaded (`rtp data obd`): {exc}")
    except ObdSampleError as exc:
        reason = f"these tests need the Open Bandit Dataset sample in {directory}: {exc}"
    pytest.fail(reason, pytrace=False)
