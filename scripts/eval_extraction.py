"""Extraction quality on the article-extraction benchmark: newsmon vs plain trafilatura.

    .venv/bin/python scripts/eval_extraction.py PATH/TO/corpus/extraction [--folds 5] [--json]

The corpus folder holds `ground-truth.json` ({id: {"articleBody", "url"}}) and
`html/<id>.html.gz`. Prints precision, recall and F1 (the benchmark's shingle
metric, pipeline.devtools.extraction_eval) for newsmon's extraction and, in the same run, for
`trafilatura.extract(html)` with its defaults.

Then, on the corpus plus the repository's own labelled pages
(tests/fixtures/extraction/expected.json), newsmon's F1 in-sample (the shipped edge
trimming, tuned on the corpus) next to its k-fold cross-validated F1: each fold's pages
scored with the trimming (from TRIMMING_GRID) that scores best on the other folds, so a
choice that only fits some pages cannot raise the score.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.devtools.extraction_eval import (
    TRIMMING_GRID,
    CrossValidated,
    PageScore,
    Quality,
    aggregate,
    cross_validate,
    score_page,
)
from pipeline.ingest.extract import Extraction, Trimming, candidates, extract, finish

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "extraction"


def load_corpus(folder: Path) -> list[tuple[str, bytes, str, str]]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append((page_id, html, item.get("url") or "", item["articleBody"]))
    return pages


def load_fixtures() -> list[tuple[str, bytes, str, str]]:
    """The repository's own labelled pages ({path: body}), as corpus entries."""
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    root = FIXTURES.parent
    return [
        (path, (root / path).read_bytes(), f"https://news.example/{path}", body)
        for path, body in sorted(expected.items())
    ]


def newsmon_text(html: bytes, url: str) -> str:
    article = extract(html, url or "https://example.invalid/").article
    return article.text if article else ""


def scores_by_trimming(
    pages: list[tuple[str, bytes, str, str]],
) -> dict[Trimming, list[PageScore]]:
    """Every page scored under every trimming of the grid (extracting each page once)."""
    scores: dict[Trimming, list[PageScore]] = {trimming: [] for trimming in TRIMMING_GRID}
    for _, html, url, truth in pages:
        url = url or "https://example.invalid/"
        found = candidates(html, url)
        for trimming, page_scores in scores.items():
            result = (
                found if isinstance(found, Extraction) else finish(found, html, url, None, trimming)
            )
            page_scores.append(score_page(result.article.text if result.article else "", truth))
    return scores


def _trimming(t: Trimming) -> str:
    return f"{t.agreement_min}/{t.line_confirmed}/{t.max_lead_trim}/{t.long_paragraph_words}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pages = load_corpus(args.corpus)
    results: dict[str, Quality] = {
        "newsmon": aggregate(score_page(newsmon_text(h, u), t) for _, h, u, t in pages),
        "trafilatura": aggregate(
            score_page(trafilatura.extract(h) or "", t) for _, h, _, t in pages
        ),
    }
    everything = pages + load_fixtures()
    scores = scores_by_trimming(everything)
    in_sample = aggregate(scores[Trimming()])
    validated: CrossValidated = cross_validate(scores, args.folds)
    if args.json:
        out = {k: vars(v) for k, v in results.items()}
        out["in_sample_all"] = vars(in_sample)
        out["cross_validated_all"] = {
            **vars(validated.quality),
            "folds": args.folds,
            "chosen": [vars(t) for t in validated.chosen],
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{len(pages)} pages from {args.corpus}")
    print(f"{'extractor':<14}{'precision':>10}{'recall':>10}{'F1':>8}")
    for name, q in results.items():
        print(f"{name:<14}{q.precision:>10.3f}{q.recall:>10.3f}{q.f1:>8.3f}")
    print(
        f"\nnewsmon on those and {len(everything) - len(pages)} labelled fixture pages"
        f" ({len(everything)}):"
    )
    print(f"  in-sample, shipped trimming: F1 {in_sample.f1:.3f}")
    print(
        f"  {args.folds}-fold cross-validated:     F1 {validated.quality.f1:.3f}"
        f" (trimming chosen per fold, agreement/line/lead/words:"
        f" {', '.join(_trimming(t) for t in validated.chosen)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
