"""The study report in headless Chromium: it opens, every figure renders, no console errors, screenshot."""

from __future__ import annotations


def test_report_opens_renders_figures_without_console_errors(reported_study, browser, tmp_path):
    folder, _ = reported_study
    report = folder / "out" / "report.html"
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    messages, errors, requests = [], [], []
    page.on("console", lambda m: messages.append((m.type, m.text)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(report.as_uri(), wait_until="load")
    title = page.title()
    assert "Study" in title and "<b>" in title  # the raw title text, shown as text
    sizes = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
    )
    assert len(sizes) >= 8
    assert all(c and w > 0 and h > 0 for c, w, h in sizes), sizes
    assert page.locator("h2", has_text="Provenance").count() == 1
    assert page.locator("td", has_text="<script>alert(1)</script>").count() >= 1  # shown as text
    assert not errors
    assert [m for m in messages if m[0] in ("error", "warning")] == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
