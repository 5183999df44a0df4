"""Search latency on a large index: p50/p95 of analyst queries with facets, timeline,
highlights and story collapse (what the web UI asks), and the index size on disk.

    .venv/bin/python scripts/bench_search.py [--articles 1000000] [--queries 300]
        [--corpus CORPUS/extraction/ground-truth.json] [--keep] [--json]

Needs the Elasticsearch newsmon uses. Builds its own index (prefix bench-search-) from
real sentences: the labelled tagging texts, plus the article bodies of --corpus when
given. Each article takes a real headline with a few words swapped, 6-20 sentences
drawn from the pool, the topics and entities of the article its headline came from,
one of 80 sources, a date in the last year; one in ten is a syndicated copy that joins
an earlier story's cluster. Measured warm (every query run once first), one query at
a time, once the load's background merges have settled; the baseline in the same run
is the same queries as plain ranked searches (no facets, timeline, highlights or
collapse).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from elasticsearch import helpers  # noqa: E402

from pipeline import analysis  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.search.pages import SearchRequest, search_page  # noqa: E402
from pipeline.search.query import Filters  # noqa: E402
from pipeline.store import ensure_indices, make_es_client  # noqa: E402
from tests.conftest import delete_indices  # noqa: E402

TAGGING = REPO / "tests" / "fixtures" / "tagging"
SITES = [f"source-{n:02d}" for n in range(80)]
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("missile", {}),
    ('"cruise missile"', {}),
    ("Putin AND Kim", {}),
    ('"North Korea" AND Russia', {"topics": ["russia-dprk-relations"]}),
    ("sanctions NOT Iran", {}),
    ("Pyongyang OR Moscow", {"since": "DAYS_AGO_30"}),
    ("troops AND (Kursk OR Ukraine)", {}),
    ("title:summit", {}),
    ("launch*", {"topics": ["dprk-missile-tests"]}),
    ('"Kim Jong Un" AND factory', {}),
    ("election", {"sources": ["source-07", "source-12"]}),
    ("", {"topics": ["ukraine-war"], "since": "DAYS_AGO_7"}),
    ("drone AND attack", {"since": "DAYS_AGO_90"}),
    ("nuclear AND talks", {"languages": ["en"]}),
    ('"Workers\' Party"', {}),
]


def sentence_pool(corpus: Path | None) -> tuple[list[str], list[dict[str, Any]]]:
    items = []
    for name in ("labelled.jsonl", "heldout.jsonl"):
        items += [json.loads(line) for line in (TAGGING / name).read_text().splitlines() if line]
    texts = [item["text"] for item in items]
    if corpus:
        texts += [page["articleBody"] for page in json.loads(corpus.read_text()).values()]
    sentences = [
        s.strip() for text in texts for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 40
    ]
    return sentences, items


def make_documents(count: int, corpus: Path | None, seed: int = 5) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    sentences, items = sentence_pool(corpus)
    # The analysed forms are per word, so a text's are its sentences' (English text).
    analysed = {sentence: analysis.analyze(sentence, "en") for sentence in sentences}
    words = sorted({w for s in sentences for w in re.findall(r"[A-Za-z]{5,}", s)})
    now = datetime.now(UTC)
    clusters: list[str] = []
    for number in range(count):
        source = rng.choice(items)
        title_words = source["title"].split()
        for _ in range(rng.randint(0, 2)):
            title_words[rng.randrange(len(title_words))] = rng.choice(words)
        chosen = rng.sample(sentences, rng.randint(6, 20))
        text = "\n".join(chosen)
        title = " ".join(title_words)
        article_id = f"{number:08d}"
        if clusters and rng.random() < 0.1:
            cluster = rng.choice(clusters[-5000:])
        else:
            cluster = article_id
            clusters.append(cluster)
        published = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        yield {
            "_id": article_id,
            "_source": {
                "url": f"https://{rng.choice(SITES)}.example/{article_id}",
                "title": title,
                "text": text,
                "title_stems": analysis.analyze(title, "en"),
                "text_stems": " ".join(analysed[sentence] for sentence in chosen),
                "site": rng.choice(SITES),
                "feed_id": "bench",
                "language": "en" if rng.random() < 0.9 else rng.choice(["ru", "ko"]),
                "published_at": published.isoformat(),
                "fetched_at": published.isoformat(),
                "cluster_id": cluster,
                "topics": source.get("topics", []),
                "entities": rng.sample(ENTITY_IDS, rng.randint(0, 4)),
            },
        }


ENTITY_IDS = [
    "kim-jong-un", "vladimir-putin", "north-korea", "russia", "pyongyang", "moscow", "kremlin",
    "seoul", "south-korea", "ukraine", "kyiv", "united-states", "china", "japan", "kursk",
]  # fmt: skip


def load(es: Any, index: str, count: int, corpus: Path | None) -> float:
    es.indices.put_settings(index=index, settings={"refresh_interval": "-1"})
    started = time.perf_counter()
    actions = ({"_index": index, **doc} for doc in make_documents(count, corpus))
    results = helpers.parallel_bulk(
        es, actions, thread_count=2, chunk_size=2000, raise_on_error=False
    )
    for done, (ok, info) in enumerate(results, 1):
        if not ok:
            raise SystemExit(f"indexing failed: {info}")
        if done % 100_000 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"  indexed {done:,} ({rate:,.0f}/s)", file=sys.stderr)
    es.indices.put_settings(index=index, settings={"refresh_interval": "5s"})
    es.indices.refresh(index=index)
    return time.perf_counter() - started


def wait_for_merges(es: Any, index: str, timeout: float = 900, quiet: int = 3) -> float:
    """A bulk load leaves background merges running for minutes, one after another; an
    index in service (a few articles a second) does not look like that, so measure once
    no merge has run for `quiet` checks in a row, 10 s apart. (Measured in a gap between
    two merges, p95 came out twice as high.)"""
    started = time.perf_counter()
    calm = 0
    while time.perf_counter() - started < timeout and calm < quiet:
        merges = es.indices.stats(index=index, metric="merge")["_all"]["primaries"]["merges"]
        calm = calm + 1 if merges["current"] == 0 else 0
        time.sleep(10)
    return time.perf_counter() - started


def requests(full: bool) -> list[SearchRequest]:
    made = []
    for query, raw in QUERIES:
        filters: dict[str, Any] = {
            key: (
                (datetime.now(UTC) - timedelta(days=int(value[9:]))).date().isoformat()
                if isinstance(value, str) and value.startswith("DAYS_AGO_")
                else value
            )
            for key, value in raw.items()
        }
        made.append(
            SearchRequest(
                query,
                Filters(**filters),
                collapse=full,
                facets=full,
                timeline=full,
                highlight=full,
            )
        )
    return made


def measure(es: Any, settings: Any, mix: list[SearchRequest], rounds: int) -> dict[str, Any]:
    for request in mix:  # warm-up: every query once
        search_page(es, settings, request)
    rng = random.Random(9)
    times = []
    for _ in range(rounds):
        request = rng.choice(mix)
        started = time.perf_counter()
        search_page(es, settings, request)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(statistics.quantiles(times, n=20)[-1], 1),
        "max_ms": round(max(times), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--corpus", type=Path, help="ground-truth.json of the extraction corpus")
    parser.add_argument("--keep", action="store_true", help="keep the index afterwards")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings().model_copy(
        update={"index_prefix": f"bench-search-{uuid.uuid4().hex[:8]}-"}
    )
    es = make_es_client(settings).options(request_timeout=600)
    index = settings.index_name("articles")
    try:
        ensure_indices(es, settings)
        seconds = load(es, index, args.articles, args.corpus)
        settle = wait_for_merges(es, index)
        stats = es.indices.stats(index=index, metric=["store", "docs", "segments"])["_all"]
        full = measure(es, settings, requests(full=True), args.queries)
        plain = measure(es, settings, requests(full=False), args.queries)
    finally:
        if not args.keep:
            delete_indices(es, settings.index_prefix)
    result = {
        "articles": args.articles,
        "index_seconds": round(seconds),
        "index_rate_per_s": round(args.articles / seconds),
        "merges_settled_after_s": round(settle),
        "size_on_disk_mb": round(stats["primaries"]["store"]["size_in_bytes"] / 2**20),
        "segments": stats["primaries"]["segments"]["count"],
        "ui_queries": full,
        "plain_queries": plain,
        "ratio_p95": round(full["p95_ms"] / plain["p95_ms"], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.articles:,} articles indexed in {result['index_seconds']} s "
            f"({result['index_rate_per_s']:,}/s); {result['size_on_disk_mb']:,} MB on disk, "
            f"{result['segments']} segments (background merges settled "
            f"{result['merges_settled_after_s']} s after the load)"
        )
        print(
            f"  with facets, timeline, highlights, collapse: p50 {full['p50_ms']} ms, "
            f"p95 {full['p95_ms']} ms (target p95 <= 100 ms)"
        )
        print(
            f"  plain ranked search (baseline): p50 {plain['p50_ms']} ms, p95 {plain['p95_ms']} "
            f"ms; p95 ratio {result['ratio_p95']}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
