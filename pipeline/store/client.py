"""The Elasticsearch client: created from settings, checked before use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch import Elasticsearch
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

from pipeline.config import Settings
from pipeline.errors import NewsmonError
from pipeline.store.indices import ensure_indices


class _OrjsonNdjsonSerializer(OrjsonSerializer, NdjsonSerializer):
    """Bulk and msearch bodies through orjson too (the client only offers it for JSON)."""

    mimetype = "application/x-ndjson"


# orjson encodes and decodes several times faster than the json module: bulk requests
# and the near-duplicate lookups' signatures are a good part of an ingest's own CPU.
SERIALIZERS = {
    OrjsonSerializer.mimetype: OrjsonSerializer(),
    _OrjsonNdjsonSerializer.mimetype: _OrjsonNdjsonSerializer(),
}


def make_es_client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(
        settings.elasticsearch_url,
        request_timeout=30,
        retry_on_timeout=True,
        max_retries=3,
        serializers=SERIALIZERS,
    )


def check_reachable(es: Elasticsearch, settings: Settings) -> None:
    """Fail early with a message that says what to do when the cluster is not there."""
    try:
        es.cluster.health(timeout="5s")
    except EsConnectionError:
        hint = (
            "start one with `newsmon es start`"
            if settings.uses_local_elasticsearch
            else "check NEWSMON_ES_URL"
        )
        raise NewsmonError(
            f"Elasticsearch is not reachable at {settings.elasticsearch_url}: {hint}"
        ) from None


def connect(settings: Settings, *, setup: bool = False) -> Elasticsearch:
    """A client to a cluster known to answer; with `setup`, the indices exist too."""
    es = make_es_client(settings)
    try:
        check_reachable(es, settings)
        if setup:
            ensure_indices(es, settings)
    except BaseException:
        es.close()
        raise
    return es


@contextmanager
def session(settings: Settings, *, setup: bool = False) -> Iterator[Elasticsearch]:
    """`connect`, closed at the end of the block."""
    es = connect(settings, setup=setup)
    try:
        yield es
    finally:
        es.close()
