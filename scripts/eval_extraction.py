"""Extraction quality on the article-extraction benchmark: newsmon vs plain trafilatura.

    .venv/bin/python scripts/eval_extraction.py PATH/TO/corpus/extraction [--json]

The corpus folder holds `ground-truth.json` ({id: {"articleBody", "url"}}) and
`html/<id>.html.gz`. Prints precision, recall and F1 (the benchmark's shingle
metric, pipeline.devtools.extraction_eval) for newsmon's extraction and, in the same run, for
`trafilatura.extract(html)` with its defaults.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.devtools.extraction_eval import Quality, aggregate, score_page
from pipeline.ingest.extract import extract


def load_corpus(folder: Path) -> list[tuple[str, bytes, str, str]]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append((page_id, html, item.get("url") or "", item["articleBody"]))
    return pages


def newsmon_text(html: bytes, url: str) -> str:
    article = extract(html, url or "https://example.invalid/").article
    return article.text if article else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pages = load_corpus(args.corpus)
    results: dict[str, Quality] = {
        "newsmon": aggregate(score_page(newsmon_text(h, u), t) for _, h, u, t in pages),
        "trafilatura": aggregate(
            score_page(trafilatura.extract(h) or "", t) for _, h, _, t in pages
        ),
    }
    if args.json:
        print(json.dumps({k: vars(v) for k, v in results.items()}, indent=2))
        return 0
    print(f"{len(pages)} pages from {args.corpus}")
    print(f"{'extractor':<14}{'precision':>10}{'recall':>10}{'F1':>8}")
    for name, q in results.items():
        print(f"{name:<14}{q.precision:>10.3f}{q.recall:>10.3f}{q.f1:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
