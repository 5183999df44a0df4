"""The indices newsmon keeps, and their setup from config/elasticsearch/<kind>.json.

Each kind is a versioned index (`news-articles-v1`) behind an alias (`news-articles`),
so a mapping change can be rolled out by reindexing into `-v2` and moving the alias.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from pipeline.config import MAPPINGS_DIR, Settings

# Each kind's mapping version; a version bump that needs existing documents rewritten
# is rolled out by `newsmon reindex` (articles v2: the analysed fields; v3: Russian
# lemmas and English irregular forms in them; v4: the near-duplicate lookup's fields in
# doc values).
MAPPING_VERSIONS = {"articles": 4}
# Every index: a replica when the cluster has a second data node to hold it, else none
# (as in each mapping file's settings).
REPLICAS = "0-1"


class Index(StrEnum):
    """Index kinds; the name is the settings' prefix + the value (`news-articles`)."""

    ARTICLES = "articles"
    FEEDS = "feeds"
    ALERT_RULES = "alert-rules"
    ALERT_EVENTS = "alert-events"
    SAVED_SEARCHES = "saved-searches"
    LOCKS = "locks"


def load_mapping(kind: Index) -> dict[str, Any]:
    return dict(json.loads((MAPPINGS_DIR / f"{kind}.json").read_text(encoding="utf-8")))


def ensure_indices(es: Elasticsearch, settings: Settings) -> list[str]:
    """Create missing indices and aliases; add new fields to existing ones. Returns created."""
    created, existing = [], []
    for kind in Index:
        alias = settings.index_name(kind)
        body = load_mapping(kind)
        if es.indices.exists_alias(name=alias):
            es.indices.put_mapping(index=alias, **body["mappings"])
            existing.append(alias)
            continue
        concrete = versioned_name(alias, mapping_version(kind))
        try:
            # With every copy started before anything is written: a node lost right
            # after the first run created its indices must not take their only copy.
            es.indices.create(
                index=concrete,
                settings=body["settings"],
                mappings=body["mappings"],
                aliases={alias: {"is_write_index": True}},
                wait_for_active_shards="all",
            )
            created.append(concrete)
        except BadRequestError as exc:
            # Parallel tasks may race to create the same index; losing the race is fine.
            if exc.error != "resource_already_exists_exception":
                raise
    if existing:
        _update_replicas(es, existing)
    return created


def _update_replicas(es: Elasticsearch, aliases: list[str]) -> None:
    """Indices made before replicas followed the cluster's size get the setting too: one
    replica once the cluster has two data nodes."""
    # Every index's settings (filtered by name, an index without the setting is left out).
    found = es.indices.get_settings(index=",".join(aliases))
    for name, current in found.items():
        if current["settings"]["index"].get("auto_expand_replicas") != REPLICAS:
            es.indices.put_settings(index=name, settings={"index.auto_expand_replicas": REPLICAS})


def mapping_version(kind: Index) -> int:
    return MAPPING_VERSIONS.get(kind.value, 1)


def versioned_name(alias: str, version: int) -> str:
    return f"{alias}-v{version}"


def behind_alias(es: Elasticsearch, alias: str) -> str | None:
    """The concrete index the alias writes to, or None when there is no alias."""
    if not es.indices.exists_alias(name=alias):
        return None
    found = es.indices.get_alias(name=alias)
    writers = [name for name, spec in found.items() if spec["aliases"][alias].get("is_write_index")]
    return (writers or sorted(found))[-1]


def outdated_index(es: Elasticsearch, settings: Settings, kind: Index) -> str | None:
    """The index behind the kind's alias when it is older than this version's mapping."""
    alias = settings.index_name(kind)
    concrete = behind_alias(es, alias)
    if concrete is None or concrete == versioned_name(alias, mapping_version(kind)):
        return None
    return concrete


def current_version(es: Elasticsearch, settings: Settings, kind: Index) -> int | None:
    """The mapping version of the index behind the kind's alias (None: no alias)."""
    concrete = behind_alias(es, settings.index_name(kind))
    if concrete is None:
        return None
    _, _, version = concrete.rpartition("-v")
    return int(version) if version.isdigit() else 1


def outdated(es: Elasticsearch, settings: Settings) -> list[str]:
    """Aliases whose index is older than this version's mapping (`newsmon reindex`)."""
    stale = []
    for kind in Index:
        concrete = outdated_index(es, settings, kind)
        if concrete:
            stale.append(f"{settings.index_name(kind)} ({concrete})")
    return stale
