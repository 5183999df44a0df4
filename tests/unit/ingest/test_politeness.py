"""Per-host limits across processes: real processes contend for real lock files, or for
keys in a real Redis as workers on several machines would."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from pathlib import Path

import pytest
import redis

from pipeline.ingest.politeness import Gate, HostGate, RedisHostGate


def _gate(where: str) -> Gate:
    if where.startswith("redis://"):
        return RedisHostGate(redis.Redis.from_url(where), 0.3, max_connections=2, slot_ttl=60)
    return HostGate(Path(where), min_delay=0.3, max_connections=2)


def _request(where: str, host: str, hold: float, out: multiprocessing.Queue) -> None:
    gate = _gate(where)
    with gate.slot(host):
        started = time.time()
        time.sleep(hold)
    out.put((host, started, time.time()))


@pytest.mark.parametrize("shared", ["files", "redis"])
def test_spacing_and_connection_limit_hold_across_processes(
    shared: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = request.getfixturevalue("redis_url") if shared == "redis" else str(tmp_path)
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()
    jobs = [("a.example", 1.0)] * 4 + [("b.example", 0.0)]
    processes = [context.Process(target=_request, args=(where, h, d, out)) for h, d in jobs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
    spans = sorted(out.get(timeout=5) for _ in processes)
    host_a = [(start, end) for host, start, end in spans if host == "a.example"]
    starts = [start for start, _ in host_a]
    # Starts on one host are at least min_delay apart ...
    assert all(b - a >= 0.29 for a, b in itertools.pairwise(starts))
    # ... and never more than two requests to it at once: spacing alone would have let a
    # third start 0.6 s in, while the first two still ran.
    for moment in starts:
        running = sum(1 for start, end in host_a if start <= moment < end)
        assert running <= 2
    assert starts[2] >= host_a[0][1] - 0.01
    assert len(host_a) == 4 and any(host == "b.example" for host, _, _ in spans)
