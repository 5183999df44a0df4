"""The CPU-bound part of ingest, spread over the machine's cores: extract, fingerprint
and tag a fetched page. Runs in a pool of worker processes (one per core by default),
or in the calling thread when `processes` is 0 or 1.

Workers are forked from a fork server (a fresh interpreter that has imported
trafilatura once), never from the multi-threaded ingest process itself, so no worker
inherits a lock another thread held; each builds its tagger once.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import resource
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import Taxonomy
from pipeline.models import FeedEntry, TaggedArticle

_TAGGER = None  # this process's Tagger (built once per worker)


@dataclass(frozen=True)
class Processed:
    """A page's outcome: the tagged article (not yet clustered), or why there is none."""

    article: TaggedArticle | None
    problem: str | None = None


def process_page(body: bytes, entry: FeedEntry, fetched_at: datetime) -> Processed:
    """Extract, fingerprint and tag one page (in a worker process or inline)."""
    from pipeline.ingest.dedup import fingerprint
    from pipeline.ingest.extract import extract
    from pipeline.ingest.tag import tag_article

    extraction = extract(body, entry.url, entry)
    if extraction.article is None:
        return Processed(None, f"{entry.url}: {extraction.problem}")
    assert _TAGGER is not None, "set_taxonomy() first"
    return Processed(tag_article(_TAGGER, fingerprint(extraction.article), fetched_at))


def set_taxonomy(taxonomy: Taxonomy) -> None:
    from pipeline.ingest.tag import Tagger

    global _TAGGER
    _TAGGER = Tagger(taxonomy)


def _peak_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) if match else 0


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class PagePool:
    """Where pages are processed: worker processes, or inline for `processes` <= 1."""

    def __init__(self, taxonomy: Taxonomy, processes: int) -> None:
        self._taxonomy, self._processes = taxonomy, processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        if processes <= 1:
            set_taxonomy(taxonomy)
        else:
            self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["pipeline.ingest.workers", "pipeline.ingest.extract"])
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=context,
            initializer=set_taxonomy,
            initargs=(self._taxonomy,),
        )

    def warm_up(self) -> None:
        """Start every worker now, while the feeds are being polled."""
        if self._executor is not None:
            for _ in range(self._processes):
                self._executor.submit(int)

    def restart(self) -> None:
        """Replace a pool whose worker died (the other pages' futures failed with it)."""
        with self._lock:
            if self._executor is not None and getattr(self._executor, "_broken", False):
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()

    def submit(self, body: bytes, entry: FeedEntry, fetched_at: datetime) -> Future[Processed]:
        if self._executor is None:
            future: Future[Processed] = Future()
            try:
                future.set_result(process_page(body, entry, fetched_at))
            except Exception as exc:  # the same as a worker's failure: the caller decides
                future.set_exception(exc)
            return future
        return self._executor.submit(process_page, body, entry, fetched_at)

    def peak_rss_mb(self) -> int:
        """Peak resident memory of this process plus its workers so far (shared pages
        are counted in each, so this overstates)."""
        total_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        workers = getattr(self._executor, "_processes", None) or {}
        for pid in list(workers):
            total_kb += _peak_kb(pid)
        return round(total_kb / 1024)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
