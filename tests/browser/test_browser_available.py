"""The one browser test that needs no playwright import: it says why the others did not run."""

from __future__ import annotations

from typing import Any


def test_chromium_and_playwright_are_available(chromium: Any) -> None:
    assert chromium.is_connected()
