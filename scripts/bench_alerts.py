"""Alert matching throughput with 10,000 rules, and latency from indexed to webhook delivery.

    .venv/bin/python scripts/bench_alerts.py [--rules 10000] [--json]

Needs the Elasticsearch newsmon uses (`newsmon es start` or NEWSMON_ES_URL); works
in indices of its own (prefix bench-alerts-*) and deletes them afterwards.
Articles are built from the labelled tagging set; rules are generated from its
vocabulary (phrases, AND pairs, some with a topic filter), so a few match.
Measured in the same run: newsmon's matching (word prefilter + one _msearch per
200 candidate rules) and the baseline without the prefilter (every rule searched).
Latency: a batch is indexed, then matched and delivered to a webhook receiver on
127.0.0.1 (its own process); each alert's latency is its arrival time at the
receiver minus the time the batch was indexed (and refreshed).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.alerts.delivery import deliver_pending  # noqa: E402
from pipeline.alerts.matching import match_articles  # noqa: E402
from pipeline.channels.webhook import WebhookChannel  # noqa: E402
from pipeline.config import (  # noqa: E402
    REPO_CONFIG_DIR,
    AlertRuleConfig,
    AlertsConfig,
    load_settings,
    load_taxonomy,
)
from pipeline.ingest.dedup import fingerprint  # noqa: E402
from pipeline.ingest.tag import Tagger, tag_article  # noqa: E402
from pipeline.models import TaggedArticle  # noqa: E402
from pipeline.store import articles as article_store  # noqa: E402
from pipeline.store import ensure_indices, make_es_client  # noqa: E402
from tests.conftest import delete_indices  # noqa: E402
from tests.support.articles import make_article  # noqa: E402
from tests.support.receivers import HttpReceiver  # noqa: E402

LABELLED = REPO / "tests" / "fixtures" / "tagging" / "labelled.jsonl"
BATCH = 100


def make_articles(count: int, rng: random.Random, tagger: Tagger) -> list[TaggedArticle]:
    items = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    now = datetime.now(UTC)
    made = []
    for _ in range(count):
        parts = rng.sample(items, 3)
        url = f"https://bench.example/{uuid.uuid4().hex}"
        text = "\n".join(p["text"] for p in parts)
        article = make_article(
            url, parts[0]["title"], text, published_at=now, site=rng.choice(["a", "b", "c"])
        )
        made.append(tag_article(tagger, fingerprint(article), now))
    return made


def make_rules(count: int, rng: random.Random) -> list[AlertRuleConfig]:
    """Rules like an analyst team's: most watch terms that co-occur rarely (AND of two or
    three words, from the articles' vocabulary and beyond it), a few exact phrases from
    the articles, some ORs, some with a topic filter."""
    texts = [json.loads(line)["text"] for line in LABELLED.read_text().splitlines() if line]
    words = sorted({w.lower() for t in texts for w in re.findall(r"\w{4,}", t)})
    extra = [f"{rng.choice(words)[:4]}{rng.choice(words)[-4:]}" for _ in range(2000)]
    vocabulary = words + extra
    rules = []
    for index in range(count):
        kind = rng.random()
        if kind < 0.005:
            tokens = re.findall(r"\w{3,}", rng.choice(texts))
            start = rng.randrange(max(1, len(tokens) - 2))
            query = f'"{tokens[start]} {tokens[start + 1]}"' if len(tokens) > 1 else tokens[0]
        elif kind < 0.1:
            query = f'"{rng.choice(words)} {rng.choice(words)}" OR {rng.choice(extra)}'
        else:
            query = " AND ".join(rng.sample(vocabulary, rng.choice([2, 3])))
        topics = ["korean-peninsula"] if rng.random() < 0.1 else []
        rules.append(
            AlertRuleConfig(id=f"rule-{index}", query=query, topics=topics, channels=["hook"])
        )
    return rules


def _receive(
    urls: multiprocessing.Queue[str], out: multiprocessing.Queue[tuple[str, float]]
) -> None:
    receiver = HttpReceiver()
    urls.put(receiver.url)
    reported = 0
    while True:
        time.sleep(0.02)
        arrived = len(receiver.arrivals)
        for (headers, _), at in zip(
            receiver.received[reported:arrived], receiver.arrivals[reported:arrived], strict=True
        ):
            out.put((headers["x-newsmon-event"], at))
        reported = arrived


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(7)
    settings = load_settings().model_copy(
        update={"index_prefix": f"bench-alerts-{uuid.uuid4().hex[:8]}-"}
    )
    es = make_es_client(settings)
    # The receiver runs in a process of its own, as a real one would: in this process it
    # would compete with delivery for the interpreter lock.
    context = multiprocessing.get_context("fork")
    arrivals: multiprocessing.Queue[tuple[str, float]] = context.Queue()
    urls: multiprocessing.Queue[str] = context.Queue()
    receiver = context.Process(target=_receive, args=(urls, arrivals), daemon=True)
    receiver.start()
    hook_url = urls.get(timeout=30)
    tagger = Tagger(load_taxonomy(REPO_CONFIG_DIR / "topics.yaml"))
    config = AlertsConfig(
        channels={"hook": WebhookChannel(type="webhook", url=hook_url)},
        rules=make_rules(args.rules, rng),
    )
    try:
        ensure_indices(es, settings)
        rates, baseline, latencies = [], [], []
        for batch_number in range(args.batches):
            batch = make_articles(BATCH, rng, tagger)
            article_store.create(es, settings, [article_store.hit(a) for a in batch])
            article_store.refresh(es, settings)
            indexed_at = time.time()
            hits = [article_store.hit(a) for a in batch]
            start = time.perf_counter()
            summary = match_articles(es, settings, config, hits)
            rates.append(BATCH / (time.perf_counter() - start))
            delivered = 0
            while sent := deliver_pending(es, settings, config).delivered:
                delivered += sent
            for _ in range(delivered):  # each alert's own arrival time at the receiver
                latencies.append(arrivals.get(timeout=30)[1] - indexed_at)
            if batch_number < 2:  # the baseline is slow: two batches are enough
                start = time.perf_counter()
                unfiltered = match_articles(es, settings, config, hits, prefilter=False)
                baseline.append(BATCH / (time.perf_counter() - start))
                if unfiltered.matches != summary.matches:
                    raise SystemExit(f"prefilter lost matches: {summary} vs {unfiltered}")
            print(
                f"  batch {batch_number + 1}: {summary.candidate_rules} candidate rules, "
                f"{summary.matches} matches, {summary.events_created} events",
                file=sys.stderr,
            )
    finally:
        delete_indices(es, settings.index_prefix)
        receiver.terminate()
    result = {
        "rules": args.rules,
        "articles": args.batches * BATCH,
        "batch": BATCH,
        "articles_per_s": round(statistics.median(rates), 1),
        "baseline_articles_per_s": round(statistics.median(baseline), 1),
        "alerts_delivered": len(latencies),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p95_s": round(statistics.quantiles(latencies, n=20)[-1], 3)
        if len(latencies) >= 2
        else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['rules']} rules, {result['articles']} articles in batches of {BATCH}")
        print(
            f"  matching: {result['articles_per_s']} articles/s (target >= 200); without "
            f"the prefilter {result['baseline_articles_per_s']} articles/s"
        )
        print(
            f"  indexed -> webhook: p50 {result['latency_p50_s']} s, p95 "
            f"{result['latency_p95_s']} s over {result['alerts_delivered']} alerts "
            f"(target p95 <= 2 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
