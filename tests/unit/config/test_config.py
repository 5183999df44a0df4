from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import (
    REPO_CONFIG_DIR,
    load_alerts,
    load_feeds,
    load_settings,
    load_topics,
)
from pipeline.errors import ConfigError

LOG = "channels:\n  a: {type: log, path: /tmp/x}\n"


def _settings(config_dir: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"NEWSMON_CONFIG_DIR": str(config_dir), **env})


def test_shipped_config_is_valid() -> None:
    settings = _settings(REPO_CONFIG_DIR)
    feeds = load_feeds(settings)
    assert len(feeds) >= 15
    assert all(feed.url.startswith("https://") for feed in feeds)
    topic_ids = {topic.id for topic in load_topics(settings).topics}
    assert {"russia-dprk-relations", "dprk-missile-tests", "ukraine-war", "sanctions"} <= topic_ids
    assert load_alerts(settings).rules


def test_environment_overrides_settings_file(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("index_prefix: fromfile-\nes_port: 9300\n")
    settings = _settings(
        tmp_path, NEWSMON_INDEX_PREFIX="fromenv-", NEWSMON_ES_URL="http://es.internal:9200"
    )
    assert settings.index_name("articles") == "fromenv-articles"
    assert settings.es_port == 9300
    assert settings.elasticsearch_url == "http://es.internal:9200"
    assert not settings.uses_local_elasticsearch


def test_a_cluster_is_given_as_its_nodes_urls(tmp_path: Path) -> None:
    nodes = "https://es1.internal:9200, https://es2.internal:9200,https://es3.internal:9200"
    settings = _settings(tmp_path, NEWSMON_ES_URL=nodes)
    assert settings.elasticsearch_urls == [f"https://es{n}.internal:9200" for n in (1, 2, 3)]
    local = _settings(tmp_path, NEWSMON_ES_NODES="3", NEWSMON_ES_PORT="9250")
    assert local.elasticsearch_urls == [f"https://127.0.0.1:{9250 + n}" for n in range(3)]
    with pytest.raises(ConfigError, match="NEWSMON_ES_URL"):
        _settings(tmp_path, NEWSMON_ES_URL="https://es1.internal:9200,es2.internal:9200")


def test_invalid_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _settings(tmp_path, NEWSMON_ES_PORT="not-a-port")
    assert "NEWSMON_ES_PORT" in str(info.value) and "es_port" in str(info.value)


def test_missing_config_dir() -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        load_settings({"NEWSMON_CONFIG_DIR": "/nonexistent/newsmon"})


@pytest.mark.parametrize(
    ("feeds_yaml", "key", "problem"),
    [
        ("feeds:\n  - id: a\n    name: A\n    url: ftp://x\n", "feeds[0] (a).url", "http"),
        ("feeds:\n  - id: a\n    url: https://x\n", "feeds[0] (a).name", "Field required"),
        (
            "feeds:\n  - id: Bad Id\n    name: A\n    url: https://x\n",
            "feeds[0] (Bad Id).id",
            "pattern",
        ),
        (
            "feeds:\n  - id: a\n    name: A\n    url: https://x\n    colour: red\n",
            "feeds[0] (a).colour",
            "Extra inputs",
        ),
        (
            "feeds:\n  - id: a\n    name: A\n    url: https://x\n  - id: a\n    name: B\n"
            "    url: https://y\n",
            "feeds[1].id",
            "duplicate id 'a'",
        ),
        ("feeds: {}\n", "feeds", "must be a list"),
        ("feeds:\n  - id: a\n    name: A: B\n", "line 3, column 12", "not valid YAML"),
        ("feedz: []\n", "feedz", "unknown top-level key"),
    ],
)
def test_invalid_feeds_file_names_file_key_and_problem(
    tmp_path: Path, feeds_yaml: str, key: str, problem: str
) -> None:
    (tmp_path / "feeds.yaml").write_text(feeds_yaml)
    with pytest.raises(ConfigError) as info:
        load_feeds(_settings(tmp_path))
    assert info.value.file == str(tmp_path / "feeds.yaml")
    assert info.value.key == key
    assert problem in info.value.problem


def test_topic_without_rule_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text("topics:\n  - id: t\n    name: T\n")
    with pytest.raises(ConfigError, match=r"topics\[0\] \(t\).*all_of or any_of"):
        load_topics(_settings(tmp_path))


@pytest.mark.parametrize(
    ("alerts_yaml", "key", "problem"),
    [
        ("channels:\n  a: {type: webhook}\n", "channels.a", "needs url, url_env or connection"),
        ("channels:\n  a: {type: pager}\n", "channels.a.type", "Input should be"),
        (
            "channels:\n  a: {type: log, path: /tmp/x}\nrules:\n  - id: r\n    query: x\n"
            "    channels: [b]\n",
            "rules[0] (r).channels[0]",
            "unknown channel 'b'",
        ),
        (
            "rules:\n  - id: r\n    query: x\n    channels: []\n",
            "rules[0] (r).channels",
            "at least 1",
        ),
        (
            f"{LOG}rules:\n  - id: r\n    query: x\n    mode: weekly\n    channels: [a]\n",
            "rules[0] (r).mode",
            "Input should be 'instant', 'hourly' or 'daily'",
        ),
        (
            f"{LOG}rules:\n  - id: r\n    query: x\n    topics: [nope]\n    channels: [a]\n",
            "rules[0] (r).topics[0]",
            "unknown topic 'nope'",
        ),
        (f"{LOG}spikes:\n  - id: s\n    channels: [a]\n", "spikes[0] (s)", "topic or a query"),
        (
            f"{LOG}spikes:\n  - id: s\n    topic: ukraine-war\n    window: 1w\n    channels: [a]\n",
            "spikes[0] (s).window",
            "'1w' is not a duration like 30m, 1h or 7d",
        ),
        (
            f"{LOG}spikes:\n  - id: s\n    topic: ukraine-war\n    window: 1d\n"
            "    baseline: 1d\n    channels: [a]\n",
            "spikes[0] (s)",
            "baseline must be at least twice the window",
        ),
        (
            f"{LOG}spikes:\n  - id: s\n    topic: nope\n    channels: [a]\n",
            "spikes[0] (s).topic",
            "unknown topic 'nope'",
        ),
    ],
)
def test_invalid_alerts_file_names_the_key(
    tmp_path: Path, alerts_yaml: str, key: str, problem: str
) -> None:
    for name in ("topics.yaml", "entities.yaml"):
        (tmp_path / name).write_text((REPO_CONFIG_DIR / name).read_text())
    (tmp_path / "alerts.yaml").write_text(alerts_yaml)
    with pytest.raises(ConfigError) as info:
        load_alerts(_settings(tmp_path))
    assert info.value.key == key
    assert problem in info.value.problem
