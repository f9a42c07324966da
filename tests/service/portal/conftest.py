"""Debian's Chromium driven by Playwright, for the pages the service serves (the portal, the API docs).

No browser is ever downloaded: the tests here skip when `/usr/bin/chromium` is missing, except in CI, where
that is a failure (`dev.py test` installs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is not installed: dev.py test installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed (/usr/bin/chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
