"""The CPU-bound part of ingest, spread over the machine's cores: extract, fingerprint
and tag a fetched page. Runs in a pool of worker processes, or with `processes` 0 in
one thread of the ingest process itself.

Workers are forked when the pool is made, before the ingest starts its threads, so
they inherit the loaded extractor and the tagger and start in milliseconds (a spawned
or fork-server worker would re-run the parent's main module: in an Airflow task that
is Airflow's own command line). A worker that dies (a page may crash it) fails the
pages it held, which are retried at the next poll, and the pool is forked anew; after
MAX_RESTARTS the rest of the run processes pages in the ingest process itself.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import re
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import Taxonomy
from pipeline.models import FeedEntry, TaggedArticle

logger = logging.getLogger(__name__)
_TAGGER = None  # this process's Tagger (built before the workers are forked)
MAX_RESTARTS = 3
PARENT_CHECK_SECONDS = 1.0
MEMORY_SAMPLE_SECONDS = 1.0


@dataclass(frozen=True)
class Processed:
    """A page's outcome: the tagged article (not yet clustered), or why there is none."""

    article: TaggedArticle | None
    problem: str | None = None


def process_page(body: bytes, entry: FeedEntry, fetched_at: datetime) -> Processed:
    """Extract, fingerprint and tag one page (in a worker process or inline)."""
    from pipeline.analysis import stem_fields
    from pipeline.ingest.dedup import fingerprint
    from pipeline.ingest.extract import extract
    from pipeline.ingest.tag import tag_article

    extraction = extract(body, entry.url, entry)
    if extraction.article is None:
        return Processed(None, f"{entry.url}: {extraction.problem}")
    assert _TAGGER is not None, "prepare() first"
    article = fingerprint(extraction.article)
    # The analysed fields here, in the workers: Korean analysis is not cheap.
    stems = stem_fields(article.title, article.text, article.language)
    return Processed(dataclasses.replace(tag_article(_TAGGER, article, fetched_at), **stems))


def prepare(taxonomy: Taxonomy, model_cache: Path | None = None) -> None:
    """Load what processing a page needs (language model, tagger) into this process, so
    that the workers a PagePool forks from it inherit them."""
    from pipeline.ingest.extract import load_language_model
    from pipeline.ingest.tag import Tagger

    global _TAGGER
    load_language_model(model_cache)
    _TAGGER = Tagger(taxonomy)


def _pss_kb(pid: int) -> int:
    """The process's proportional set size: its resident pages, each page shared with
    other processes (the forked workers share most of theirs) counted by its share."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    return int(match[1]) if match else 0


def _die_with_parent(parent: int) -> None:
    """A worker ends when the process that forked it does, even one killed with
    SIGKILL (which runs no cleanup): otherwise it would wait for pages forever.
    (prctl's parent-death signal follows the forking thread, not the process.)"""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _allow_children() -> None:
    """On a Celery worker (Airflow's CeleryExecutor, prefork pool) the task process is
    forked from a daemonic pool process and inherits its daemon flag, with which
    multiprocessing refuses to start workers. The flag guards against orphans; this
    pool's workers exit with the process that made them (_die_with_parent) and it is
    closed when the task ends, so the flag is lifted for them."""
    current = multiprocessing.current_process()
    if current.daemon:
        current._config["daemon"] = False  # type: ignore[attr-defined]


class PagePool:
    """Where pages are processed: worker processes, or inline for `processes` <= 1. The
    process making it must have been `prepare`d (the workers inherit what it loaded)."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._restarts = 0
        self._lock = threading.Lock()
        self._executor = self._fork() if processes > 0 else None
        # Inline, pages are still processed one at a time, in one thread: CPU work spread
        # over the fetching threads would have them fight over the GIL.
        self._inline = ThreadPoolExecutor(1, thread_name_prefix="extract")
        self._peak_kb = 0
        self._closed = threading.Event()
        threading.Thread(target=self._watch_memory, name="memory", daemon=True).start()

    def _fork(self) -> ProcessPoolExecutor:
        _allow_children()
        executor = ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )
        executor.submit(int)  # with fork, every worker starts now
        return executor

    def worker_died(self) -> None:
        """Replace a pool whose worker died (its other pages failed with it)."""
        with self._lock:
            executor = self._executor
            if executor is None or not getattr(executor, "_broken", False):
                return  # another thread replaced it already
            executor.shutdown(wait=False, cancel_futures=True)
            self._restarts += 1
            if self._restarts > MAX_RESTARTS:
                logger.warning("extraction workers keep dying: processing pages inline")
                self._executor = None
            else:
                self._executor = self._fork()

    def submit(self, body: bytes, entry: FeedEntry, fetched_at: datetime) -> Future[Processed]:
        executor: Executor = self._executor or self._inline
        return executor.submit(process_page, body, entry, fetched_at)

    def peak_memory_mb(self) -> int:
        """Peak memory of this process and its workers together so far: their summed
        proportional set sizes, sampled every MEMORY_SAMPLE_SECONDS (summed resident
        sizes would count the pages the workers share with this process in each)."""
        return round(max(self._peak_kb, self._memory_kb()) / 1024)

    def _memory_kb(self) -> int:
        workers = getattr(self._executor, "_processes", None) or {}
        return sum(_pss_kb(pid) for pid in [os.getpid(), *list(workers)])

    def _watch_memory(self) -> None:
        while not self._closed.wait(MEMORY_SAMPLE_SECONDS):
            self._peak_kb = max(self._peak_kb, self._memory_kb())

    def close(self) -> None:
        self._closed.set()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._inline.shutdown(wait=True, cancel_futures=True)
