"""The rule filter may pass rules Elasticsearch then does not match, but must never drop
one it would match: checked here against the real analyzer on real article text."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts.matching import match_articles, rule_search
from pipeline.alerts.rule_filter import ArticleTerms, RuleFilter
from pipeline.channels.log import LogChannel
from pipeline.config import (
    REPO_CONFIG_DIR,
    AlertRuleConfig,
    AlertsConfig,
    Settings,
    load_settings,
    load_taxonomy,
)
from pipeline.ingest.dedup import fingerprint
from pipeline.ingest.tag import Tagger, tag_article
from pipeline.store import articles as article_store
from pipeline.store import ensure_indices
from tests.conftest import delete_indices, make_test_env
from tests.support import FIXTURES
from tests.support.articles import make_article

LABELLED = FIXTURES / "tagging" / "labelled.jsonl"
EXTRA = [
    ("朝鲜发射巡航导弹", "朝鲜周日发射了两枚巡航导弹，韩国联合参谋本部说。"),
    ("북한, 순항미사일 발사", "북한이 서해상으로 순항미사일 여러 발을 발사했다고 합참이 밝혔다."),
    ("Kim Jong-un's U.S. trip_plan", "Officials said the U.S. side (and Kim's aides) met twice."),
    ("Пхеньян испытал ракеты", "Ракетой ударили по складу Северной Кореи во время визита."),
]
# Dictionary forms whose articles hold only inflected ones (analysed matching).
DICTIONARY_FORMS = ["ракета", "Корея", "визит", "미사일", "발사", '"северная корея"']


def _dictionary_form(word: str) -> str:
    """A crude dictionary form of an inflected word, as an analyst might type it."""
    for ending in ("ing", "ed", "es", "s", "ы", "ой", "и", "ю", "а"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)]
    return word


@pytest.fixture
def indexed(es: Elasticsearch, tmp_path: Path) -> Iterator[tuple[Settings, list[dict]]]:
    settings = load_settings(make_test_env(tmp_path))
    ensure_indices(es, settings)
    items = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    texts = [(item["title"], item["text"]) for item in items] + EXTRA
    tagger = Tagger(load_taxonomy(REPO_CONFIG_DIR / "topics.yaml"))
    now = datetime.now(UTC)
    tagged = []
    for number, (title, text) in enumerate(texts):
        url = f"https://filter.example/{number}"
        article = make_article(url, title, text, published_at=now, site=f"site{number % 3}")
        tagged.append(tag_article(tagger, fingerprint(article), now))
    hits = [article_store.hit(t) for t in tagged]
    article_store.create(es, settings, hits)
    article_store.refresh(es, settings)
    yield settings, hits
    delete_indices(es, settings.index_prefix)


def _rules(hits: list[dict], count: int) -> list[AlertRuleConfig]:
    rng = random.Random(11)
    texts = [f"{h['_source']['title']} {h['_source']['text']}" for h in hits]
    words = sorted({w for t in texts for w in re.findall(r"[\w'.-]+", t)})
    rules = []
    for number in range(count):
        text = rng.choice(texts)
        tokens = text.split()
        start = rng.randrange(max(1, len(tokens) - 3))
        phrase = " ".join(tokens[start : start + rng.choice([2, 3])]).replace('"', "")
        a, b, c = rng.sample(words, 3)
        query = rng.choice(
            [
                f'"{phrase}"',
                f"{a} AND {b}",
                f'"{phrase}" OR {a}',
                f"({a} OR {b}) {c}",
                f"{a} AND {b} OR {c}",
                phrase.replace("(", "").replace(")", ""),
                "巡航",
                "순항미사일",
                rng.choice(DICTIONARY_FORMS),
                f"{_dictionary_form(a)} AND {_dictionary_form(b)}",
                f"{_dictionary_form(a)} OR {c}",
            ]
        )
        filters = rng.choice([{}, {"topics": ["korean-peninsula"]}, {"sources": ["site1"]}])
        rules.append(AlertRuleConfig(id=f"r{number}", query=query, channels=["log"], **filters))
    return rules


def test_filter_keeps_every_rule_and_article_elasticsearch_matches(
    es: Elasticsearch, indexed: tuple[Settings, list[dict]]
) -> None:
    settings, hits = indexed
    rules = _rules(hits, 400)
    ids = [hit["_id"] for hit in hits]
    truth: dict[str, set[str]] = {}
    for start in range(0, len(rules), 100):
        chunk = rules[start : start + 100]
        responses = article_store.msearch(es, settings, [rule_search(rule, ids) for rule in chunk])
        for rule, response in zip(chunk, responses, strict=True):
            assert "error" not in response, (rule.query, response)
            truth[rule.id] = {hit["_id"] for hit in response["hits"]["hits"]}
    articles = [ArticleTerms.from_source(hit["_source"]) for hit in hits]
    kept = {
        rule.id: {ids[i] for i in positions}
        for rule, positions in RuleFilter().candidates(rules, articles)
    }
    lost = {
        rule_id: ids_ for rule_id, ids_ in truth.items() if not ids_ <= kept.get(rule_id, set())
    }
    assert lost == {}
    unfiltered = {r.query: truth[r.id] for r in rules if not (r.topics or r.sources)}
    assert all(unfiltered[form] for form in DICTIONARY_FORMS if form in unfiltered)
    assert sum(1 for form in DICTIONARY_FORMS if form in unfiltered) >= 3
    matched = sum(1 for ids_ in truth.values() if ids_)
    assert matched > 100  # the generated rules really match things ...
    assert len(kept) < len(rules)  # ... and the filter really filters


def test_match_articles_with_and_without_the_filter_agree(
    es: Elasticsearch, indexed: tuple[Settings, list[dict]]
) -> None:
    settings, hits = indexed
    config = AlertsConfig(
        channels={"log": LogChannel(type="log", path="/dev/null")}, rules=_rules(hits, 200)
    )
    unfiltered = match_articles(es, settings, config, hits, prefilter=False)
    filtered = match_articles(es, settings, config, hits)
    assert filtered.matches == unfiltered.matches > 0
    assert filtered.candidate_rules < unfiltered.candidate_rules
