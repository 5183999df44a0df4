"""Throughput of newsmon's per-article path against plain trafilatura, same pages, same run.

    .venv/bin/python scripts/bench_article_path.py PATH/TO/corpus/extraction [--workers 2]

newsmon's path: extract (trafilatura + readability edge check + language id) ->
dedup fingerprint (content hash, MinHash, LSH bands, original source) -> tag with
config/topics.yaml. Baseline: `trafilatura.extract(html, url=url,
output_format="json", with_metadata=True)`. Both run over all pages with the same
number of worker processes, alternating, several rounds; medians are reported.
The Elasticsearch candidate lookup (one _msearch per feed batch) is I/O and not
part of this measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing import Pool
from multiprocessing.pool import Pool as PoolType
from pathlib import Path

import lxml.html
import trafilatura
from trafilatura.utils import HTML_PARSER

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import load_settings, load_topics
from pipeline.ingest.dedup import fingerprint
from pipeline.ingest.extract import ELEMENT_CLASSES, extract
from pipeline.ingest.tag import Tagger
from scripts.eval_extraction import load_corpus

_tagger: Tagger | None = None
STOCK_CLASSES = lxml.html.HtmlElementClassLookup()


def _init_worker() -> None:
    global _tagger
    _tagger = Tagger(load_topics(load_settings()))


def trafilatura_only(page: tuple[bytes, str]) -> int:
    html, url = page
    # Importing newsmon's extract module changed the parser's element classes: the
    # baseline is stock trafilatura.
    HTML_PARSER.set_element_class_lookup(STOCK_CLASSES)
    return len(trafilatura.extract(html, url=url, output_format="json", with_metadata=True) or "")


def newsmon_path(page: tuple[bytes, str]) -> int:
    html, url = page
    HTML_PARSER.set_element_class_lookup(ELEMENT_CLASSES)
    article = extract(html, url).article
    if article is None:
        return 0
    article = fingerprint(article)
    assert _tagger is not None
    return len(_tagger.tag(article.title, article.text))


def pages_per_second(
    pool: PoolType, func: Callable[[tuple[bytes, str]], int], pages: list[tuple[bytes, str]]
) -> float:
    start = time.perf_counter()
    pool.map(func, pages, chunksize=4)
    return len(pages) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the corpus per round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pages = [
        (html, url or "https://example.invalid/") for _, html, url, _ in load_corpus(args.corpus)
    ] * args.repeat
    rates: dict[str, list[float]] = {"trafilatura": [], "newsmon": []}
    with Pool(args.workers, initializer=_init_worker) as pool:
        pool.map(newsmon_path, pages[:8])  # warm up imports and caches in every worker
        for _ in range(args.rounds):
            rates["trafilatura"].append(pages_per_second(pool, trafilatura_only, pages))
            rates["newsmon"].append(pages_per_second(pool, newsmon_path, pages))
    base = statistics.median(rates["trafilatura"])
    ours = statistics.median(rates["newsmon"])
    result = {
        "pages": len(pages),
        "workers": args.workers,
        "rounds": args.rounds,
        "trafilatura_pages_per_s": round(base, 1),
        "newsmon_pages_per_s": round(ours, 1),
        "overhead": round(base / ours - 1, 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(pages)} pages x {args.rounds} rounds, {args.workers} workers (medians)")
        print(f"  trafilatura alone : {base:6.1f} pages/s")
        print(f"  newsmon full path : {ours:6.1f} pages/s")
        print(f"  overhead          : {100 * (base / ours - 1):+.1f}% (target <= +25%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
