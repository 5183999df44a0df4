"""WebSub end to end on loopback: a poll finds the hub, newsmon subscribes, the hub
verifies the callback of a real `newsmon serve` app, and a signed push is indexed in
seconds; forged pushes and wrong topics are refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_settings
from pipeline.ingest.engine import run_cycle
from pipeline.store.feeds import load_states
from pipeline.urls import article_id
from tests.conftest import delete_indices, make_test_env
from tests.support.fixture_site import FixtureSite, write_config_dir
from tests.support.loopback import QuietHandler, serve
from tests.support.web_server import start_server
from tests.support.websub_hub import LoopbackHub


class HubbedFeed:
    """A feed advertising the hub; its items link to the fixture site's articles."""

    def __init__(self, hub_url: str, site: str) -> None:
        self.hub_url, self.site = hub_url, site
        self.items = ["hwasong-launch"]
        feed = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                body = feed.body()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = serve(Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hubbed.rss"

    def body(self, items: list[str] | None = None) -> bytes:
        entries = "".join(
            f"<item><title>{name}</title><link>{self.site}/articles/{name}.html</link></item>"
            for name in items or self.items
        )
        return (
            '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<channel><title>Hubbed</title><link>{self.site}/</link>"
            f'<atom:link rel="hub" href="{self.hub_url}"/><atom:link rel="self" href="{self.url}"/>'
            f"{entries}</channel></rss>"
        ).encode()

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture
def websub_setup(
    fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Settings, LoopbackHub, HubbedFeed]]:
    hub = LoopbackHub()
    feed = HubbedFeed(hub.url, fixture_site.base_url)
    config_dir = write_config_dir(tmp_path, fixture_site.base_url, {})
    (config_dir / "feeds.yaml").write_text(
        f"feeds:\n  - id: hubbed\n    name: Hubbed\n    url: {feed.url}\n"
    )
    for key, value in make_test_env(config_dir).items():
        monkeypatch.setenv(key, value)
    app = start_server(load_settings())
    settings = load_settings().model_copy(update={"websub_callback_url": app.url})
    yield settings, hub, feed
    app.stop()
    hub.stop()
    feed.stop()
    delete_indices(es, settings.index_prefix)


def _wait_for(check: object, seconds: float = 20) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.1)
    return time.monotonic() - started


def test_subscribe_verify_and_signed_push_is_indexed_in_seconds(
    websub_setup: tuple[Settings, LoopbackHub, HubbedFeed], es: Elasticsearch
) -> None:
    settings, hub, feed = websub_setup
    (result,) = run_cycle(settings, ["hubbed"]).feeds
    assert result.indexed == 1
    assert hub.verified.wait(40), "the hub could not verify newsmon's callback"
    (subscription,) = hub.subscriptions
    assert subscription.topic == feed.url
    assert subscription.callback == f"{settings.websub_callback_url}/websub/hubbed"
    state = load_states(es, settings, ["hubbed"])["hubbed"]
    assert state.websub_state == "active" and state.websub_lease_until

    pushed = f"{feed.site}/articles/russia-china-trade.html"
    articles = settings.index_name("articles")
    assert hub.publish(feed.url, feed.body(["hwasong-launch", "russia-china-trade"])) == [202]
    seconds = _wait_for(lambda: es.exists(index=articles, id=article_id(pushed)))
    assert seconds < 10  # at once, not at the next poll

    forged = f"{feed.site}/articles/putin-ri-hi-yong.html"
    body = feed.body(["putin-ri-hi-yong"])
    assert hub.publish(feed.url, body, secret="not-the-secret") == [403]
    unsigned = httpx.post(subscription.callback, content=body)
    assert unsigned.status_code == 403
    time.sleep(1)
    assert not es.exists(index=articles, id=article_id(forged))

    # A verification for a topic newsmon never asked for is refused.
    wrong = httpx.get(
        subscription.callback,
        params={
            "hub.mode": "subscribe",
            "hub.topic": "http://evil.example/feed",
            "hub.challenge": "x",
        },
    )
    assert wrong.status_code == 404

    # The next poll keeps the active subscription instead of subscribing again.
    run_cycle(settings, ["hubbed"])
    assert len(hub.subscriptions) == 1
