"""Search recall and precision for dictionary-form queries, exact-form search vs
analysed search, in one run on the real Elasticsearch.

    .venv/bin/python scripts/bench_search_recall.py [--corpus CORPUS/extraction] [--json]

Indexes tests/fixtures/search_recall/articles.yaml (English, Russian and Korean news
texts) under a fresh index prefix, runs each query of queries.yaml both ways and
compares the hits with the articles judged to contain the word in some form. Reports
recall and precision per language, for the `dev` queries (the examples the analysis
was designed on) and the `heldout` ones (written before the first run), then deletes
the indices. With --corpus, also times the analysis against extraction on the
extraction benchmark's pages (the ingest cost of the analysed fields).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import analysis
from pipeline.config import load_settings
from pipeline.search.query import SEARCH_FIELDS, build_query
from pipeline.store import session

DATA = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "search_recall"


def exact_query(query: str) -> dict[str, Any]:
    """The search before analysis: the standard analyzer's exact word forms only."""
    fields = {"query": query, "fields": SEARCH_FIELDS, "default_operator": "AND"}
    return {"query_string": fields}


def analysis_cost(corpus: Path) -> dict[str, float]:
    """CPU ms per page of extraction, and of analysing the extracted title and text:
    cold (every word met for the first time in the process: Russian and Korean words
    are looked up once, then remembered) and warm (the same pages again)."""
    from pipeline.ingest.extract import extract

    truth = json.loads((corpus / "ground-truth.json").read_text())
    pages = [gzip.decompress((corpus / "html" / f"{pid}.html.gz").read_bytes()) for pid in truth]
    analysis.analyze("", None)
    started = time.process_time()
    extracted = [
        extract(html, f"https://bench.example/{n}").article for n, html in enumerate(pages)
    ]
    extracting = time.process_time() - started
    articles = [article for article in extracted if article]
    cost = {"extract_ms": round(1000 * extracting / len(pages), 1)}
    for run in ("cold", "warm"):
        started = time.process_time()
        for article in articles:
            analysis.stem_fields(article.title, article.text, article.language)
        analysing = time.process_time() - started
        cost[f"analyse_{run}_ms"] = round(1000 * analysing / len(articles), 2)
        cost[f"{run}_ratio"] = round(analysing / len(articles) / (extracting / len(pages)), 3)
    return cost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="the extraction corpus folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cost = analysis_cost(args.corpus) if args.corpus else None
    articles = yaml.safe_load((DATA / "articles.yaml").read_text())["articles"]
    queries = yaml.safe_load((DATA / "queries.yaml").read_text())["queries"]
    settings = load_settings().model_copy(
        update={"index_prefix": f"bench-recall-{uuid.uuid4().hex[:8]}-"}
    )
    index = settings.index_name("articles")
    counts: dict[tuple[str, str, str], dict[str, int]] = {}
    misses: list[str] = []
    with session(settings, setup=True) as es:
        try:
            for article in articles:
                doc = {key: article[key] for key in ("title", "text", "language")}
                doc.update(analysis.stem_fields(doc["title"], doc["text"], doc["language"]))
                es.index(index=index, id=article["id"], document=doc)
            es.indices.refresh(index=index)
            for item in queries:
                relevant = set(item["relevant"])
                for method, query in (
                    ("exact", exact_query(item["query"])),
                    ("analysed", build_query(item["query"])),
                ):
                    found = es.search(index=index, query=query, size=100, source=False)
                    hits = {hit["_id"] for hit in found["hits"]["hits"]}
                    for key in ((item["set"], item["language"], method), ("all", "all", method)):
                        tally = counts.setdefault(key, {"relevant": 0, "found": 0, "correct": 0})
                        tally["relevant"] += len(relevant)
                        tally["found"] += len(hits)
                        tally["correct"] += len(hits & relevant)
                    if method == "analysed" and hits != relevant:
                        missed, extra = sorted(relevant - hits), sorted(hits - relevant)
                        misses.append(f"{item['query']}: missed {missed}, extra {extra}")
        finally:
            for name in es.indices.get(index=f"{settings.index_prefix}*"):
                es.indices.delete(index=name)
    results = [
        {
            "set": key[0],
            "language": key[1],
            "method": key[2],
            "recall": round(tally["correct"] / tally["relevant"], 3),
            "precision": round(tally["correct"] / tally["found"], 3) if tally["found"] else 1.0,
            **tally,
        }
        for key, tally in sorted(counts.items())
    ]
    if args.json:
        report = {"results": results, "misses": misses, "analysis_cost": cost}
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"{len(queries)} queries over {len(articles)} articles")
    print(f"{'set':8} {'language':8} {'method':9} {'recall':>7} {'precision':>9}")
    for row in results:
        print(
            f"{row['set']:8} {row['language']:8} {row['method']:9}"
            f" {row['recall']:7.3f} {row['precision']:9.3f}"
        )
    print("analysed search, queries not answered exactly:")
    for line in misses:
        print(f"  {line}")
    if cost:
        print(
            f"ingest cost: extraction {cost['extract_ms']} ms/page, analysis"
            f" {cost['analyse_cold_ms']} ms/article cold ({cost['cold_ratio']:.1%} of"
            f" extraction), {cost['analyse_warm_ms']} ms warm ({cost['warm_ratio']:.1%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
