"""Secrets held in Airflow connections: a channel's, and the Elasticsearch cluster's for
DAG tasks (`es_connection`). This and pipeline/tasks.py are the only modules that
import Airflow, and this one only when a connection is named (inside
`airflow_connection`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pipeline.errors import DeliveryError


@dataclass(frozen=True)
class Credentials:
    """What a channel's Airflow connection provides: the endpoint and its secrets."""

    url: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # the connection's extra, as pairs


@functools.lru_cache(maxsize=64)  # one lookup per connection per process, not per message
def airflow_connection(conn_id: str) -> Credentials:
    """Read an Airflow connection (AIRFLOW_CONN_<ID> variables, the metadata database or
    a secrets backend, as Airflow itself resolves them; inside a task, via the task SDK).
    URL channels take `extra.url`, or schema://host:port plus `extra.path`."""
    try:
        from airflow.sdk import BaseHook  # imported late: costly, and only needed here

        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:  # Airflow raises several unrelated types for "not there"
        raise DeliveryError(f"Airflow connection {conn_id!r}: {exc}") from None
    extra = connection.extra_dejson or {}
    url = extra.get("url")
    if not url and connection.host:
        base = connection.host
        if "://" not in base:
            port = f":{connection.port}" if connection.port else ""
            base = f"{connection.schema or 'https'}://{base}{port}"
        url = base + str(extra.get("path", ""))
    return Credentials(
        url=url,
        host=connection.host,
        port=connection.port,
        login=connection.login,
        password=connection.password,
        extra=tuple((str(k), str(v)) for k, v in extra.items()),
    )
