"""Tagging speed, articles per second on one core: starter taxonomy and a 1,000-topic one.

    .venv/bin/python scripts/bench_tagging.py [--articles 2000] [--json]

Articles are built from the labelled set (tests/fixtures/tagging/labelled.jsonl),
twelve of its texts per article, so each is about 3,000 characters like a real
story. Measured in the same run: newsmon's Tagger with the starter taxonomy
(config/topics.yaml), with a generated 1,000-topic taxonomy (random rules over
the starter entities plus 300 generated phrase groups), the same 1,000 topics with
every rule fully checked on every article (no array filter first), and, as the
baseline, the naive approach of one compiled regex per alias over the starter taxonomy.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import (  # noqa: E402
    REPO_CONFIG_DIR,
    GroupConfig,
    Taxonomy,
    TopicConfig,
    load_taxonomy,
)
from pipeline.ingest.tag import PlainTagger, Tagger  # noqa: E402

LABELLED = REPO / "tests" / "fixtures" / "tagging" / "labelled.jsonl"


def build_articles(count: int, rng: random.Random) -> list[tuple[str, str]]:
    items = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    articles = []
    for _ in range(count):
        parts = rng.sample(items, 12)
        articles.append((parts[0]["title"], "\n".join(p["text"] for p in parts)))
    return articles


def generated_taxonomy(starter: Taxonomy, topics: int, rng: random.Random) -> Taxonomy:
    words = sorted(
        {
            w.lower()
            for line in LABELLED.read_text().splitlines()
            for w in re.findall(r"[A-Za-z]{5,}", line)
        }
    )
    groups = dict(starter.groups)
    for index in range(300):
        groups[f"gen-{index}"] = GroupConfig(phrases=rng.sample(words, 8))
    terms = sorted(groups) + sorted(starter.entities)
    generated = []
    for index in range(topics):
        all_of = rng.sample(terms, 2)
        generated.append(
            TopicConfig(
                id=f"topic-{index}",
                name=f"Topic {index}",
                all_of=all_of,
                near=all_of if rng.random() < 0.5 else [],
                window=rng.choice(["sentence", "paragraph", 30]),
                min_score=rng.choice([1, 2, 4]),
            )
        )
    return Taxonomy(entities=starter.entities, groups=groups, topics=generated)


def naive_matcher(taxonomy: Taxonomy) -> Callable[[str, str], int]:
    """The baseline: one regex per alias and phrase, run over title and text."""
    aliases = [a.rstrip("*") for e in taxonomy.entities.values() for a in e.aliases]
    aliases += [p.rstrip("*") for g in taxonomy.groups.values() for p in g.phrases]
    patterns = [re.compile(rf"(?<!\w){re.escape(a)}", re.IGNORECASE) for a in aliases]

    def run(title: str, text: str) -> int:
        return sum(1 for p in patterns for _ in p.finditer(title + "\n" + text))

    return run


def rate(func: Callable[[str, str], object], articles: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for title, text in articles:
        func(title, text)
    return len(articles) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(42)
    articles = build_articles(args.articles, rng)
    starter = load_taxonomy(REPO_CONFIG_DIR / "topics.yaml")
    large = generated_taxonomy(starter, 1000, rng)
    starter_tagger, large_tagger = Tagger(starter), Tagger(large)
    starter_tagger.analyze(*articles[0])  # warm up
    result: dict[str, float] = {
        "articles": len(articles),
        "mean_chars": round(sum(len(t) for _, t in articles) / len(articles)),
        "starter_topics": len(starter.topics),
        "starter_articles_per_s": round(rate(starter_tagger.analyze, articles)),
        "generated_topics": len(large.topics),
        "generated_articles_per_s": round(rate(large_tagger.analyze, articles)),
        "generated_every_rule_articles_per_s": round(
            rate(PlainTagger(large).analyze, articles[:500])
        ),
        "naive_regex_articles_per_s": round(rate(naive_matcher(starter), articles[:300])),
    }
    result["filter_speedup"] = round(
        result["generated_articles_per_s"] / result["generated_every_rule_articles_per_s"], 1
    )
    result["speedup_vs_naive"] = round(
        result["starter_articles_per_s"] / result["naive_regex_articles_per_s"], 1
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['articles']} articles of {result['mean_chars']} characters, one core")
    print(
        f"  starter taxonomy ({result['starter_topics']} topics): "
        f"{result['starter_articles_per_s']:>6} articles/s (target >= 1000)"
    )
    print(
        f"  generated taxonomy ({result['generated_topics']} topics): "
        f"{result['generated_articles_per_s']:>6} articles/s"
    )
    print(
        f"  the same, every rule tried on every article: "
        f"{result['generated_every_rule_articles_per_s']:>6} articles/s -> the filter is"
        f" {result['filter_speedup']}x faster"
    )
    print(
        f"  baseline, one regex per alias (starter): "
        f"{result['naive_regex_articles_per_s']:>6} articles/s "
        f"-> newsmon is {result['speedup_vs_naive']}x faster"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
