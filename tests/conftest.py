"""Shared fixtures. Real instrument files come from SULFURSCOPE_REALDATA (default ../shared/data).

Where the folder is absent the real-data tests skip with a reason; with SULFURSCOPE_REQUIRE_REALDATA=1
(set by .ci/run) a missing folder is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("SULFURSCOPE_REALDATA", ROOT.parent / "shared" / "data")).resolve()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-cases",
        type=int,
        default=None,
        help="mutants in tests/fuzz (default: a small fixed budget; e.g. 100000 for a long run)",
    )


def realdata_path(*parts: str) -> Path:
    """Path of a real instrument file; skip (or fail in CI) when it is not there."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        msg = f"real instrument data not found at {p} (set SULFURSCOPE_REALDATA)"
        if os.environ.get("SULFURSCOPE_REQUIRE_REALDATA"):
            pytest.fail(msg)
        pytest.skip(msg)
    return p


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real-data folder (skips or fails when absent, see module docstring)."""
    return realdata_path()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (skips locally when absent; CI installs both
    and fails instead of skipping)."""
    import shutil

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api

        assert Path(chromium).exists(), "CI: chromium missing (.ci/run installs it)"
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
        if not Path(chromium).exists():
            pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


def check_report_in_browser(browser, report: Path, screenshot: Path, *, min_images: int) -> object:
    """Open a report in the browser: it loads from the file alone (no network), every figure
    decodes, no console errors or warnings; a full-page screenshot is written. Returns the page."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    messages, errors, requests = [], [], []
    page.on("console", lambda m: messages.append((m.type, m.text)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(report.as_uri(), wait_until="load")
    sizes = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
    )
    assert len(sizes) >= min_images, len(sizes)
    assert all(c and w > 0 and h > 0 for c, w, h in sizes), sizes
    assert not errors, errors
    assert [m for m in messages if m[0] in ("error", "warning")] == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    page.screenshot(path=str(screenshot), full_page=True)
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    artefacts = os.environ.get("SULFURSCOPE_ARTIFACTS")  # CI keeps the screenshots (.ci/run)
    if artefacts:
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(artefacts) / f"{screenshot.stem}-viewport.png"))
        (Path(artefacts) / screenshot.name).write_bytes(data)
    return page
