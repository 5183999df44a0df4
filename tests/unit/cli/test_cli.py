"""CLI commands that work without Elasticsearch, run as the real `newsmon` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import FIXTURES

ARTICLES = FIXTURES / "site" / "articles"
NEWSMON = str(Path(sys.executable).parent / "newsmon")


def newsmon(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSMON, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_tag_reads_json_on_stdin_and_prints_tags_with_evidence() -> None:
    article = {
        "title": "Putin meets North Korean official",
        "text": "Russia and North Korea deepen ties as Pyongyang sends troops.",
    }
    result = newsmon("tag", stdin=json.dumps(article))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    tags = output["tags"]
    assert tags[0]["topic"] == "russia-dprk-relations"
    assert tags[0]["evidence"][0] == {
        "term": "Putin",
        "ref": "vladimir-putin",
        "field": "title",
        "start": 0,
        "end": 5,
    }
    assert tags[0]["window"] == "Putin meets North Korean official"
    assert {
        "id": "vladimir-putin",
        "name": "Vladimir Putin",
        "type": "person",
        "mentions": 1,
    } in output["entities"]


def test_tag_explain_is_readable() -> None:
    article = {
        "title": None,
        "text": "North Korea fired a ballistic missile on Monday, "
        "South Korea's Joint Chiefs of Staff said. Pyongyang launched it from near "
        "the capital.",
    }
    result = newsmon("tag", "--explain", stdin=json.dumps(article))
    assert result.returncode == 0, result.stderr
    assert "dprk-missile-tests  score" in result.stdout
    assert "matched: North Korea [text 0-11]" in result.stdout


def test_tag_rejects_non_json_input() -> None:
    result = newsmon("tag", stdin="not json")
    assert result.returncode == 2 and "not JSON" in result.stderr


def test_extract_html_file_as_json() -> None:
    result = newsmon("extract", str(ARTICLES / "hwasong-launch.html"), "--json")
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["title"] == "North Korea fires ballistic missile into East Sea, Seoul says"
    assert article["authors"] == ["Lee Min-jun"] and article["language"] == "en"
    assert "great article" not in article["text"]  # comments are not the article


def test_extract_refuses_loopback_url_by_default() -> None:
    result = newsmon("extract", "http://127.0.0.1:9/article")
    assert result.returncode == 1 and "non-public address" in result.stderr


def test_invalid_config_exits_2_with_file_key_and_problem(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - id: x\n    name: X\n    url: gopher://x\n")
    result = newsmon("config", NEWSMON_CONFIG_DIR=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"newsmon: config error: {tmp_path / 'feeds.yaml'}: feeds[0] (x).url: "
        "Value error, must be an http:// or https:// URL"
    )


def test_config_summary_json() -> None:
    result = newsmon("config", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["feeds"] >= 15 and summary["index_prefix"] == "news-"


def test_eval_tags_prints_per_topic_scores(tmp_path: Path) -> None:
    labelled = FIXTURES / "tagging" / "heldout.jsonl"
    result = newsmon("eval-tags", str(labelled), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["articles"] == 24
    assert set(report["topics"]["ukraine-war"]) >= {"precision", "recall", "f1", "support"}
    readable = newsmon("eval-tags", str(labelled))
    assert "russia-dprk-relations" in readable.stdout and "precision" in readable.stdout

    untuned = FIXTURES / "tagging" / "untuned.jsonl"
    scores = json.loads(newsmon("eval-tags", str(untuned), "--json", "--scores-only").stdout)
    assert set(scores["languages"]) == {"en", "ru", "ko"}  # told apart by their script
    assert scores["languages"]["ko"]["micro"]["support"] > 0
    assert "false_negatives" not in scores["topics"]["ukraine-war"]  # no ids to tune on

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"title": "t", "text": "x", "topics": []}\n{"title": \n')
    bad = newsmon("eval-tags", str(broken))
    assert bad.returncode == 2 and "broken.jsonl: line 2: not JSON" in bad.stderr


def test_serve_beyond_loopback_needs_a_token() -> None:
    result = newsmon("serve", "--host", "0.0.0.0", NEWSMON_API_TOKEN="")
    assert result.returncode == 1
    assert "set NEWSMON_API_TOKEN" in result.stderr
