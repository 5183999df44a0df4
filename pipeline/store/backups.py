"""Snapshots of every newsmon index (articles, feeds, alert rules and events, saved
searches, locks) with their aliases, in a filesystem repository of the cluster.

The repository is registered on first use under the name `<prefix>backups`, in the
folder `<backup_location>/<prefix>` (relative to the cluster's `path.repo`): each prefix
has a folder of its own, as two repositories writing one folder would each find it
changed behind their back, and Elasticsearch then disables them. Snapshot names are
`<prefix><UTC time>`, so they sort by age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from pipeline.config import Settings
from pipeline.errors import NewsmonError
from pipeline.store.client import error_reason


@dataclass(frozen=True)
class Snapshot:
    name: str
    state: str  # SUCCESS, PARTIAL, FAILED, IN_PROGRESS
    started: str
    indices: list[str]


def repository(settings: Settings) -> str:
    return f"{settings.index_prefix}backups"


def location(settings: Settings) -> str:
    return f"{settings.backup_location.rstrip('/')}/{settings.index_prefix.rstrip('-')}"


def ensure_repository(es: Elasticsearch, settings: Settings) -> None:
    try:
        es.snapshot.create_repository(
            name=repository(settings),
            repository={"type": "fs", "settings": {"location": location(settings)}},
        )
    except ApiError as exc:
        raise NewsmonError(
            f"cannot use {settings.backup_location!r} for snapshots: {error_reason(exc)} "
            "(the cluster's path.repo must include it; NEWSMON_BACKUP_LOCATION sets it)"
        ) from None


def create(es: Elasticsearch, settings: Settings, now: datetime | None = None) -> Snapshot:
    """Snapshot every index of the prefix, waiting until it is complete."""
    ensure_repository(es, settings)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    response = es.snapshot.create(
        repository=repository(settings),
        snapshot=f"{settings.index_prefix}{stamp}",
        indices=f"{settings.index_prefix}*",
        include_global_state=False,
        wait_for_completion=True,
    )
    snapshot = _snapshot(response["snapshot"])
    if snapshot.state != "SUCCESS":
        raise NewsmonError(f"snapshot {snapshot.name} ended {snapshot.state}")
    return snapshot


def list_snapshots(es: Elasticsearch, settings: Settings) -> list[Snapshot]:
    """This prefix's snapshots, oldest first."""
    ensure_repository(es, settings)
    response = es.snapshot.get(repository=repository(settings), snapshot="*")
    found = [_snapshot(raw) for raw in response["snapshots"]]
    return sorted(
        (s for s in found if s.name.startswith(settings.index_prefix)), key=lambda s: s.name
    )


def restore(es: Elasticsearch, settings: Settings, name: str, replace: bool = False) -> Snapshot:
    """Bring the snapshot's indices and aliases back. Indices that exist are in the way:
    restoring over them needs `replace`, which deletes them first."""
    known = {s.name: s for s in list_snapshots(es, settings)}
    if name not in known:
        raise NewsmonError(f"no snapshot {name!r} (newsmon backup list shows them)")
    snapshot = known[name]
    present = [index for index in snapshot.indices if es.indices.exists(index=index)]
    if present and not replace:
        raise NewsmonError(
            f"{len(present)} of the snapshot's indices exist ({', '.join(sorted(present))}); "
            "--replace deletes them and restores the snapshot's"
        )
    for index in present:
        es.indices.delete(index=index)
    es.snapshot.restore(
        repository=repository(settings),
        snapshot=name,
        indices=",".join(snapshot.indices),
        include_aliases=True,
        include_global_state=False,
        wait_for_completion=True,
    )
    es.cluster.health(index=",".join(snapshot.indices), wait_for_status="yellow", timeout="60s")
    return snapshot


def prune(es: Elasticsearch, settings: Settings, keep: int) -> list[str]:
    """Delete all but the newest `keep` snapshots of the prefix; returns the deleted."""
    old = [s.name for s in list_snapshots(es, settings)][: -keep or None]
    for name in old:
        es.snapshot.delete(repository=repository(settings), snapshot=name)
    return old


def _snapshot(raw: dict[str, Any]) -> Snapshot:
    return Snapshot(
        name=raw["snapshot"],
        state=raw.get("state", ""),
        started=raw.get("start_time", ""),
        indices=sorted(raw.get("indices", [])),
    )
