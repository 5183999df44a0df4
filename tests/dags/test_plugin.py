"""newsmon's search inside Airflow's own API server (the plugin's FastAPI app and its
navigation link), served over HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.conftest import delete_indices
from tests.fixture_site import FixtureSite
from tests.web_server import WebServer, index_fixture_articles, start_server


@pytest.fixture(scope="module")
def airflow_api(
    fixture_site: FixtureSite, tmp_path_factory: pytest.TempPathFactory, es: Elasticsearch
) -> Iterator[WebServer]:
    settings = index_fixture_articles(fixture_site, tmp_path_factory.mktemp("plugin"))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in settings.model_dump(mode="json").items():
            if key in ("config_dir", "index_prefix", "allow_private_networks"):
                patch.setenv(f"NEWSMON_{key.upper()}", str(value))
        # Every request is an admin: this test is about the plugin, not Airflow's login.
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        from airflow.api_fastapi.app import create_app

        server = start_server(settings, app=create_app(), health="/api/v2/monitor/health")
        yield server
        server.stop()
    delete_indices(es, settings.index_prefix)


def test_search_is_served_by_airflows_api_server(airflow_api: WebServer) -> None:
    page = httpx.get(f"{airflow_api.url}/newsmon/", timeout=30)
    assert page.status_code == 200 and 'src="static/app.js"' in page.text  # relative assets
    assert httpx.get(f"{airflow_api.url}/newsmon/static/app.js").status_code == 200
    found = httpx.get(f"{airflow_api.url}/newsmon/api/search", params={"q": "missile"}).json()
    assert found["total"] == 4


def test_plugin_links_search_from_the_airflow_ui(airflow_api: WebServer) -> None:
    plugins = httpx.get(f"{airflow_api.url}/api/v2/plugins", timeout=30).json()["plugins"]
    newsmon = next(p for p in plugins if p["name"] == "newsmon")
    assert newsmon["fastapi_apps"][0]["url_prefix"] == "/newsmon"
    (view,) = newsmon["external_views"]
    assert (view["href"], view["destination"]) == ("newsmon/", "nav")
