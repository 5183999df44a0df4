"""newsmon's search inside a real `airflow api-server` (the plugin's FastAPI app and its
navigation link), over HTTP on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.conftest import delete_indices
from tests.support.fixture_site import FixtureSite
from tests.support.web_server import index_fixture_articles


@pytest.fixture(scope="module")
def airflow_api(
    airflow_db: None,
    fixture_site: FixtureSite,
    tmp_path_factory: pytest.TempPathFactory,
    es: Elasticsearch,
) -> Iterator[str]:
    """`airflow api-server` as its own process, with the plugins folder of the repo."""
    settings = index_fixture_articles(fixture_site, tmp_path_factory.mktemp("plugin"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "NEWSMON_CONFIG_DIR": str(settings.config_dir),
        "NEWSMON_INDEX_PREFIX": settings.index_prefix,
        # Every request is an admin: this test is about the plugin, not Airflow's login.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    airflow = Path(sys.executable).parent / "airflow"
    log = tmp_path_factory.mktemp("api-server") / "api-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, (
                "api-server did not start: " + log.read_text()[-3000:]
            )
            try:
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        delete_indices(es, settings.index_prefix)


def test_search_is_served_by_airflows_api_server(airflow_api: str) -> None:
    page = httpx.get(f"{airflow_api}/newsmon/", timeout=30)
    assert page.status_code == 200 and 'src="static/app.js"' in page.text  # relative assets
    assert httpx.get(f"{airflow_api}/newsmon/static/app.js").status_code == 200
    found = httpx.get(f"{airflow_api}/newsmon/api/search", params={"q": "missile"}).json()
    assert found["total"] == 4


def test_plugin_links_search_from_the_airflow_ui(airflow_api: str) -> None:
    plugins = httpx.get(f"{airflow_api}/api/v2/plugins", timeout=30).json()["plugins"]
    newsmon = next(p for p in plugins if p["name"] == "newsmon")
    assert newsmon["fastapi_apps"][0]["url_prefix"] == "/newsmon"
    (view,) = newsmon["external_views"]
    assert (view["href"], view["destination"]) == ("newsmon/", "nav")
