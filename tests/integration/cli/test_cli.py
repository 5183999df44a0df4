"""`newsmon run` and `newsmon search` as real processes against the real Elasticsearch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from elasticsearch import Elasticsearch

from pipeline.config import load_settings
from tests.conftest import delete_indices, make_test_env
from tests.support.fixture_site import FixtureSite, write_config_dir

NEWSMON = str(Path(sys.executable).parent / "newsmon")


def newsmon(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSMON, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_run_then_search_from_the_command_line(
    fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch
) -> None:
    feeds = {"fixture-world": "/feeds/world.rss", "fixture-not-a-feed": "/feeds/not-a-feed.html"}
    env = {**os.environ, **make_test_env(write_config_dir(tmp_path, fixture_site.base_url, feeds))}

    try:
        run = newsmon(env, "run", "--json")
        assert run.returncode == 0, run.stderr
        totals = json.loads(run.stdout)["totals"]
        assert totals["indexed"] == 3 and totals["feeds_failed"] == 1

        human = newsmon(env, "run")
        assert human.returncode == 0
        assert "indexed 0" in human.stdout and "fixture-not-a-feed: FAILED" in human.stderr

        found = newsmon(env, "search", "--json", '"strategic cruise missile"')
        assert found.returncode == 0, found.stderr
        hits = json.loads(found.stdout)["hits"]
        assert len(hits) == 1 and hits[0]["site"] == "Fixture World News"

        readable = newsmon(env, "search", "cruise missile AND Moscow")
        assert readable.stdout.startswith("1 article (")
        assert "\n 1. Putin Strengthens Ties" in readable.stdout
        assert "[cruise] [missile]" in readable.stdout or "[cruise missile]" in readable.stdout

        bad = newsmon(env, "search", "(unbalanced AND")
        assert bad.returncode == 1 and "cannot parse query" in bad.stderr
    finally:
        delete_indices(es, load_settings(env).index_prefix)


def test_unreachable_cluster_gives_a_clear_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NEWSMON_ES_URL": "http://127.0.0.1:9",
        "NEWSMON_CONFIG_DIR": str(write_config_dir(tmp_path, "http://127.0.0.1:9", {})),
    }
    result = newsmon(env, "search", "x", timeout=120)
    assert result.returncode == 1
    assert "Elasticsearch is not reachable at http://127.0.0.1:9: check NEWSMON_ES_URL" in (
        result.stderr
    )


def test_alerts_yaml_is_optional_and_a_broken_one_still_shows_the_run(
    fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch
) -> None:
    config_dir = write_config_dir(tmp_path, fixture_site.base_url, {"w": "/feeds/world.rss"})
    (config_dir / "alerts.yaml").unlink()
    env = {**os.environ, **make_test_env(config_dir)}

    try:
        run = newsmon(env, "run", "--json")
        assert run.returncode == 0, run.stderr
        report = json.loads(run.stdout)
        assert report["totals"]["indexed"] == 3 and report["alerts"]["match"]["events_created"] == 0
        assert run.stderr.count("alerts are off") == 1

        (config_dir / "alerts.yaml").write_text("rules: [{id: x}]\n")
        broken = newsmon(env, "run", "--json")
        assert broken.returncode == 2
        report = json.loads(broken.stdout)  # the run's report, with what went wrong
        assert report["totals"]["feeds_ok"] == 1 and "alerts.yaml" in report["alerts"]["error"]
        assert "newsmon: alerts not run: config error:" in broken.stderr
    finally:
        delete_indices(es, load_settings(env).index_prefix)


def test_json_failures_are_json(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NEWSMON_ES_URL": "http://127.0.0.1:9",
        "NEWSMON_CONFIG_DIR": str(write_config_dir(tmp_path, "http://127.0.0.1:9", {})),
    }
    result = newsmon(env, "search", "--json", "x", timeout=120)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["exit_code"] == 1
    assert "Elasticsearch is not reachable at http://127.0.0.1:9" in report["error"]


def test_alert_rules_added_disabled_and_tested_from_the_command_line(
    fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch
) -> None:
    config_dir = write_config_dir(tmp_path, fixture_site.base_url, {"w": "/feeds/world.rss"})
    env = {**os.environ, **make_test_env(config_dir)}
    alerts_yaml = config_dir / "alerts.yaml"
    original = alerts_yaml.read_text()

    def alerts(*args: str) -> subprocess.CompletedProcess[str]:
        return newsmon(env, "alerts", *args)

    try:
        added = alerts(
            "add",
            "kim-putin",
            "--query",
            '"Kim Jong Un" AND Putin',
            "--channel",
            "log",
            "--topic",
            "russia-dprk-relations",
            "--throttle",
            "5/hour",
            "--mode",
            "daily",
        )
        assert added.returncode == 0, added.stderr
        text = alerts_yaml.read_text()
        # Comments and the other entries are untouched: the old lines are all there, in order.
        remaining = iter(text.splitlines())
        assert all(line in remaining for line in original.splitlines())
        assert "throttle: {max: 5, per: hour}" in text and "mode: daily" in text

        # Bad rules are refused with the file, the key and the problem; the file is unchanged.
        bad_query = alerts("add", "bad", "--query", '"cruise AND (x', "--channel", "log")
        assert bad_query.returncode == 2
        assert f"{alerts_yaml}: rules[0] (bad).query" in bad_query.stderr
        assert "Cannot parse" in bad_query.stderr
        bad_channel = alerts("add", "bad", "--query", "x", "--channel", "pager")
        assert "(bad).channels[0]: unknown channel 'pager'" in bad_channel.stderr
        duplicate = alerts("add", "kim-putin", "--query", "x", "--channel", "log")
        assert "new rule (kim-putin).id: a rule with this id exists" in duplicate.stderr
        assert alerts_yaml.read_text() == text

        assert alerts("disable", "kim-putin").returncode == 0
        listed = json.loads(alerts("list", "--json").stdout)
        assert [(r["id"], r["enabled"]) for r in listed][-1] == ("kim-putin", False)
        assert alerts("enable", "kim-putin").returncode == 0
        assert "enabled: true" in alerts_yaml.read_text()
        missing = alerts("enable", "nope")
        assert missing.returncode == 1 and "no alert rule 'nope'" in missing.stderr

        assert subprocess.run([NEWSMON, "run"], env=env, capture_output=True).returncode == 0
        tested = json.loads(alerts("test", "dprk-cruise-missiles", "--json").stdout)
        assert len(tested) == 1 and "missile" in tested[0]["title"].lower()
        history = json.loads(alerts("history", "--json").stdout)
        # The daily digest rule's story waits for the end of the day.
        assert {(e["rule_id"], e["status"]) for e in history} == {
            ("dprk-cruise-missiles", "delivered"),
            ("kim-putin", "pending"),
        }
    finally:
        delete_indices(es, env["NEWSMON_INDEX_PREFIX"])
