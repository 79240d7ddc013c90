"""The UI tests' servers and browser: the real ``faceforge ui`` command in a subprocess on a free
localhost port, and Debian's chromium driven by Playwright (nothing downloaded)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_servers import CHROMIUM, CHROMIUM_FLAGS, STEP_MS, UiServer, start_ui, stop_ui


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """One UI server for the test module, over a fresh working folder."""
    server = start_ui(tmp_path_factory.mktemp("ui-workdir"))
    yield server
    stop_ui(server)


@pytest.fixture(scope="module")
def playwright() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium for the UI tests.")
    expect.set_options(timeout=STEP_MS)  # waits end on what the page shows, this is only the bound
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright) -> Iterator[object]:
    instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def step_ms() -> int:
    return STEP_MS


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests save their screenshots (test artefacts): $FACEFORGE_UI_SCREENSHOTS when
    set (CI keeps that folder), else a pytest temporary folder."""
    chosen = os.environ.get("FACEFORGE_UI_SCREENSHOTS")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen)
    return tmp_path_factory.mktemp("ui-screenshots")
