"""A 3-node local Elasticsearch (`NEWSMON_ES_NODES=3 newsmon es start`), the test
session's own on its own ports: replicas follow the cluster's size, and newsmon, given
every node's URL, ingests and clusters stories while one node is down, with nothing lost
or duplicated once the node is back."""

from __future__ import annotations

import time
import uuid

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.devtools.local_es import LocalElasticsearch
from pipeline.ingest.engine import run_cycle
from pipeline.store import connect
from pipeline.store.indices import Index, load_mapping
from tests.conftest import delete_indices

PREFIX = f"cluster-{uuid.uuid4().hex[:8]}-"


@pytest.fixture(scope="module")
def cluster_settings(es_cluster: LocalElasticsearch, settings: Settings) -> Settings:
    """newsmon given every node's URL and its user on the cluster (the fixture feeds)."""
    user = es_cluster.credentials(PREFIX)
    return settings.model_copy(
        update={
            "es_url": ",".join(node.url for node in es_cluster.nodes()),
            "es_username": user.username,
            "es_password": user.password,
            "es_ca_certs": user.ca_certs,
            "index_prefix": PREFIX,
        }
    )


def _replicas(cluster_admin: Elasticsearch) -> list[str]:
    found = cluster_admin.indices.get_settings(index=f"{PREFIX}*", name="index.number_of_replicas")
    return [settings["settings"]["index"]["number_of_replicas"] for settings in found.values()]


def test_three_nodes_and_a_replica_of_every_index(
    es_cluster: LocalElasticsearch, cluster_settings: Settings, cluster_admin: Elasticsearch
) -> None:
    assert len(es_cluster.settings.elasticsearch_urls) == 3
    feeds = cluster_settings.index_name(Index.FEEDS)  # made by an older newsmon: no replica
    body = load_mapping(Index.FEEDS)
    old = {**body["settings"], "number_of_replicas": 0}
    del old["auto_expand_replicas"]
    cluster_admin.indices.create(
        index=f"{feeds}-v1", settings=old, mappings=body["mappings"], aliases={feeds: {}}
    )
    connect(cluster_settings, setup=True).close()  # the others made, as `newsmon setup` does
    deadline = time.monotonic() + 60  # replicas are expanded by a cluster state update
    while (replicas := _replicas(cluster_admin)) != ["1"] * len(
        Index
    ) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert replicas == ["1"] * len(Index)
    health = cluster_admin.cluster.health(
        index=f"{PREFIX}*", wait_for_status="green", timeout="90s"
    )
    assert health["number_of_nodes"] == 3 and health["status"] == "green"
    status = es_cluster.status()
    assert [node["pid"] is not None for node in status["nodes"]] == [True, True, True]


def test_new_indices_have_every_copy_before_first_use(
    es_cluster: LocalElasticsearch, cluster_settings: Settings, cluster_admin: Elasticsearch
) -> None:
    """A node lost right after the first run created the indices must not take the only
    copy of any: they are made with their replica started (green at once, no wait)."""
    prefix = f"{PREFIX}fresh-"  # within the module user's indices, none made yet
    fresh = cluster_settings.model_copy(update={"index_prefix": prefix})
    try:
        connect(fresh, setup=True).close()
        health = cluster_admin.cluster.health(index=f"{prefix}*")
        assert (health["status"], health["active_shards"]) == ("green", 2 * len(Index))
    finally:
        delete_indices(cluster_admin, prefix)


def test_ingest_carries_on_while_a_node_is_down(
    es_cluster: LocalElasticsearch, cluster_settings: Settings, cluster_admin: Elasticsearch
) -> None:
    articles = cluster_settings.index_name(Index.ARTICLES)
    world = run_cycle(cluster_settings, ["fixture-world"]).totals()
    assert (world["feeds_ok"], world["indexed"]) == (1, 3)

    first = es_cluster.nodes()[0]  # the first URL newsmon is given, and the master so far
    first.stop_node(say=lambda _: None)
    korea = run_cycle(cluster_settings, ["fixture-korea"]).totals()
    # The Atom feed's copy of the RSS feed's first story is found among the articles
    # indexed before the node went down: one story cluster, not two.
    assert (korea["feeds_ok"], korea["indexed"], korea["near_duplicate"]) == (1, 2, 1)

    es_cluster.start(say=lambda _: None)  # the stopped node rejoins
    cluster_admin.cluster.health(index=f"{PREFIX}*", wait_for_status="green", timeout="90s")
    again = run_cycle(cluster_settings, ["fixture-world", "fixture-korea"]).totals()
    assert again["indexed"] == 0  # nothing indexed twice
    cluster_admin.indices.refresh(index=articles)
    hits = cluster_admin.search(index=articles, size=20, source=["cluster_id"])["hits"]["hits"]
    assert len(hits) == 5 and len({hit["_source"]["cluster_id"] for hit in hits}) == 4
