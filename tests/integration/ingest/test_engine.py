"""`newsmon run` end to end: fixture feeds over real HTTP into the real Elasticsearch."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, select_feeds
from pipeline.errors import SearchSyntaxError
from pipeline.ingest.engine import IngestContext, ingest_feeds, run_cycle
from pipeline.models import RunSummary
from pipeline.search.pages import search
from pipeline.store import make_es_client
from pipeline.urls import article_id
from tests.support.fixture_site import FixtureSite


@pytest.fixture(scope="module")
def first_run(settings: Settings, es: Elasticsearch) -> RunSummary:
    return run_cycle(settings)


def _doc(es: Elasticsearch, settings: Settings, base: str, path: str) -> dict:
    response = es.get(index=settings.index_name("articles"), id=article_id(base + path))
    return dict(response["_source"])


def test_first_run_counts(first_run: RunSummary) -> None:
    assert first_run.totals() == {
        "feeds_ok": 2,
        "feeds_failed": 2,
        "entries": 8,  # 5 linked items in the RSS feed, 3 in the Atom feed
        "new": 7,
        "duplicate": 1,  # the Atom feed links the RSS feed's first story again
        "extracted": 5,
        "failed": 2,  # the 404 page and the paywalled one
        "indexed": 5,
        "near_duplicate": 1,  # the syndicated copy of the first story
        "alerts": 1,  # config/alerts.yaml's cruise-missile rule, on the first story
        "alerts_delivered": 1,
        "feeds_not_modified": 0,
        "feeds_unchanged": 0,
    }
    world = next(f for f in first_run.feeds if f.feed_id == "fixture-world")
    assert any(f.endswith("missing.html: HTTP 404") for f in world.failures)
    assert any(f.endswith("paywalled.html: paywalled") for f in world.failures)
    failed = {f.feed_id: f.error or "" for f in first_run.feeds if not f.ok}
    assert "not a readable feed" in failed["fixture-not-a-feed"]
    assert "too slow" in failed["fixture-slow"] or "timed out" in failed["fixture-slow"]


def test_articles_have_expected_fields_and_tags(
    first_run: RunSummary, es: Elasticsearch, settings: Settings, fixture_site: FixtureSite
) -> None:
    base = fixture_site.base_url
    putin = _doc(es, settings, base, "/articles/putin-ri-hi-yong.html")
    assert (
        putin["title"]
        == "Putin Strengthens Ties with North Korea Amid Missile Tests by Kim Jong Un"
    )
    assert putin["canonical_url"] == base + "/articles/putin-ri-hi-yong.html"
    assert "utm_source" in putin["url"]  # the link as the feed gave it
    assert putin["authors"] == ["Anna Petrova"]
    assert putin["published_at"].startswith("2026-11-20")
    assert putin["language"] == "en"
    assert putin["site"] == "Fixture World News"
    assert putin["feed_id"] == "fixture-world"
    assert "Ri Hi Yong" in putin["text"] and "Related" not in putin["text"]
    assert {"russia-dprk-relations", "dprk-missile-tests", "ukraine-war"} <= set(putin["topics"])
    tag = next(t for t in putin["tags"] if t["topic"] == "russia-dprk-relations")
    assert tag["score"] > 0 and any(e["term"] == "Putin" for e in tag["evidence"])

    launch = _doc(es, settings, base, "/articles/hwasong-launch.html")
    assert "dprk-missile-tests" in launch["topics"]
    assert "russia-dprk-relations" not in launch["topics"]

    trade = _doc(es, settings, base, "/articles/russia-china-trade.html")
    assert "russia-china-relations" in trade["topics"]
    assert "russia-dprk-relations" not in trade["topics"]

    election = _doc(es, settings, base, "/articles/seoul-election.html")
    assert "russia-dprk-relations" not in election["topics"]
    assert "inter-korean-relations" not in election["topics"]


def test_feed_health_is_recorded(
    first_run: RunSummary, es: Elasticsearch, settings: Settings
) -> None:
    feeds = settings.index_name("feeds")
    ok = es.get(index=feeds, id="fixture-world")["_source"]
    assert ok["last_status"] == "ok" and ok["indexed"] == 3 and ok["last_success"]
    broken = es.get(index=feeds, id="fixture-not-a-feed")["_source"]
    assert broken["last_status"] == "failed" and "not a readable feed" in broken["last_error"]
    assert "last_success" not in broken


def test_second_run_adds_nothing_and_fetches_no_page_again(
    first_run: RunSummary, es: Elasticsearch, settings: Settings, fixture_site: FixtureSite
) -> None:
    count_before = es.count(index=settings.index_name("articles"))["count"]
    page_fetches = fixture_site.requests["/articles/putin-ri-hi-yong.html"]
    second = run_cycle(settings, ["fixture-world", "fixture-korea"])
    # Both feeds answer the stored ETag with 304: nothing is parsed or fetched again. The
    # 404 and paywalled pages failed permanently, so they wait until the feed changes.
    assert {f.feed_id: f.poll for f in second.feeds} == {
        "fixture-world": "not_modified",
        "fixture-korea": "not_modified",
    }
    assert second.totals()["new"] == second.totals()["indexed"] == 0
    assert fixture_site.not_modified["/feeds/world.rss"] >= 1
    assert es.count(index=settings.index_name("articles"))["count"] == count_before == 5
    assert fixture_site.requests["/articles/putin-ri-hi-yong.html"] == page_fetches
    health = es.get(index=settings.index_name("feeds"), id="fixture-world")["_source"]
    assert health["not_modified"] >= 1 and health["consecutive_failures"] == 0


def test_search_phrase_with_highlight(
    first_run: RunSummary, es: Elasticsearch, settings: Settings
) -> None:
    hits = search(es, settings, '"Ri Hi Yong"')
    assert len(hits) == 1  # the syndicated copy is collapsed into its story
    assert hits[0].copies == 2
    marked = " ".join(hits[0].highlights)
    assert "<em>Ri Hi Yong</em>" in marked or "<em>Ri</em> <em>Hi</em> <em>Yong</em>" in marked


def test_search_boolean_operators(
    first_run: RunSummary, es: Elasticsearch, settings: Settings
) -> None:
    both = search(es, settings, "cruise missile AND Moscow", collapse=False)
    assert {h.title for h in both} == {
        "Putin Strengthens Ties with North Korea Amid Missile Tests by Kim Jong Un",
        "Kremlin hosts North Korean party secretary after cruise missile test",
    }
    missile_not_moscow = search(es, settings, "missile NOT Moscow")
    titles = {h.title for h in missile_not_moscow}
    assert "North Korea fires ballistic missile into East Sea, Seoul says" in titles
    assert all("Putin" not in t and "Kremlin" not in t for t in titles)
    either = {h.title for h in search(es, settings, "yuan OR mayoral")}
    assert len(either) == 2


def test_malformed_query_gives_clear_error(
    first_run: RunSummary, es: Elasticsearch, settings: Settings
) -> None:
    with pytest.raises(SearchSyntaxError, match="cannot parse query"):
        search(es, settings, '"unclosed phrase AND (')


def test_syndicated_copy_joins_the_original_story_cluster(
    first_run: RunSummary, es: Elasticsearch, settings: Settings, fixture_site: FixtureSite
) -> None:
    base = fixture_site.base_url
    original_id = article_id(base + "/articles/putin-ri-hi-yong.html")
    original = _doc(es, settings, base, "/articles/putin-ri-hi-yong.html")
    copy = _doc(es, settings, base, "/articles/syndicated-putin-copy.html")
    assert original["cluster_id"] == original_id and original["duplicate_of"] is None
    assert copy["cluster_id"] == original_id and copy["duplicate_of"] == original_id
    assert copy["original_source"] == "Hindustan Times"
    assert copy["site"] == "Daily Fixture Herald"
    assert "newsletter" not in copy["text"]
    others = [
        _doc(es, settings, base, f"/articles/{name}.html")
        for name in ("hwasong-launch", "russia-china-trade", "seoul-election")
    ]
    assert all(doc["cluster_id"] != original_id and doc["duplicate_of"] is None for doc in others)


def test_elasticsearch_gone_mid_run_is_recorded_per_feed(settings: Settings) -> None:
    ctx = IngestContext.open(settings)
    ctx.es.close()
    dead = settings.model_copy(update={"es_url": "http://127.0.0.1:9"})
    ctx.es = make_es_client(dead)  # as if the cluster went away after the run started
    try:
        summary = ingest_feeds(ctx, select_feeds(settings, ["fixture-world", "fixture-korea"]))
    finally:
        ctx.close()
    assert [f.ok for f in summary.feeds] == [False, False]
    assert all((f.error or "").startswith("Elasticsearch:") for f in summary.feeds)
