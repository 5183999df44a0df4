"""Per-host politeness that holds across processes: at most `host_max_connections`
requests to a host at once, and at least `host_min_delay_seconds` between the starts of
two requests to it, for every newsmon process on this machine (parallel Airflow tasks
included) or, with `redis_url` set, on every machine sharing that Redis.

On one machine both are kept with lock files (fcntl.flock) under the cache folder: one
file per connection slot of a host, and one holding the start time of the host's last
request. A crashed process releases its locks with its file descriptors, so nothing
stays stuck. In Redis a slot is a key set only if absent, with an expiry (a crashed
worker's slot frees itself), and each request books its start time in one atomic step
on the Redis server's clock (the workers' clocks may differ).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipeline.config import Settings

if TYPE_CHECKING:
    import redis

POLL_SECONDS = 0.02


class Gate(Protocol):
    def slot(self, host: str) -> AbstractContextManager[None]:
        """Hold one of the host's connection slots, spaced from its previous request."""
        ...


class HostGate:
    def __init__(self, folder: Path, min_delay: float, max_connections: int) -> None:
        self.folder = folder
        self.min_delay = min_delay
        self.max_connections = max_connections
        folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's connection slots, spaced from its previous request."""
        key = hashlib.sha1(host.lower().encode()).hexdigest()[:20]
        descriptor = self._take_slot(key)
        try:
            self._space(key)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)

    def _take_slot(self, key: str) -> int:
        paths = [self.folder / f"{key}.slot{n}" for n in range(self.max_connections)]
        while True:
            for path in paths:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return descriptor
                except BlockingIOError:
                    os.close(descriptor)
            time.sleep(POLL_SECONDS)

    def _space(self, key: str) -> None:
        """Wait until min_delay has passed since the host's last request started."""
        if self.min_delay <= 0:
            return
        descriptor = os.open(self.folder / f"{key}.last", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # one process at a time books a start
            raw = os.pread(descriptor, 32, 0)
            last = float(raw) if raw.strip() else 0.0
            wait = last + self.min_delay - time.time()
            if wait > 0:
                time.sleep(wait)
            stamp = f"{time.time():.6f}".encode().ljust(32)
            os.pwrite(descriptor, stamp, 0)
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)


# The host's next start: now, or its last start + the delay if that is later; booked.
_BOOK_START = """
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now_ms, last + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], start, 'PX', tonumber(ARGV[1]) + 60000)
return start - now_ms
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisHostGate:
    """The same gate in Redis, for workers on several machines."""

    def __init__(
        self, client: redis.Redis, min_delay: float, max_connections: int, slot_ttl: float
    ) -> None:
        self.client = client
        self.delay_ms = int(min_delay * 1000)
        self.max_connections = max_connections
        self.slot_ttl_ms = int(slot_ttl * 1000)
        self._book_start = client.register_script(_BOOK_START)
        self._release = client.register_script(_RELEASE)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        key = "newsmon:host:" + hashlib.sha1(host.lower().encode()).hexdigest()[:20]
        token = uuid.uuid4().hex
        held = self._take_slot(key, token)
        try:
            if self.delay_ms > 0:
                wait_ms = int(self._book_start(keys=[f"{key}:last"], args=[self.delay_ms]))
                time.sleep(wait_ms / 1000)
            yield
        finally:
            self._release(keys=[held], args=[token])

    def _take_slot(self, key: str, token: str) -> str:
        slots = [f"{key}:slot{n}" for n in range(self.max_connections)]
        while True:
            for slot in slots:
                if self.client.set(slot, token, nx=True, px=self.slot_ttl_ms):
                    return slot
            time.sleep(POLL_SECONDS)


@functools.lru_cache(maxsize=8)
def _gate(folder: Path, min_delay: float, max_connections: int) -> HostGate:
    return HostGate(folder, min_delay, max_connections)


@functools.lru_cache(maxsize=8)
def _redis_client(url: str) -> redis.Redis:
    import redis

    return redis.Redis.from_url(url)


def shared_redis(settings: Settings) -> redis.Redis | None:
    """The Redis that workers on several machines share (None: this machine only)."""
    return _redis_client(settings.redis_url) if settings.redis_url else None


@functools.lru_cache(maxsize=8)
def _redis_gate(url: str, min_delay: float, max_connections: int, slot_ttl: float) -> Gate:
    return RedisHostGate(_redis_client(url), min_delay, max_connections, slot_ttl)


def gate_for(settings: Settings) -> Gate:
    if settings.redis_url:
        # A slot outlives any request (each is bounded by http_timeout) but not a crash.
        slot_ttl = max(60.0, 6 * settings.http_timeout)
        return _redis_gate(
            settings.redis_url,
            settings.host_min_delay_seconds,
            settings.host_max_connections,
            slot_ttl,
        )
    return _gate(
        settings.cache_dir / "hosts",
        settings.host_min_delay_seconds,
        settings.host_max_connections,
    )
