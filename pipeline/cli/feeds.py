"""`newsmon feeds [health | check URL | add URL]`: feed health, trying a feed, adding feeds."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.cli.output import EXIT_FAILURE, EXIT_OK, elasticsearch, print_json
from pipeline.config import FeedConfig, Settings, load_feeds, load_settings
from pipeline.errors import FetchError, NewsmonError


def register(commands: Any) -> None:
    feeds = commands.add_parser("feeds", help="feed health, or check a feed before adding it")
    feeds.add_argument("action", nargs="?", choices=["health", "check", "add"], default="health")
    feeds.add_argument("url", nargs="?", help="check: a feed URL; add: a feed, site or section URL")
    feeds.add_argument("--language", help="add: the feeds' language (ISO 639-1)")
    feeds.set_defaults(handler=feeds_command)


def feeds_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.action == "check":
        return _check_feed(args, settings)
    if args.action == "add":
        return _add_feeds(args, settings)
    rows = _health(settings)
    if args.json:
        print_json(rows)
        return EXIT_OK
    print(
        f"{'feed':<24} {'status':<13} {'fails':>5} {'every':>7} {'next poll':<17} "
        f"{'items':>6} {'new/poll':>8} {'304s':>5} {'same':>5}  last error"
    )
    for row in rows:
        every = f"{row['interval_minutes']:.0f} min" if row["interval_minutes"] else "-"
        print(
            f"{row['feed_id'][:24]:<24} {row['status']:<13} {row['consecutive_failures']:>5} "
            f"{every:>7} {(row['next_poll_at'] or 'now')[:16].replace('T', ' '):<17} "
            f"{row['items_seen']:>6} {row['new_item_rate']:>8.1f} {row['not_modified']:>5} "
            f"{row['unchanged']:>5}  {(row['last_error'] or '')[:60]}"
        )
    return EXIT_OK


def _health(settings: Settings) -> list[dict[str, Any]]:
    """One row per configured feed: its last poll, polling state and WebSub subscription."""
    from pipeline.ingest.websub import subscription
    from pipeline.store import feeds
    from pipeline.store.feeds import FeedState

    configured = load_feeds(settings)
    docs = feeds.load_docs(elasticsearch(settings), settings, [f.id for f in configured])
    rows = []
    for feed in configured:
        doc = docs[feed.id]
        state = FeedState.from_doc(feed.id, doc)
        polling = state.polling_doc()
        rows.append(
            {
                "feed_id": feed.id,
                "status": doc.get("last_status", "never polled"),
                "last_poll": doc.get("last_poll"),
                "last_success": doc.get("last_success"),
                "last_error": doc.get("last_error"),
                **{k: v for k, v in polling.items() if k not in ("etag", "body_hash")},
                "websub": subscription(state),
            }
        )
    return rows


def _add_feeds(args: argparse.Namespace, settings: Settings) -> int:
    """Discover the feeds behind a URL, keep those that poll cleanly and are not yet
    configured, and append them to feeds.yaml (the rest of the file is left as is)."""
    from pipeline.config.yaml_edit import append_item
    from pipeline.ingest.discovery import discover, feed_id
    from pipeline.ingest.download import make_client
    from pipeline.urls import canonicalize_url

    if not args.url:
        raise NewsmonError("feeds add needs a URL")
    existing = load_feeds(settings)
    known = {canonicalize_url(feed.url) for feed in existing}
    taken = {feed.id for feed in existing}
    client = make_client(settings)
    try:
        candidates = discover(client, args.url, settings)
    except FetchError as exc:
        raise NewsmonError(f"cannot read {args.url}: {exc.reason}") from None
    finally:
        client.close()
    report = []
    for candidate in candidates:
        outcome: dict[str, Any] = {"url": candidate.url, "title": candidate.title}
        if candidate.error:
            outcome["skipped"] = candidate.error
        elif canonicalize_url(candidate.url) in known:
            outcome["skipped"] = "already configured"
        else:
            entry = {
                "id": feed_id(candidate.title, candidate.url, taken),
                "name": candidate.title,
                "url": candidate.url,
            }
            if args.language:
                entry["language"] = args.language
            append_item(
                settings.config_dir / "feeds.yaml",
                "feeds",
                entry,
                check=lambda: load_feeds(settings),
            )
            taken.add(entry["id"])
            known.add(canonicalize_url(candidate.url))
            outcome.update(added=entry["id"], entries=candidate.entries)
        report.append(outcome)
    _print_added(args, report)
    return EXIT_OK if any("added" in item for item in report) else EXIT_FAILURE


def _print_added(args: argparse.Namespace, report: list[dict[str, Any]]) -> None:
    if args.json:
        print_json(report)
        return
    if not report:
        print(f"no feed found at {args.url} (no RSS/Atom <link rel=alternate> on the page)")
    for item in report:
        if "added" in item:
            print(f"added {item['added']}: {item['url']} ({item['entries']} entries)")
        else:
            print(f"skipped {item['url']}: {item['skipped']}")


def _check_feed(args: argparse.Namespace, settings: Settings) -> int:
    """Fetch and parse a feed the way a poll would, without indexing anything."""
    from pipeline.errors import FeedParseError
    from pipeline.ingest.download import make_client
    from pipeline.ingest.poll import poll_feed

    if not args.url:
        raise NewsmonError("feeds check needs a URL")
    feed = FeedConfig(id="check", url=args.url, name="check")
    client = make_client(settings)
    try:
        poll = poll_feed(client, feed, settings)
    except (FetchError, FeedParseError) as exc:
        if args.json:
            print_json({"url": args.url, "ok": False, "error": str(exc)})
        else:
            print(f"not usable: {exc}")
        return EXIT_FAILURE
    finally:
        client.close()
    report = {
        "url": args.url,
        "ok": True,
        "entries": len(poll.entries),
        "dated": sum(1 for e in poll.entries if e.published),
        "etag": poll.etag,
        "last_modified": poll.last_modified,
        "sample": [{"title": e.title, "url": e.url} for e in poll.entries[:5]],
    }
    if args.json:
        print_json(report)
        return EXIT_OK
    validators = " ".join(
        name
        for name, value in (("ETag", poll.etag), ("Last-Modified", poll.last_modified))
        if value
    )
    print(
        f"ok: {report['entries']} entries ({report['dated']} dated); conditional GET: "
        f"{validators or 'no validators (changes detected by body hash)'}"
    )
    for item in report["sample"]:
        print(f"  {item['title'][:80]}  {item['url']}")
    return EXIT_OK if poll.entries else EXIT_FAILURE
