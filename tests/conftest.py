"""Shared fixtures: the fixture HTTP site, per-run index prefixes, the real Elasticsearch.

Integration and DAG tests need the Elasticsearch that `make test` starts (or the
cluster in NEWSMON_ES_URL). When it is not reachable they fail; they never skip. The
local one runs with security on: the tests reach it over TLS as a user whose role
covers the test-* indices only.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from elasticsearch import Elasticsearch

REPO = Path(__file__).resolve().parent.parent
# Airflow reads these at import time; tests get their own SQLite home.
os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow-test"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))

from pipeline.config import Settings, load_settings  # noqa: E402
from pipeline.devtools.local_es import LocalElasticsearch  # noqa: E402
from pipeline.errors import NewsmonError  # noqa: E402
from pipeline.store import check_reachable, make_es_client  # noqa: E402
from tests.support.fixture_site import FIXTURE_FEEDS, FixtureSite, write_config_dir  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402

if TYPE_CHECKING:
    from tests.support.web_server import WebServer


TEST_PREFIXES = "test-"
ES_CLUSTER_PORT = 9260  # the 3-node cluster's nodes: HTTP 9260-9262, transport 9360-9362


@pytest.fixture(scope="session", autouse=True)
def local_test_user() -> None:
    """One user of the local cluster for every test-<run>- prefix (a user per prefix would
    cost a users-file update per test module)."""
    settings = load_settings()
    local = LocalElasticsearch(settings)
    if settings.uses_local_elasticsearch and local.health() is not None:
        local.credentials(TEST_PREFIXES)


@pytest.fixture(scope="session")
def es_cluster(settings: Settings) -> Iterator[LocalElasticsearch]:
    """A 3-node local Elasticsearch of the session's own (HTTP 9260-9262), started afresh."""
    local = LocalElasticsearch(
        settings.model_copy(update={"es_port": ES_CLUSTER_PORT, "es_nodes": 3, "es_heap": "384m"})
    )
    local.stop(say=lambda _: None)
    shutil.rmtree(local.state_dir, ignore_errors=True)
    local.start(say=lambda _: None)
    yield local
    local.stop(say=lambda _: None)
    shutil.rmtree(local.state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster_admin(es_cluster: LocalElasticsearch) -> Iterator[Elasticsearch]:
    """The 3-node cluster's superuser, given every node (for checks while one is down)."""
    user = es_cluster.superuser()
    client = Elasticsearch(
        [node.url for node in es_cluster.nodes()],
        basic_auth=(user.username, user.password),
        ca_certs=str(user.ca_certs),
        retry_on_timeout=True,
        max_retries=3,
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server of the test session's own."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def fixture_site() -> Iterator[FixtureSite]:
    site = FixtureSite(slow_seconds=20).start()
    yield site
    site.stop()


def make_test_env(config_dir: Path) -> dict[str, str]:
    return {
        "NEWSMON_CONFIG_DIR": str(config_dir),
        "NEWSMON_INDEX_PREFIX": f"{TEST_PREFIXES}{uuid.uuid4().hex[:10]}-",
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "1",
        "NEWSMON_HTTP_TIMEOUT": "2",
        # The fixture site is one host: spacing its requests by a second would only slow
        # the tests down (test_politeness checks the spacing itself).
        "NEWSMON_HOST_MIN_DELAY_SECONDS": "0",
    }


@pytest.fixture(scope="session")
def test_env(tmp_path_factory: pytest.TempPathFactory, fixture_site: FixtureSite) -> dict[str, str]:
    config_dir = write_config_dir(
        tmp_path_factory.mktemp("config"), fixture_site.base_url, FIXTURE_FEEDS
    )
    return make_test_env(config_dir)


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    return load_settings({**os.environ, **test_env})


@pytest.fixture(scope="session")
def es(settings: Settings) -> Iterator[Elasticsearch]:
    client = make_es_client(settings)
    try:
        check_reachable(client, settings)
    except NewsmonError as exc:
        pytest.fail(f"{exc} (make test starts one)")
    yield client
    delete_indices(client, settings.index_prefix)
    client.close()


def delete_indices(client: Elasticsearch, prefix: str) -> None:
    # Wildcard deletes are refused by default (action.destructive_requires_name).
    names = list(client.indices.get(index=f"{prefix}*", expand_wildcards="all"))
    for name in names:
        client.indices.delete(index=name)


@pytest.fixture(scope="module")
def web(
    fixture_site: FixtureSite, tmp_path_factory: pytest.TempPathFactory, es: Elasticsearch
) -> Iterator[WebServer]:
    """newsmon's web app on a real uvicorn, over the fixture articles plus a hostile one."""
    from tests.support.web_server import index_fixture_articles, start_server  # imports this module

    settings = index_fixture_articles(fixture_site, tmp_path_factory.mktemp("web"))
    server = start_server(settings)
    yield server
    server.stop()
    delete_indices(es, settings.index_prefix)
