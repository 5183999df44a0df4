"""An RSS feed on loopback whose items a test or benchmark adds while newsmon polls it,
with a page per item (or items that link to pages elsewhere)."""

from __future__ import annotations

import time
import uuid
from email.utils import formatdate
from html import escape
from typing import Any

from tests.support.loopback import QuietHandler, serve


class LiveFeed:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        feed = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path == "/feed.rss":
                    body, kind = feed.rss(), "application/rss+xml"
                else:
                    item = next((i for i in feed.items if i["path"] == self.path), None)
                    if item is None:
                        self.send_error(404)
                        return
                    body, kind = feed.page(item), "text/html; charset=utf-8"
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = serve(Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = f"{self.base_url}/feed.rss"

    def add(self, title: str, text: str, at: float | None = None, link: str | None = None) -> str:
        """Add an item published at `at` (default now); its page is served here unless
        `link` points elsewhere. Returns the item's link."""
        path = f"/a/{uuid.uuid4().hex}.html"
        self.items.append(
            {"path": path, "title": title, "text": text, "at": at or time.time(), "link": link}
        )
        return link or self.base_url + path

    def rss(self) -> str:
        entries = "".join(
            f"<item><title>{escape(i['title'])}</title>"
            f"<link>{escape(i['link'] or self.base_url + i['path'])}</link>"
            f"<guid>{self.base_url}{i['path']}</guid>"
            f"<pubDate>{formatdate(i['at'], usegmt=True)}</pubDate></item>"
            for i in reversed(self.items)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Live feed</title><link>{self.base_url}/</link>{entries}</channel></rss>"
        )

    @staticmethod
    def page(item: dict[str, Any]) -> str:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in item["text"].split("\n") if p)
        return (
            f"<html><head><title>{escape(item['title'])}</title></head><body>"
            f"<article><h1>{escape(item['title'])}</h1>{paragraphs}</article></body></html>"
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
