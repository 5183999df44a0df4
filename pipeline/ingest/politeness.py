"""Per-host politeness that holds across processes: at most `host_max_connections`
requests to a host at once, and at least `host_min_delay_seconds` between the starts of
two requests to it, for every newsmon process on this machine (parallel Airflow tasks
included).

Both are kept with lock files (fcntl.flock) under the cache folder: one file per
connection slot of a host, and one holding the start time of the host's last request.
A crashed process releases its locks with its file descriptors, so nothing stays stuck.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.config import Settings

POLL_SECONDS = 0.02


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


@functools.lru_cache(maxsize=8)
def _gate(folder: Path, min_delay: float, max_connections: int) -> HostGate:
    return HostGate(folder, min_delay, max_connections)


def gate_for(settings: Settings) -> HostGate:
    return _gate(
        settings.cache_dir / "hosts",
        settings.host_min_delay_seconds,
        settings.host_max_connections,
    )
