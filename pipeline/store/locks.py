"""news-locks: short leases that serialise a step across processes and machines.

A lease is a document created with `create` (only one writer can), holding its owner
and an expiry; it is released by deleting it, guarded by its version so a worker never
deletes a lease another worker took over. A lease whose holder died expires and is
taken over the same way, so nothing stays stuck.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from pipeline.config import Settings
from pipeline.errors import NewsmonError
from pipeline.store.indices import Index

POLL_SECONDS = 0.02


@contextmanager
def lease(
    es: Elasticsearch, settings: Settings, name: str, ttl: float = 60.0, wait: float = 120.0
) -> Iterator[None]:
    """Hold the lease `name` for the block (at most `ttl` seconds: then it may be taken)."""
    index = settings.index_name(Index.LOCKS)
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    version = _acquire(es, index, name, owner, ttl)
    while version is None:
        if time.monotonic() > deadline:
            raise NewsmonError(f"lock {name!r} still held by another worker after {wait:.0f} s")
        time.sleep(POLL_SECONDS * random.uniform(1, 3))
        version = _acquire(es, index, name, owner, ttl)
    try:
        yield
    finally:
        # Not ours to delete if it expired and another worker took it over meanwhile.
        with contextlib.suppress(ConflictError, NotFoundError):
            es.delete(index=index, id=name, if_seq_no=version[0], if_primary_term=version[1])


def _acquire(
    es: Elasticsearch, index: str, name: str, owner: str, ttl: float
) -> tuple[int, int] | None:
    """(seq_no, primary_term) of our lease, or None while someone else holds it."""
    now = datetime.now(UTC)
    document = {"owner": owner, "expires_at": (now + timedelta(seconds=ttl)).isoformat()}
    try:
        created = es.create(index=index, id=name, document=document)
        return int(created["_seq_no"]), int(created["_primary_term"])
    except ConflictError:
        pass
    try:
        held = es.get(index=index, id=name)  # real-time: no refresh needed
    except NotFoundError:
        return None  # released just now: try again
    if datetime.fromisoformat(held["_source"]["expires_at"]) > now:
        return None
    try:  # the holder died: take over, unless another worker did first
        taken = es.index(
            index=index,
            id=name,
            document=document,
            if_seq_no=held["_seq_no"],
            if_primary_term=held["_primary_term"],
        )
    except ConflictError:
        return None
    return int(taken["_seq_no"]), int(taken["_primary_term"])
