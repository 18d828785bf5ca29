"""Browser end-to-end tests: headless Debian Chromium driven by Playwright (no browser download).

Playwright for Python drives the system's ``/usr/bin/chromium`` (``executable_path``);
``.ci/run`` installs Debian's ``chromium``. The broker fixtures are the integration
tests' (a real Kafka; a fresh topic prefix per test). Screenshots go to
``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.integration.conftest import kafka, topics

__all__ = ["ARTIFACTS", "browser", "kafka", "topics"]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


# Module scope, not session: Playwright's sync API keeps an event loop running while it is
# open, which would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium."""
    executable = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is needed for the browser tests: apt-get install chromium")
    browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are written."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
