"""Near-duplicate precision and recall on a labelled set of realistic variants.

    .venv/bin/python scripts/bench_dedup.py PATH/TO/corpus/extraction [--json]

Stories: the article bodies of the extraction corpus plus newsmon's own
same-topic fixture stories (tests/fixtures: several North Korea missile and
Russia stories that share wire phrasing, the hard negatives). Positives: each
story against six variants of it (tests/dedup_variants.py: edited, truncated,
re-headlined with boilerplate, attributed, reordered, teaser excerpt).
Negatives: every pair of different stories, and every variant against every
other same-topic story. A pair is called a duplicate the way the dedup stage
decides it: the two share an LSH band (so the Elasticsearch lookup would find
the candidate) and pass `is_near_duplicate`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.ingest.dedup import is_near_duplicate, make_fingerprint  # noqa: E402
from pipeline.models import Fingerprint  # noqa: E402
from tests.support.dedup_variants import variants  # noqa: E402

MIN_STORY_CHARS = 400


def fixture_stories() -> dict[str, str]:
    stories = json.loads((REPO / "tests/fixtures/dedup/same_topic_stories.json").read_text())
    expected = json.loads((REPO / "tests/fixtures/extraction/expected.json").read_text())
    found = {f"fixture:{s['id']}": s["text"] for s in stories}
    found.update(
        {f"fixture:{path}": body for path, body in expected.items() if "syndicated" not in path}
    )  # that one is itself a copy
    return found


def corpus_stories(folder: Path) -> dict[str, str]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return {
        pid: item["articleBody"]
        for pid, item in truth.items()
        if len(item["articleBody"]) >= MIN_STORY_CHARS
    }


def called_duplicate(a: Fingerprint, b: Fingerprint) -> bool:
    return bool(set(a.bands) & set(b.bands)) and is_near_duplicate(a, b)


def evaluate(stories: dict[str, str]) -> dict[str, object]:
    prints = {sid: make_fingerprint(text) for sid, text in stories.items()}
    variant_prints = {
        (sid, name): make_fingerprint(text)
        for i, (sid, story) in enumerate(sorted(stories.items()))
        for name, text in variants(story, seed=i).items()
    }
    tp = fn = fp = tn = 0
    missed: Counter[str] = Counter()
    for (sid, name), fpv in variant_prints.items():
        if called_duplicate(prints[sid], fpv):
            tp += 1
        else:
            fn += 1
            missed[name] += 1
    negatives = list(itertools.combinations(prints.values(), 2))
    fixture_ids = [sid for sid in stories if sid.startswith("fixture:")]
    negatives += [
        (prints[other], fpv)
        for (sid, _), fpv in variant_prints.items()
        if sid in fixture_ids
        for other in fixture_ids
        if other != sid
    ]
    for a, b in negatives:
        if called_duplicate(a, b):
            fp += 1
        else:
            tn += 1
    return {
        "stories": len(stories),
        "positive_pairs": tp + fn,
        "negative_pairs": fp + tn,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "false_positives": fp,
        "missed_by_variant": dict(missed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", help="corpus/extraction folder (optional)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    stories = fixture_stories()
    if args.corpus:
        stories.update(corpus_stories(args.corpus))
    result = evaluate(stories)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['stories']} stories, {result['positive_pairs']} positive and "
            f"{result['negative_pairs']} negative pairs"
        )
        print(
            f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
            f"(false positives {result['false_positives']}, "
            f"missed by variant {result['missed_by_variant']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
