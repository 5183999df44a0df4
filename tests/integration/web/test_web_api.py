"""The HTTP API on a real uvicorn, against the real Elasticsearch."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
from elasticsearch import Elasticsearch

from pipeline.config import load_alerts
from tests.conftest import delete_indices
from tests.support.fixture_site import FixtureSite
from tests.support.web_server import HOSTILE_TITLE, WebServer, index_fixture_articles, start_server


def get(web: WebServer, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{web.url}/api/{path}", params=params, timeout=30)  # type: ignore[arg-type]


def test_search_with_facets_timeline_and_highlights(web: WebServer) -> None:
    page = get(web, "search", q="missile", timeline="true").json()
    assert page["total"] == 4 and page["total_is_exact"]
    titles = [hit["title"] for hit in page["hits"]]
    assert len(titles) == 3  # the syndicated copy is collapsed into its story
    copied = next(hit for hit in page["hits"] if hit["copies"] == 2)
    assert len(copied["copy_urls"]) == 2
    topics = {b["value"]: b["count"] for b in page["facets"]["topics"]}
    assert topics["dprk-missile-tests"] >= 3
    assert {b["value"] for b in page["facets"]["site"]} >= {"Hostile Feed", "Fixture Asia Desk"}
    # Analysts read names; the filters keep the ids.
    labels = {b["value"]: b["label"] for facet in page["facets"].values() for b in facet}
    assert labels["dprk-missile-tests"] != "dprk-missile-tests"
    entities = {b["value"]: b["label"] for b in page["facets"]["entities"]}
    assert entities and all(label != value for value, label in entities.items())
    assert all(":" not in hit["source"] for hit in page["hits"])
    assert all(len(h["topic_names"]) == len(h["topics"]) for h in page["hits"])
    assert page["timeline"]["interval"] == "day"
    assert sum(b["count"] for b in page["timeline"]["buckets"]) == 4
    assert any("<em>missile</em>" in f for hit in page["hits"] for f in hit["highlights"])


def test_filters_sorting_and_paging(web: WebServer) -> None:
    by_topic = get(web, "search", q="missile", topic="russia-dprk-relations").json()
    assert by_topic["total"] == 2 and all(
        "russia-dprk-relations" in hit["topics"] for hit in by_topic["hits"]
    )
    by_source = get(web, "search", source="Hostile Feed").json()  # no query: browse
    assert [hit["site"] for hit in by_source["hits"]] == ["Hostile Feed"]
    dated = get(web, "search", since="2026-11-21", until="2026-11-22T23:59:59").json()
    assert dated["total"] >= 2 and all(h["published_at"] >= "2026-11-21" for h in dated["hits"])
    newest = get(web, "search", sort="newest", collapse="false").json()["hits"]
    dates = [hit["published_at"] for hit in newest]
    assert dates == sorted(dates, reverse=True)

    # Every copy pages by search_after cursor; together the pages are the whole set.
    seen, after = [], None
    while True:
        params = {"collapse": "false", "size": 2, "sort": "newest", "facets": "false"}
        page = get(web, "search", **params, **({"after": after} if after else {})).json()
        seen += [hit["id"] for hit in page["hits"]]
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == page["total"]
    # Stories page by offset.
    first = get(web, "search", size=2).json()
    assert first["next_offset"] == 2
    second = get(web, "search", size=2, offset=2).json()
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}


def test_bad_input_gets_a_helpful_message_not_a_500(web: WebServer) -> None:
    bad = get(web, "search", q='"unclosed AND (')
    assert bad.status_code == 400 and "cannot parse query" in bad.json()["detail"]
    assert get(web, "search", size=1000).status_code == 422  # page size is bounded
    assert get(web, "search", offset=5000).status_code == 422  # stories page 1,000 deep
    last = get(web, "search", offset=995, size=20)  # the last page is a shorter one
    assert last.status_code == 200 and last.json()["next_offset"] is None
    assert get(web, "search", since="last tuesday").status_code == 422  # ISO dates only
    assert get(web, "search", until="2026-11-28").status_code == 200
    assert get(web, "search", collapse="false", after="not-a-cursor").status_code == 400
    assert get(web, "articles/nope").status_code == 404


def test_article_topics_entities_feeds_and_alerts(web: WebServer) -> None:
    hit = get(web, "search", q='"cruise missile" AND Kremlin').json()["hits"][0]
    article = get(web, f"articles/{hit['id']}").json()
    assert article["text"] and article["tags"]
    mention = article["tags"][0]["evidence"][0]
    field_text = article[mention["field"]]
    assert field_text[mention["start"] : mention["end"]] == mention["term"]
    assert len(article["copies"]) == 1  # the syndicated copy
    topics = {t["id"]: t["articles"] for t in get(web, "topics").json()}
    assert topics["dprk-missile-tests"] >= 3 and "ukraine-war" in topics
    entities = {e["id"]: e for e in get(web, "entities").json()}
    assert entities["kim-jong-un"]["type"] == "person" and entities["kim-jong-un"]["articles"] >= 1
    feeds = {f["feed_id"]: f for f in get(web, "feeds").json()}
    assert feeds["fixture-world"]["last_status"] == "ok"
    assert feeds["fixture-not-a-feed"]["last_status"] == "failed"
    rules = get(web, "alerts/rules").json()
    assert rules["channels"] == ["log"] and rules["rules"][0]["id"] == "dprk-cruise-missiles"
    events = get(web, "alerts/events").json()
    assert [e["rule_id"] for e in events] == ["dprk-cruise-missiles"]


def test_saved_search_becomes_an_alert_rule(web: WebServer) -> None:
    body = {"name": "Kim and the Kremlin", "query": "Kremlin", "topics": ["korean-peninsula"]}
    saved = httpx.post(f"{web.url}/api/saved-searches", json=body, timeout=30).json()
    assert saved["id"] == "kim-and-the-kremlin"
    assert [s["name"] for s in get(web, "saved-searches").json()] == ["Kim and the Kremlin"]
    alert = httpx.post(
        f"{web.url}/api/saved-searches/{saved['id']}/alert",
        json={"channels": ["log"], "mode": "daily"},
        timeout=30,
    )
    assert alert.status_code == 200, alert.text
    rule = next(r for r in load_alerts(web.settings).rules if r.id == "kim-and-the-kremlin")
    assert (rule.query, rule.topics, rule.mode) == ("Kremlin", ["korean-peninsula"], "daily")
    again = httpx.post(
        f"{web.url}/api/saved-searches/{saved['id']}/alert", json={"channels": ["log"]}, timeout=30
    )
    assert again.status_code == 400 and "a rule with this id exists" in again.json()["detail"]
    unknown = httpx.post(f"{web.url}/api/saved-searches", json={"name": "x", "query": "y"})
    wrong_channel = httpx.post(
        f"{web.url}/api/saved-searches/{unknown.json()['id']}/alert", json={"channels": ["pager"]}
    )
    assert wrong_channel.status_code == 400 and "unknown channel 'pager'" in wrong_channel.text
    assert httpx.delete(f"{web.url}/api/saved-searches/x").status_code == 200
    assert httpx.delete(f"{web.url}/api/saved-searches/x").status_code == 404


def test_export_csv_and_json_lines(web: WebServer) -> None:
    response = get(web, "export", q="missile")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4  # every copy
    assert {"id", "title", "url", "topics"} <= set(rows[0])
    lines = get(web, "export", q="missile", format="json").text.splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["url"]
    hostile = get(web, "export", source="Hostile Feed").text
    assert HOSTILE_TITLE.replace('"', '""') in hostile  # data, quoted, not interpreted


def test_openapi_schema_documents_the_api(web: WebServer) -> None:
    schema = httpx.get(f"{web.url}/openapi.json").json()
    assert {"/api/search", "/api/articles/{article_id}", "/api/export"} <= set(schema["paths"])


def test_token_auth(fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch) -> None:
    settings = index_fixture_articles(fixture_site, tmp_path, api_token="s3cret-token")
    server = start_server(settings)
    try:
        assert httpx.get(f"{server.url}/api/search").status_code == 401
        wrong = httpx.get(f"{server.url}/api/search", headers={"X-Newsmon-Token": "nope"})
        assert wrong.status_code == 401
        ok = httpx.get(f"{server.url}/api/search", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        assert httpx.get(f"{server.url}/").status_code == 200  # the page itself holds no data
    finally:
        server.stop()
        delete_indices(es, settings.index_prefix)
