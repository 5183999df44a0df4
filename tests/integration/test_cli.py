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
from tests.fixture_site import FixtureSite, write_config_dir

NEWSMON = str(Path(sys.executable).parent / "newsmon")


def test_run_then_search_from_the_command_line(
    fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch
) -> None:
    feeds = {"fixture-world": "/feeds/world.rss", "fixture-not-a-feed": "/feeds/not-a-feed.html"}
    env = {**os.environ, **make_test_env(write_config_dir(tmp_path, fixture_site.base_url, feeds))}

    def newsmon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [NEWSMON, *args], env=env, capture_output=True, text=True, timeout=300
        )

    try:
        run = newsmon("run", "--json")
        assert run.returncode == 0, run.stderr
        totals = json.loads(run.stdout)["totals"]
        assert totals["indexed"] == 3 and totals["feeds_failed"] == 1

        human = newsmon("run")
        assert human.returncode == 0
        assert "indexed 0" in human.stdout and "fixture-not-a-feed: FAILED" in human.stderr

        found = newsmon("search", "--json", '"strategic cruise missile"')
        assert found.returncode == 0, found.stderr
        hits = json.loads(found.stdout)["hits"]
        assert len(hits) == 1 and hits[0]["site"] == "Fixture World News"

        readable = newsmon("search", "cruise missile AND Moscow")
        assert readable.stdout.startswith(" 1. Putin Strengthens Ties")
        assert "[cruise] [missile]" in readable.stdout or "[cruise missile]" in readable.stdout

        bad = newsmon("search", "(unbalanced AND")
        assert bad.returncode == 1 and "cannot parse query" in bad.stderr
    finally:
        delete_indices(es, load_settings(env).index_prefix)


def test_unreachable_cluster_gives_a_clear_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NEWSMON_ES_URL": "http://127.0.0.1:9",
        "NEWSMON_CONFIG_DIR": str(write_config_dir(tmp_path, "http://127.0.0.1:9", {})),
    }
    result = subprocess.run(
        [NEWSMON, "search", "x"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Elasticsearch is not reachable at http://127.0.0.1:9: check NEWSMON_ES_URL" in (
        result.stderr
    )
