"""The web app served by a real uvicorn on 127.0.0.1, over an index holding the fixture
site's articles plus a hostile one, for the API and browser tests."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from pipeline.config import Settings, load_settings, load_topics
from pipeline.ingest.dedup import fingerprint
from pipeline.ingest.engine import run_cycle
from pipeline.ingest.tag import Tagger, tag_article
from pipeline.store import articles as article_store
from pipeline.store import make_es_client
from pipeline.web.app import create_app
from tests.conftest import make_test_env
from tests.support.articles import make_article
from tests.support.fixture_site import FIXTURE_FEEDS, FixtureSite, write_config_dir

HOSTILE_TITLE = (
    '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> Kim Jong Un'
)
HOSTILE_URL = "https://hostile.example/story"


@dataclass
class WebServer:
    url: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def index_fixture_articles(
    fixture_site: FixtureSite, config_parent: Path, api_token: str | None = None
) -> Settings:
    config_dir = write_config_dir(config_parent / "config", fixture_site.base_url, FIXTURE_FEEDS)
    env = make_test_env(config_dir)
    if api_token:
        env["NEWSMON_API_TOKEN"] = api_token
    settings = load_settings(env)
    run_cycle(settings)
    hostile = make_article(
        HOSTILE_URL,
        HOSTILE_TITLE,
        (
            "Kim Jong Un <b>inspected</b> a missile factory.\n"
            '<script>window.pwned = 3</script> Analysts said <a href="javascript:alert(1)">x</a> '
            "the missile programme keeps growing, and that the factory had been enlarged."
        ),
        published_at=datetime(2026, 11, 22, 8, tzinfo=UTC),
        site="Hostile Feed",
    )
    tagger = Tagger(load_topics(settings))
    es = make_es_client(settings)
    tagged = tag_article(tagger, fingerprint(hostile), datetime.now(UTC))
    article_store.create(es, settings, [article_store.hit(tagged)])
    article_store.refresh(es, settings)
    es.close()
    return settings


def start_server(settings: Settings) -> WebServer:
    """Serve newsmon's app for `settings` on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/health", timeout=1)
            return WebServer(url, settings, server, thread)
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the web app did not start")
