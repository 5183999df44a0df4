"""newsmon against a secured Elasticsearch (TLS, a user whose role is limited to the
index prefix, wrong credentials): a real second node with security on, started for this
module. (API keys need the `.security` index, which this distribution cannot create:
the key is only tested as refused.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import AuthorizationException

from pipeline import tasks
from pipeline.config import Settings, load_settings
from pipeline.devtools.local_es import Credentials
from pipeline.errors import ConfigError, NewsmonError
from pipeline.search.pages import search
from pipeline.store import connect
from tests.support.articles import index_articles, make_article
from tests.support.secured_es import SecuredElasticsearch

PREFIX = f"sec-{uuid.uuid4().hex[:8]}-"


@pytest.fixture(scope="module")
def secured(settings: Settings) -> Iterator[SecuredElasticsearch]:
    node = SecuredElasticsearch(settings)
    node.start(PREFIX)
    admin = node.admin()
    admin.index(index="outside-the-prefix", id="1", document={"secret": 1}, refresh=True)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def user(secured: SecuredElasticsearch) -> Credentials:
    """The node's user limited to PREFIX* (as newsmon would be given it)."""
    return secured.node.credentials(PREFIX)


def _settings(node: SecuredElasticsearch, tmp_path: Path, **env: str) -> Settings:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    values = {"NEWSMON_CONFIG_DIR": str(config), "NEWSMON_ES_URL": node.url}
    values["NEWSMON_INDEX_PREFIX"] = PREFIX
    return load_settings({**values, **{f"NEWSMON_{k.upper()}": v for k, v in env.items()}})


def test_a_user_limited_to_the_prefix(
    secured: SecuredElasticsearch, user: Credentials, tmp_path: Path
) -> None:
    settings = _settings(
        secured,
        tmp_path,
        es_username=user.username,
        es_password=user.password,
        es_ca_certs=str(secured.ca_path),
    )
    es = connect(settings, setup=True)  # creates the indices, as `newsmon setup` does
    cruise = make_article("https://s.example/1", "Cruise missile test", "Text " * 50)
    assert index_articles(es, settings, [cruise]).created_ids
    assert [hit.url for hit in search(es, settings, "missile")] == ["https://s.example/1"]
    with pytest.raises(AuthorizationException):
        es.search(index="outside-the-prefix")
    with pytest.raises(AuthorizationException):
        es.index(index="outside-the-prefix", document={"x": 1})
    with pytest.raises(AuthorizationException):
        es.indices.create(index="another-index")


def test_a_certificate_fingerprint_instead_of_the_ca(
    secured: SecuredElasticsearch, user: Credentials, tmp_path: Path
) -> None:
    settings = _settings(
        secured,
        tmp_path,
        es_username=user.username,
        es_password=user.password,
        es_ssl_fingerprint=secured.fingerprint,
    )
    es = connect(settings, setup=True)
    assert es.indices.exists_alias(name=settings.index_name("articles"))


def test_dag_tasks_take_the_cluster_from_an_airflow_connection(
    secured: SecuredElasticsearch,
    user: Credentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection = {
        "conn_type": "generic",
        "schema": "https",
        "host": "127.0.0.1",
        "port": int(secured.url.rsplit(":", 1)[1]),
        "login": user.username,
        "password": user.password,
        "extra": {"ca_certs": str(secured.ca_path)},
    }
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMON_ES", json.dumps(connection))
    (tmp_path / "config").mkdir()
    for key, value in {
        "NEWSMON_CONFIG_DIR": str(tmp_path / "config"),
        "NEWSMON_INDEX_PREFIX": PREFIX,
        "NEWSMON_ES_CONNECTION": "newsmon_es",
    }.items():
        monkeypatch.setenv(key, value)
    settings = tasks.task_settings()
    assert settings.es_url == secured.url and settings.es_username == user.username
    assert connect(settings, setup=True).indices.exists_alias(name=settings.index_name("feeds"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"es_api_key": "bm90OmFrZXk="},
            "refused newsmon's credentials (401): check NEWSMON_ES_API_KEY",
        ),
        (
            {"es_username": "newsmon-sec", "es_password": "wrong"},
            "refused newsmon's credentials (401)",
        ),
        ({}, "is not trusted: set NEWSMON_ES_CA_CERTS"),  # no CA given: the system's CAs fail
    ],
)
def test_wrong_credentials_or_trust_fail_with_one_clear_line(
    secured: SecuredElasticsearch, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    if env:
        env = {**env, "es_ca_certs": str(secured.ca_path)}
    settings = _settings(secured, tmp_path, **env)
    with pytest.raises(NewsmonError) as failure:
        connect(settings)
    assert message in str(failure.value) and "\n" not in str(failure.value)


def test_credentials_come_whole(tmp_path: Path) -> None:
    base = {"NEWSMON_CONFIG_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="es_password: a username and a password go together"):
        load_settings({**base, "NEWSMON_ES_USERNAME": "newsmon"})
    with pytest.raises(ConfigError, match="not both"):
        load_settings(
            {
                **base,
                "NEWSMON_ES_API_KEY": "k",
                "NEWSMON_ES_USERNAME": "u",
                "NEWSMON_ES_PASSWORD": "p",
            }
        )
    with pytest.raises(ConfigError, match="es_ssl_fingerprint"):
        load_settings({**base, "NEWSMON_ES_SSL_FINGERPRINT": "not-hex"})
