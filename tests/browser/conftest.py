"""A real browser for the page tests: Debian's Chromium (apt package `chromium`, installed by `make browser`, which
`make test` runs) driven headless by Playwright, one fresh profile per test module and a new context per test.
Playwright's own browser downloads are never used."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import sync_playwright

# The storefront's real localstripe process and its settings, shared with tests/storefront rather than copied.
from tests.storefront.conftest import localstripe_url, stripe_server  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: CI runs as root, where Chromium's sandbox refuses to start. No GPU on these machines. No background
# networking: nothing leaves loopback, and the page-weight numbers hold only the page's own requests.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 360, "height": 740}  # a low-end Android phone, as most buyers in the mountain provinces have
DESK = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000  # per action or navigation: a page that takes longer on loopback is a bug, not a slow machine


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module, in a fresh temporary profile (Playwright's launch makes one and removes it).
    Module-scoped, not session: Playwright's sync API holds an event loop that async tests elsewhere must not meet."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs it (apt-get install chromium, as root)")
    # Playwright's sync API keeps its event loop running in this thread while the browser is open; Django would
    # take every ORM call of the test (and of the database setup) for a call from async code and refuse it. The
    # tests themselves stay synchronous, and the live server answers from its own thread.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def _page(browser, viewport: dict):
    """A page in a new context (no cookies, no cache), Vietnamese as its users read it."""
    context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def browser_page(browser):
    """A page on a phone-sized screen: buyers and producers."""
    with _page(browser, PHONE) as page:
        yield page


@pytest.fixture
def desk_page(browser):
    """A page on a desktop screen: officers at a desk."""
    with _page(browser, DESK) as page:
        yield page


@pytest.fixture(autouse=True)
def _reference_data(transactional_db):
    """Browser tests commit their data (live_server serves it): they start from an empty database."""
    for command in ("load_admin_units", "load_catalog_reference", "load_channel_reference"):
        call_command(command, verbosity=0)


def vi(text: str) -> str:
    """What a Vietnamese reader sees for `text` (English if the catalogue is not compiled, as the page would be)."""
    with translation.override("vi"):
        return gettext(text)


# The browser's own count of what crossed the wire: the document and every resource it loaded (0 if from a cache;
# each context is new, so nothing is).
PAGE_WEIGHT = """() => {
  const [document] = performance.getEntriesByType('navigation');
  const resources = performance.getEntriesByType('resource');
  return {
    document: document.transferSize,
    resources: resources.map(r => ({name: r.name, type: r.initiatorType, bytes: r.transferSize})),
  };
}"""


@pytest.fixture
def artifacts(request) -> Path:
    """This test's folder for screenshots and measurements, under $VAR_DIR/artifacts/browser/ (var/test/ with
    `make test`); emptied first so that it only ever holds the last run's files."""
    folder = settings.VAR_DIR / "artifacts" / "browser" / re.sub(r"[^\w.-]+", "_", request.node.name)
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
