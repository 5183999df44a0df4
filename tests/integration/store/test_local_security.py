"""The local cluster `make test` and `make run` start runs with security on: TLS, a
superuser, and a user per index prefix that reaches its own indices only."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator

import httpx
import pytest
from elasticsearch import AuthorizationException, Elasticsearch

from pipeline.config import Settings, load_settings
from pipeline.devtools.local_es import LocalElasticsearch
from pipeline.errors import NewsmonError
from pipeline.store import connect


@pytest.fixture(scope="module")
def local(settings: Settings) -> LocalElasticsearch:
    if not settings.uses_local_elasticsearch:
        pytest.fail("these tests are about the local cluster (NEWSMON_ES_URL is set)")
    return LocalElasticsearch(settings)


@pytest.fixture
def outside(local: LocalElasticsearch) -> Iterator[str]:
    """An index outside the tests' prefix, made by the superuser."""
    admin = local.superuser()
    client = Elasticsearch(
        local.url, basic_auth=(admin.username, admin.password), ca_certs=str(admin.ca_certs)
    )
    name = f"outside-{uuid.uuid4().hex[:8]}"
    client.index(index=name, id="1", document={"secret": 1}, refresh=True)
    yield name
    client.indices.delete(index=name)


def test_it_answers_only_over_tls_and_only_with_credentials(local: LocalElasticsearch) -> None:
    port = local.settings.es_port
    with pytest.raises(httpx.HTTPError):  # no plain HTTP
        httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    anonymous = httpx.get(f"https://127.0.0.1:{port}/", verify=str(local.ca_path), timeout=5)
    assert anonymous.status_code == 401


def test_the_secrets_are_readable_by_their_owner_only(local: LocalElasticsearch) -> None:
    mode = stat.S_IMODE(local.credentials_file.stat().st_mode)
    assert mode == 0o600


def test_newsmon_reaches_its_prefix_and_nothing_else(
    settings: Settings, es: Elasticsearch, outside: str
) -> None:
    assert es.cluster.health()["status"] in ("green", "yellow")  # the tests' user, over TLS
    probe = f"{settings.index_prefix}probe"
    es.index(index=probe, id="1", document={"ok": 1}, refresh=True)
    assert es.count(index=probe)["count"] == 1
    es.indices.delete(index=probe)
    with pytest.raises(AuthorizationException):
        es.search(index=outside)
    with pytest.raises(AuthorizationException):
        es.index(index=outside, id="2", document={"written": 1})
    with pytest.raises(AuthorizationException):
        es.indices.create(index=f"elsewhere-{uuid.uuid4().hex[:8]}")


def test_a_wrong_password_fails_with_one_clear_line(
    local: LocalElasticsearch, settings: Settings
) -> None:
    user = local.credentials(settings.index_prefix)
    wrong = load_settings(
        {
            "NEWSMON_CONFIG_DIR": str(settings.config_dir),
            "NEWSMON_INDEX_PREFIX": settings.index_prefix,
            "NEWSMON_ES_USERNAME": user.username,
            "NEWSMON_ES_PASSWORD": "not-" + user.password,
            "NEWSMON_ES_CA_CERTS": str(user.ca_certs),
        }
    )
    with pytest.raises(NewsmonError) as failure:
        connect(wrong)
    message = str(failure.value)
    assert "\n" not in message and "refused newsmon's credentials (401)" in message
