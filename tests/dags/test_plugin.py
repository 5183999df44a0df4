"""newsmon's search inside a real `airflow api-server` (the plugin's FastAPI app and its
navigation link), over HTTP on loopback and in headless Chromium, behind Airflow's own
login."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import Elasticsearch
from playwright.sync_api import Page, expect

from tests.conftest import delete_indices
from tests.support.airflow_api import ANALYST, AirflowApi, airflow_api_server
from tests.support.browser import chromium
from tests.support.fixture_site import FixtureSite
from tests.support.web_server import index_fixture_articles

LOGIN_PAGE = re.compile(r"/auth/login\b")


@pytest.fixture(scope="module")
def airflow_api(
    airflow_db: None,
    fixture_site: FixtureSite,
    tmp_path_factory: pytest.TempPathFactory,
    es: Elasticsearch,
) -> Iterator[AirflowApi]:
    settings = index_fixture_articles(fixture_site, tmp_path_factory.mktemp("plugin"))
    try:
        with airflow_api_server(settings, tmp_path_factory.mktemp("api-server")) as api:
            yield api
    finally:
        delete_indices(es, settings.index_prefix)


def test_search_is_served_by_airflows_api_server(airflow_api: AirflowApi) -> None:
    bearer = {"Authorization": f"Bearer {airflow_api.token()}"}
    page = httpx.get(f"{airflow_api.url}/newsmon/", headers=bearer, timeout=30)
    assert page.status_code == 200 and 'src="static/app.js"' in page.text  # relative assets
    assert httpx.get(f"{airflow_api.url}/newsmon/static/app.js", headers=bearer).status_code == 200
    found = httpx.get(
        f"{airflow_api.url}/newsmon/api/search", params={"q": "missile"}, headers=bearer
    ).json()
    assert found["total"] == 4


def test_airflows_session_cookie_is_a_login_too(airflow_api: AirflowApi) -> None:
    cookies = {"_token": airflow_api.token()}
    found = httpx.get(
        f"{airflow_api.url}/newsmon/api/search", params={"q": "missile"}, cookies=cookies
    )
    assert found.status_code == 200 and found.json()["total"] == 4


@pytest.mark.parametrize(
    "path", ["api/search?q=missile", "api/health", "openapi.json", "static/app.js"]
)
def test_without_a_login_the_api_answers_401(airflow_api: AirflowApi, path: str) -> None:
    answer = httpx.get(f"{airflow_api.url}/newsmon/{path}")
    assert answer.status_code == 401
    assert answer.headers["X-Newsmon-Login"] == "airflow"
    assert "log in to Airflow" in answer.json()["detail"]


def test_a_forged_or_wrong_token_answers_401(airflow_api: AirflowApi) -> None:
    token = airflow_api.token()
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for value in (forged, "not-a-jwt", airflow_api.password):
        answer = httpx.get(
            f"{airflow_api.url}/newsmon/api/search", headers={"Authorization": f"Bearer {value}"}
        )
        assert answer.status_code == 401, value


def test_a_logged_out_browser_is_sent_to_airflows_login(airflow_api: AirflowApi) -> None:
    page = httpx.get(f"{airflow_api.url}/newsmon/?q=missile", headers={"Accept": "text/html"})
    assert page.status_code in (302, 307)
    login = httpx.URL(page.headers["location"])
    assert login.path == "/auth/login"
    assert login.params["next"] == f"{airflow_api.url}/newsmon/?q=missile"


def test_a_token_stops_working_once_its_user_logs_out(airflow_api: AirflowApi) -> None:
    bearer = {"Authorization": f"Bearer {airflow_api.token()}"}
    search = f"{airflow_api.url}/newsmon/api/search"
    assert httpx.get(search, headers=bearer).status_code == 200
    httpx.get(f"{airflow_api.url}/api/v2/auth/logout", headers=bearer)
    assert httpx.get(search, headers=bearer).status_code == 401


def test_plugin_links_search_from_the_airflow_ui(airflow_api: AirflowApi) -> None:
    plugins = httpx.get(
        f"{airflow_api.url}/api/v2/plugins",
        headers={"Authorization": f"Bearer {airflow_api.token()}"},
        timeout=30,
    ).json()["plugins"]
    newsmon = next(p for p in plugins if p["name"] == "newsmon")
    assert newsmon["fastapi_apps"][0]["url_prefix"] == "/newsmon"
    (view,) = newsmon["external_views"]
    assert (view["href"], view["destination"]) == ("newsmon/", "nav")


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as browser:
        context = browser.new_context()
        opened = context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        yield opened
        context.close()
    assert errors == []


def test_in_a_browser_log_in_search_log_out_blocked(airflow_api: AirflowApi, page: Page) -> None:
    search = f"{airflow_api.url}/newsmon/?q=missile"
    page.goto(search)
    expect(page).to_have_url(LOGIN_PAGE)
    page.fill("input[name=username]", ANALYST)
    page.fill("input[name=password]", airflow_api.password)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(search)  # back where the analyst was going
    page.get_by_test_id("query").fill("missile")
    page.get_by_test_id("search-button").click()
    expect(page.get_by_test_id("total")).to_contain_text("4 articles")
    (session,) = [c["value"] for c in page.context.cookies() if c["name"] == "_token"]

    page.goto(f"{airflow_api.url}/api/v2/auth/logout")  # what the Airflow UI's Logout opens
    expect(page).to_have_url(LOGIN_PAGE)
    page.goto(search)
    expect(page).to_have_url(LOGIN_PAGE)
    # The old session cookie, replayed, is refused: logging out revoked it.
    replayed = page.request.get(
        f"{airflow_api.url}/newsmon/api/search?q=missile", headers={"Cookie": f"_token={session}"}
    )
    assert replayed.status == 401


def test_in_a_browser_an_expired_session_goes_back_to_the_login(
    airflow_api: AirflowApi, page: Page
) -> None:
    page.context.add_cookies(
        [{"name": "_token", "value": airflow_api.token(), "url": airflow_api.url}]
    )
    page.goto(f"{airflow_api.url}/newsmon/")
    page.get_by_test_id("query").fill("missile")
    page.get_by_test_id("search-button").click()
    expect(page.get_by_test_id("total")).to_contain_text("4 articles")

    page.context.clear_cookies()  # the session ends while the page is open
    page.get_by_test_id("query").fill("putin")
    page.get_by_test_id("search-button").click()
    expect(page).to_have_url(LOGIN_PAGE)
