"""The web UI in headless Chromium (Debian's package, driven by Playwright), against the
real app and Elasticsearch. A screenshot of the search page is kept in test-artifacts/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from pipeline.config import load_alerts
from tests.conftest import REPO
from tests.support.browser import chromium
from tests.support.web_server import HOSTILE_TITLE, WebServer

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, web: WebServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []  # no script error in the app


def test_search_filter_open_article_with_evidence(page: Page, web: WebServer) -> None:
    page.goto(f"{web.url}/")
    page.get_by_test_id("query").fill("missile")
    page.get_by_test_id("search-button").click()
    results = page.get_by_test_id("result")
    expect(results).to_have_count(3)
    expect(page.get_by_test_id("total")).to_contain_text("4 articles")
    expect(page.get_by_test_id("timeline")).to_be_visible()
    expect(results.first.locator("mark").first).to_have_text("missile")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-page.png"), full_page=True)

    topics = page.get_by_test_id("facet-topics")
    topics.locator("[data-value='russia-dprk-relations']").click()
    # Filtered by id, shown by name.
    expect(page.get_by_test_id("active-filter")).to_have_text("topic: Russia–DPRK relations ×")
    expect(results).to_have_count(1)  # one story: the original and its syndicated copy
    kremlin = results.filter(has_text="Kremlin hosts")
    expect(kremlin.get_by_test_id("copies")).to_contain_text("2 copies")

    kremlin.get_by_test_id("result-title").click()
    expect(page.get_by_test_id("article-title")).to_contain_text("Kremlin hosts")
    evidence = page.get_by_test_id("article-text").get_by_test_id("evidence")
    assert evidence.count() >= 3
    marked = set(evidence.all_inner_texts())
    assert {"Kremlin", "North Korean"} & marked
    expect(page.get_by_test_id("tags")).to_contain_text("russia-dprk-relations")
    expect(page.get_by_test_id("cluster-copies").locator("li")).to_have_count(1)


def test_save_a_search_and_make_it_an_alert_rule(page: Page, web: WebServer) -> None:
    page.goto(f"{web.url}/#/search?q=Kremlin&topic=korean-peninsula")
    expect(page.get_by_test_id("result").first).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept("Kremlin watch"))
    page.get_by_test_id("save-search").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Saved as “Kremlin watch”")
    page.get_by_test_id("nav-saved").click()
    saved = page.get_by_test_id("saved-search").filter(has_text="Kremlin watch")
    saved.get_by_test_id("alert-mode").select_option("hourly")
    saved.get_by_test_id("make-alert").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Alert rule “kremlin-watch” added")
    expect(page.get_by_test_id("alert-made")).to_contain_text("kremlin-watch")
    rule = next(r for r in load_alerts(web.settings).rules if r.id == "kremlin-watch")
    assert (rule.query, rule.topics, rule.channels, rule.mode) == (
        "Kremlin",
        ["korean-peninsula"],
        ["log"],
        "hourly",
    )
    page.get_by_test_id("nav-alerts").click()
    expect(page.get_by_test_id("rules")).to_contain_text("kremlin-watch")


def test_export_csv(page: Page, web: WebServer, tmp_path: Path) -> None:
    page.goto(f"{web.url}/#/search?q=missile")
    expect(page.get_by_test_id("result").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    target = tmp_path / "export.csv"
    download.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 4 and all("missile" in r["title"].lower() or r["id"] for r in rows)


def test_hostile_title_renders_as_text(page: Page, web: WebServer) -> None:
    page.goto(f"{web.url}/#/search?q=factory")
    hostile = page.get_by_test_id("result").filter(has_text="Hostile Feed")
    expect(hostile.get_by_test_id("result-title")).to_have_text(HOSTILE_TITLE)
    hostile.get_by_test_id("result-title").click()
    expect(page.get_by_test_id("article-title")).to_have_text(HOSTILE_TITLE)
    expect(page.get_by_test_id("article-text")).to_contain_text("<script>window.pwned = 3</script>")
    assert page.evaluate("window.pwned") is None  # no script from the feed ran
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0


def test_malformed_query_shows_a_message(page: Page, web: WebServer) -> None:
    page.goto(f"{web.url}/#/search?q=%22unclosed%20AND%20(")
    expect(page.get_by_test_id("error")).to_contain_text("cannot parse query")


def test_feeds_and_alert_history_pages(page: Page, web: WebServer) -> None:
    page.goto(f"{web.url}/#/feeds")
    feeds = page.get_by_test_id("feeds")
    expect(feeds).to_contain_text("Fixture fixture-world")
    expect(feeds.locator(".status-failed").first).to_be_visible()
    page.get_by_test_id("nav-alerts").click()
    expect(page.get_by_test_id("events")).to_contain_text("dprk-cruise-missiles")
