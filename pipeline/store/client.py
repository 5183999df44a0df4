"""The Elasticsearch client: created from settings, checked before use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    SSLError,
)
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

from pipeline.config import Settings
from pipeline.errors import NewsmonError
from pipeline.store.indices import ensure_indices

if TYPE_CHECKING:
    from pipeline.devtools.local_es import Credentials


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
    security: dict[str, Any] = {}
    local = _local_credentials(settings)
    if local is not None:
        security["basic_auth"] = (local.username, local.password)
        security["ca_certs"] = str(local.ca_certs)
    if settings.es_api_key:
        security["api_key"] = settings.es_api_key
    elif settings.es_username and settings.es_password:
        security["basic_auth"] = (settings.es_username, settings.es_password)
    if settings.es_ca_certs:
        security["ca_certs"] = str(settings.es_ca_certs)
    if settings.es_ssl_fingerprint:
        security["ssl_assert_fingerprint"] = settings.es_ssl_fingerprint.replace(":", "").lower()
    return Elasticsearch(
        settings.elasticsearch_urls,
        request_timeout=30,
        retry_on_timeout=True,
        max_retries=3,
        serializers=SERIALIZERS,
        **security,
    )


def _local_credentials(settings: Settings) -> Credentials | None:
    """The local cluster's user for the index prefix (made on first use), when newsmon
    uses the local cluster without credentials of its own; None when that cluster was
    never started (check_reachable then says how to start it)."""
    explicit = (
        settings.es_api_key
        or settings.es_username
        or settings.es_ca_certs
        or settings.es_ssl_fingerprint
    )
    if not settings.uses_local_elasticsearch or explicit:
        return None
    from pipeline.devtools.local_es import LocalElasticsearch

    local = LocalElasticsearch(settings)
    if not local.credentials_file.exists():
        return None
    return local.credentials(settings.index_prefix)


def check_reachable(es: Elasticsearch, settings: Settings) -> None:
    """Fail early with a message that says what to do when the cluster is not there."""
    try:
        es.cluster.health(timeout="5s")
    except AuthenticationException:
        raise NewsmonError(
            f"Elasticsearch at {settings.elasticsearch_url} refused newsmon's credentials "
            "(401): check NEWSMON_ES_API_KEY, or NEWSMON_ES_USERNAME and NEWSMON_ES_PASSWORD"
        ) from None
    except AuthorizationException:
        pass  # the credentials work; the cluster health privilege is not needed
    except EsConnectionError as exc:
        if isinstance(exc, SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise NewsmonError(
                f"the TLS certificate of {settings.elasticsearch_url} is not trusted: set "
                "NEWSMON_ES_CA_CERTS (its CA, PEM) or NEWSMON_ES_SSL_FINGERPRINT"
            ) from None
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


def error_reason(exc: ApiError) -> str:
    """The most telling line of an Elasticsearch error: its cause, else its root cause."""
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error", {})
    causes = error.get("root_cause") or [error]
    reason = causes[0].get("reason") if causes and isinstance(causes[0], dict) else None
    caused_by = error.get("caused_by", {}) if isinstance(error, dict) else {}
    return str(caused_by.get("reason") or reason or exc.message)
