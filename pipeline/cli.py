"""The `newsmon` command. Every command takes --json for scripts.

Exit codes: 0 success, 1 runtime failure (e.g. Elasticsearch unreachable),
2 invalid config or usage.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import ApiError, TransportError

from pipeline import config
from pipeline.errors import ConfigError, FetchError, NewsmonError

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"newsmon: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except NewsmonError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (ApiError, TransportError) as exc:
        print(f"newsmon: Elasticsearch: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsmon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="one ingest cycle over the configured feeds")
    run.add_argument(
        "--feed", action="append", dest="feeds", metavar="ID", help="only this feed (repeatable)"
    )
    run.set_defaults(handler=_cmd_run)

    search = commands.add_parser("search", help="full-text search of indexed articles")
    search.add_argument("query", help='analyst syntax: AND/OR/NOT, "phrases", title:word')
    search.add_argument("--size", type=int, default=10)
    search.add_argument("--offset", type=int, default=0, help="skip this many stories")
    search.add_argument(
        "--all-copies",
        action="store_true",
        help="list every copy instead of one hit per story cluster",
    )
    _add_filter_options(search)
    search.add_argument("--since", help="published on or after (YYYY-MM-DD)")
    search.add_argument("--until", help="published on or before (YYYY-MM-DD)")
    search.add_argument("--sort", choices=["relevance", "newest", "oldest"], default="relevance")
    search.add_argument("--facets", action="store_true", help="counts per topic, source, ...")
    search.set_defaults(handler=_cmd_search)

    serve = commands.add_parser("serve", help="the web UI and HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_cmd_serve)

    extract = commands.add_parser("extract", help="extract one article from a URL or HTML file")
    extract.add_argument("source", help="http(s) URL or path to an HTML file")
    extract.set_defaults(handler=_cmd_extract)

    tag = commands.add_parser("tag", help='tag {"title":..., "text":...} JSON read on stdin')
    tag.add_argument("--explain", action="store_true", help="readable tags with their evidence")
    tag.set_defaults(handler=_cmd_tag)

    retag = commands.add_parser(
        "retag", help="re-tag indexed articles after topics.yaml changes (nothing is fetched again)"
    )
    retag.set_defaults(handler=_cmd_retag)

    eval_tags = commands.add_parser(
        "eval-tags", help="precision/recall/F1 per topic on a labelled JSONL set"
    )
    eval_tags.add_argument("file", type=Path)
    eval_tags.set_defaults(handler=_cmd_eval_tags)

    es = commands.add_parser("es", help="the local Elasticsearch (not used with NEWSMON_ES_URL)")
    es.add_argument("action", choices=["start", "stop", "status"])
    es.set_defaults(handler=_cmd_es)

    setup = commands.add_parser("setup", help="create the Elasticsearch indices and aliases")
    setup.set_defaults(handler=_cmd_setup)

    check = commands.add_parser("config", help="validate every config file and show a summary")
    check.set_defaults(handler=_cmd_config)

    _alerts_parser(commands)

    feeds = commands.add_parser("feeds", help="feed health, or check a feed before adding it")
    feeds.add_argument("action", nargs="?", choices=["health", "check", "add"], default="health")
    feeds.add_argument("url", nargs="?", help="check: a feed URL; add: a feed, site or section URL")
    feeds.add_argument("--language", help="add: the feeds' language (ISO 639-1)")
    feeds.set_defaults(handler=_cmd_feeds)

    for sub in commands.choices.values():
        sub.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


FILTER_OPTIONS = (
    ("topic", "topics"),
    ("source", "sources"),
    ("language", "languages"),
    ("entity", "entities"),
)


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    """--topic/--source/--language/--entity, each repeatable (search and alert rules)."""
    for option, key in FILTER_OPTIONS:
        parser.add_argument(f"--{option}", action="append", dest=key, default=[])


def _alerts_parser(commands: Any) -> None:
    alerts = commands.add_parser("alerts", help="keyword alert rules, matching and delivery")
    actions = alerts.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the configured rules")
    for name, text in (
        ("show", "one rule"),
        ("enable", "turn a rule on (edits alerts.yaml)"),
        ("disable", "turn a rule off (edits alerts.yaml)"),
    ):
        actions.add_parser(name, help=text).add_argument("rule")
    test = actions.add_parser("test", help="what a rule would have matched recently")
    test.add_argument("rule")
    test.add_argument("--days", type=int, default=7)
    add = actions.add_parser("add", help="add a rule to alerts.yaml (checked first)")
    add.add_argument("rule", help="id: lowercase letters, digits, - _ .")
    add.add_argument("--query", required=True, help="analyst syntax, as in `newsmon search`")
    add.add_argument("--channel", action="append", dest="channels", required=True)
    _add_filter_options(add)
    add.add_argument("--mode", choices=["instant", "hourly", "daily"], default="instant")
    add.add_argument("--throttle", metavar="N/PERIOD", help="at most N messages per hour|day")
    actions.add_parser("sync", help="store the rules in Elasticsearch (validates them)")
    run = actions.add_parser("run", help="catch-up match, spike checks and delivery")
    run.add_argument("--since-minutes", type=int, default=120)
    actions.add_parser("deliver", help="send what is due (retries included)")
    history = actions.add_parser("history", help="alert events, newest first")
    history.add_argument("--status", choices=["pending", "delivered", "failed"])
    history.add_argument("--rule")
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="machine-readable output")
    alerts.set_defaults(handler=_cmd_alerts)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _cmd_run(args: argparse.Namespace) -> int:
    from pipeline.ingest import print_progress, run_cycle_with_alerts

    settings = config.load_settings()
    summary, alerts = run_cycle_with_alerts(
        settings, args.feeds, progress=None if args.json else print_progress
    )
    totals = summary.totals()
    if args.json:
        _print_json({**summary.to_json(), "alerts": alerts})
    else:
        print(
            "feeds ok {feeds_ok}, failed {feeds_failed} | entries {entries}, new {new}, "
            "duplicate {duplicate}, extracted {extracted}, failed {failed}, "
            "indexed {indexed} (near-duplicate {near_duplicate})".format(**totals)
        )
        match, delivery = alerts["match"], alerts["delivery"]
        print(
            f"alerts: {totals['alerts'] + match['events_created']} new "
            f"({totals['alerts_delivered'] + delivery['delivered']} delivered), "
            f"{delivery['pending']} pending, {delivery['failed']} failed"
        )
    all_failed = summary.feeds and totals["feeds_ok"] == 0
    return EXIT_FAILURE if all_failed else EXIT_OK


def _cmd_search(args: argparse.Namespace) -> int:
    from pipeline.index import check_reachable, make_es_client
    from pipeline.search import Filters, SearchRequest, search_page

    settings = config.load_settings()
    es = make_es_client(settings)
    check_reachable(es, settings)
    filters = Filters(
        args.topics, args.sources, args.languages, args.entities, args.since, args.until
    )
    request = SearchRequest(
        args.query,
        filters,
        args.sort,
        size=args.size,
        offset=args.offset,
        collapse=not args.all_copies,
        facets=args.facets,
    )
    page = search_page(es, settings, request)
    if args.json:
        _print_json({"query": args.query, **asdict(page)})
        return EXIT_OK
    noun = "article" if page.total == 1 else "articles"
    print(f"{page.total}{'' if page.total_is_exact else '+'} {noun} ({page.took_ms} ms)")
    for name, buckets in page.facets.items():
        print(f"  {name}: " + ", ".join(f"{b['value']} {b['count']}" for b in buckets[:10]))
    hits = page.hits
    if not hits:
        print("no matches")
    for rank, hit in enumerate(hits, args.offset + 1):
        when = (hit.published_at or "")[:16].replace("T", " ")
        print(f"{rank:>2}. {hit.title}  [{hit.site or '?'} {when}] score {hit.score:.2f}")
        print(f"    {hit.url}")
        for topic in hit.topics:
            terms = hit.evidence.get(topic)
            print(f"    topic {topic}" + (f": {', '.join(terms[:8])}" if terms else ""))
        if hit.copies > 1:
            print(f"    {hit.copies} copies of this story: {' '.join(hit.copy_urls)}")
        for fragment in hit.highlights[:3]:
            print(f"    … {_terminal_highlight(fragment)} …")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    import ipaddress

    import uvicorn

    from pipeline.web import create_app

    settings = config.load_settings()
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback and not settings.api_token:
        raise NewsmonError(
            f"serving on {args.host} exposes the index to the network: set NEWSMON_API_TOKEN "
            "(clients then send it as X-Newsmon-Token or a Bearer token)"
        )
    print(f"newsmon UI and API at http://{args.host}:{args.port}/  (API docs: /docs)")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def _terminal_highlight(fragment: str) -> str:
    """Fragments are HTML (escaped text, <em> around matches)."""
    on, off = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("[", "]")
    return html.unescape(fragment.replace("<em>", on).replace("</em>", off))


def _cmd_extract(args: argparse.Namespace) -> int:
    from pipeline.dedup import fingerprint
    from pipeline.download import fetch, make_client
    from pipeline.extract import extract

    settings = config.load_settings()
    source: str = args.source
    if source.startswith(("http://", "https://")):
        with make_client(settings) as client:
            try:
                response = fetch(
                    client,
                    source,
                    max_bytes=settings.max_page_bytes,
                    allow_private=settings.allow_private_networks,
                )
            except FetchError as exc:
                raise NewsmonError(f"cannot fetch: {exc}") from None
        html, url = response.body, response.final_url
    else:
        path = Path(source)
        if not path.is_file():
            raise NewsmonError(f"{source}: no such file")
        html, url = path.read_bytes(), path.resolve().as_uri()
    extraction = extract(html, url)
    if extraction.article is None:
        raise NewsmonError(f"{source}: {extraction.problem}")
    article = fingerprint(extraction.article)
    if args.json:
        data = asdict(article)
        data["fingerprint"] = {"content_hash": data["fingerprint"]["content_hash"]}
        _print_json(data)
    else:
        print(
            f"{article.title}\n{article.site} | {article.published_at} | "
            f"{', '.join(article.authors)} | {article.language} | text: {article.text_source}"
            f"\n\n{article.text}"
        )
    return EXIT_OK


def _cmd_tag(args: argparse.Namespace) -> int:
    from pipeline.tagging import Tagger

    settings = config.load_settings()
    try:
        data = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        print(f"newsmon: stdin is not JSON: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        print('newsmon: expected {"title": "...", "text": "..."} on stdin', file=sys.stderr)
        return EXIT_CONFIG
    title = data.get("title") if isinstance(data.get("title"), str) else None
    result = Tagger(config.load_topics(settings)).analyze(title, data["text"])
    if not args.explain:
        _print_json(
            {
                "tags": [asdict(t) for t in result.tags],
                "entities": [asdict(e) for e in result.entities],
            }
        )
        return EXIT_OK
    if not result.tags:
        print("no topics")
    for tag in result.tags:
        via = f" (via {tag.via})" if tag.via else ""
        print(f"{tag.topic}  score {tag.score:g}{via}")
        if tag.window and not tag.via:
            print(f"  where: {tag.window}")
        if not tag.via:
            print(
                "  matched: "
                + ", ".join(f"{m.term} [{m.field} {m.start}-{m.end}]" for m in tag.evidence)
            )
    if result.entities:
        print(
            "entities: " + ", ".join(f"{e.name} ({e.type}, {e.mentions})" for e in result.entities)
        )
    return EXIT_OK


def _cmd_alerts(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from pipeline import alerts
    from pipeline.index import check_reachable, ensure_indices, make_es_client

    settings = config.load_settings()
    rules_config = config.load_alerts(settings)
    rules = {rule.id: rule for rule in rules_config.rules}
    if args.action == "add":
        return _add_alert_rule(args, settings)
    if args.action in ("show", "test", "enable", "disable") and args.rule not in rules:
        raise NewsmonError(f"no alert rule {args.rule!r} (known: {', '.join(rules) or 'none'})")
    if args.action == "list":
        data: Any = [rule.model_dump() for rule in rules_config.rules]
    elif args.action == "show":
        data = rules[args.rule].model_dump()
    elif args.action in ("enable", "disable"):
        from pipeline.config_edit import set_field

        enabled = args.action == "enable"
        set_field(
            settings.config_dir / "alerts.yaml",
            "rules",
            args.rule,
            "enabled",
            enabled,
            check=lambda: config.load_alerts(settings),
        )
        data = {"rule": args.rule, "enabled": enabled}
    else:
        es = make_es_client(settings)
        check_reachable(es, settings)
        ensure_indices(es, settings)
        if args.action == "test":
            data = alerts.test_rule(es, settings, rules[args.rule], days=args.days)
        elif args.action == "sync":
            data = alerts.sync_rules(es, settings, rules_config)
        elif args.action == "run":
            since = datetime.now(UTC) - timedelta(minutes=args.since_minutes)
            data = alerts.run_alerts(settings, since)
        elif args.action == "deliver":
            data = vars(alerts.deliver_pending(es, settings, rules_config))
        else:
            data = alerts.history(es, settings, status=args.status, rule_id=args.rule)
    if args.json or args.action in ("show", "sync", "run", "deliver", "enable", "disable"):
        _print_json(data)
    elif args.action == "list":
        for rule in rules_config.rules:
            state = "" if rule.enabled else "  (disabled)"
            print(f"{rule.id}: {rule.query}  -> {', '.join(rule.channels)}{state}")
    elif args.action == "test":
        print(f"{len(data)} stories in the last {args.days} days")
        for hit in data:
            print(f"  {hit.get('published_at', '')[:10]}  {hit.get('title')}  {hit.get('url')}")
    else:
        for event in data:
            print(
                f"{event['matched_at'][:19]}  {event['status']:<9} {event['rule_id']}  "
                f"{event.get('title', '')}"
                + (f"  ({event['last_error']})" if event.get("last_error") else "")
            )
    return EXIT_OK


def _add_alert_rule(args: argparse.Namespace, settings: config.Settings) -> int:
    """Validate the rule like alerts.yaml itself would be, check its query with
    Elasticsearch when it is up, then append it to alerts.yaml."""
    from pipeline import alerts
    from pipeline.index import check_reachable, ensure_indices, make_es_client

    rule: dict[str, Any] = {"id": args.rule, "query": args.query}
    for _, key in FILTER_OPTIONS:
        if getattr(args, key):
            rule[key] = getattr(args, key)
    rule["channels"] = args.channels
    if args.mode != "instant":
        rule["mode"] = args.mode
    if args.throttle:
        count, _, period = args.throttle.partition("/")
        if not count.isdigit() or period not in ("hour", "day"):
            raise NewsmonError(f"--throttle {args.throttle!r}: expected N/hour or N/day")
        rule["throttle"] = {"max": int(count), "per": period}
    es: Any = make_es_client(settings)
    try:
        check_reachable(es, settings)
        ensure_indices(es, settings)
    except NewsmonError:
        print("warning: Elasticsearch is not reachable; the query was not checked", file=sys.stderr)
        es = None
    alerts.add_rule(settings, rule, es)
    if args.json:
        _print_json(rule)
    else:
        print(f"added rule {args.rule} to {settings.config_dir / 'alerts.yaml'}")
    return EXIT_OK


def _cmd_feeds(args: argparse.Namespace) -> int:
    from pipeline.feed_state import FeedState
    from pipeline.index import check_reachable, ensure_indices, make_es_client
    from pipeline.websub import subscription

    settings = config.load_settings()
    if args.action == "check":
        return _check_feed(args, settings)
    if args.action == "add":
        return _add_feeds(args, settings)
    feeds = config.load_feeds(settings)
    es = make_es_client(settings)
    check_reachable(es, settings)
    ensure_indices(es, settings)
    docs = {
        doc["_id"]: doc.get("_source", {})
        for doc in es.mget(index=settings.index_name("feeds"), ids=[f.id for f in feeds])["docs"]
    }
    states = {feed.id: FeedState.from_doc(feed.id, docs[feed.id]) for feed in feeds}
    rows = [
        {
            "feed_id": feed.id,
            "status": docs[feed.id].get("last_status", "never polled"),
            "last_poll": docs[feed.id].get("last_poll"),
            "last_success": docs[feed.id].get("last_success"),
            "last_error": docs[feed.id].get("last_error"),
            **{k: v for k, v in states[feed.id].to_doc().items() if k not in ("etag", "body_hash")},
            "websub": subscription(states[feed.id]),
        }
        for feed in feeds
    ]
    if args.json:
        _print_json(rows)
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


def _add_feeds(args: argparse.Namespace, settings: config.Settings) -> int:
    """Discover the feeds behind a URL, keep those that poll cleanly and are not yet
    configured, and append them to feeds.yaml (the rest of the file is left as is)."""
    from pipeline.config_edit import append_item
    from pipeline.discovery import discover, feed_id
    from pipeline.download import make_client
    from pipeline.urls import canonicalize_url

    if not args.url:
        raise NewsmonError("feeds add needs a URL")
    existing = config.load_feeds(settings)
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
                check=lambda: config.load_feeds(settings),
            )
            taken.add(entry["id"])
            known.add(canonicalize_url(candidate.url))
            outcome.update(added=entry["id"], entries=candidate.entries)
        report.append(outcome)
    if args.json:
        _print_json(report)
    elif not report:
        print(f"no feed found at {args.url} (no RSS/Atom <link rel=alternate> on the page)")
    for item in [] if args.json else report:
        if "added" in item:
            print(f"added {item['added']}: {item['url']} ({item['entries']} entries)")
        else:
            print(f"skipped {item['url']}: {item['skipped']}")
    return EXIT_OK if any("added" in item for item in report) else EXIT_FAILURE


def _check_feed(args: argparse.Namespace, settings: config.Settings) -> int:
    """Fetch and parse a feed the way a poll would, without indexing anything."""
    from pipeline.download import make_client
    from pipeline.errors import FeedParseError
    from pipeline.feeds import poll_feed

    if not args.url:
        raise NewsmonError("feeds check needs a URL")
    feed = config.FeedConfig(id="check", url=args.url, name="check")
    client = make_client(settings)
    try:
        poll = poll_feed(client, feed, settings)
    except (FetchError, FeedParseError) as exc:
        if args.json:
            _print_json({"url": args.url, "ok": False, "error": str(exc)})
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
        _print_json(report)
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


def _cmd_retag(args: argparse.Namespace) -> int:
    from pipeline.index import check_reachable, make_es_client
    from pipeline.retag import RetagSummary, retag
    from pipeline.tagging import Tagger

    settings = config.load_settings()
    tagger = Tagger(config.load_topics(settings))
    es = make_es_client(settings)
    check_reachable(es, settings)

    def progress(summary: RetagSummary, expected: int) -> None:
        print(f"  {summary.total}/{expected} articles, {summary.updated} updated", file=sys.stderr)

    summary = retag(es, settings, tagger, progress=None if args.json else progress)
    if args.json:
        _print_json(asdict(summary))
    else:
        print(
            f"retagged {summary.total} articles: {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {len(summary.errors)} errors"
        )
        for error in summary.errors[:10]:
            print(f"  {error}", file=sys.stderr)
    return EXIT_FAILURE if summary.errors else EXIT_OK


def _cmd_eval_tags(args: argparse.Namespace) -> int:
    from pipeline.tag_eval import evaluate, load_labelled, report
    from pipeline.tagging import Tagger

    settings = config.load_settings()
    if not args.file.is_file():
        raise NewsmonError(f"{args.file}: no such file")
    items = load_labelled(args.file)
    scores = evaluate(Tagger(config.load_topics(settings)), items)
    if args.json:
        _print_json({"articles": len(items), "topics": report(scores)})
        return EXIT_OK
    print(f"{len(items)} labelled articles from {args.file}")
    print(f"{'topic':<26}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
    for topic, s in scores.items():
        print(f"{topic:<26}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}{s.support:>9}")
        for label, ids in (("false +", s.false_positives), ("missed", s.false_negatives)):
            if ids:
                print(f"    {label}: {', '.join(ids)}")
    return EXIT_OK


def _cmd_es(args: argparse.Namespace) -> int:
    from pipeline.es_local import LocalElasticsearch

    settings = config.load_settings()
    if not settings.uses_local_elasticsearch:
        message = f"NEWSMON_ES_URL is set ({settings.es_url}): newsmon uses that cluster"
        if args.action == "status":
            status = _remote_status(settings.elasticsearch_url)
            if args.json:
                _print_json(status)
            else:
                print(f"{message}; health: {status['status']}")
            return EXIT_OK if status["running"] else EXIT_FAILURE
        print(f"{message} and does not {args.action} a local one.")
        return EXIT_OK
    local = LocalElasticsearch(settings)
    if args.action == "start":
        local.start()
    elif args.action == "stop":
        local.stop()
    else:
        status = local.status()
        if args.json:
            _print_json(status)
        else:
            state = f"running ({status['status']})" if status["running"] else "not running"
            print(
                f"Elasticsearch {status['version']} at {status['url']}: {state}\n"
                f"  data: {status['data']}\n  log:  {status['log']}"
            )
        return EXIT_OK if status["running"] else EXIT_FAILURE
    return EXIT_OK


def _remote_status(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(f"{url.rstrip('/')}/_cluster/health", timeout=5)
        return {"url": url, "running": True, "status": response.json().get("status")}
    except (httpx.HTTPError, ValueError):
        return {"url": url, "running": False, "status": None}


def _cmd_setup(args: argparse.Namespace) -> int:
    from pipeline.index import check_reachable, ensure_indices, make_es_client

    settings = config.load_settings()
    es = make_es_client(settings)
    check_reachable(es, settings)
    created = ensure_indices(es, settings)
    if args.json:
        _print_json({"created": created})
    else:
        print(f"indices ready ({'created ' + ', '.join(created) if created else 'all existed'})")
    return EXIT_OK


def _cmd_config(args: argparse.Namespace) -> int:
    settings = config.load_settings()
    summary = {
        "config_dir": str(settings.config_dir),
        "elasticsearch": settings.elasticsearch_url,
        "index_prefix": settings.index_prefix,
        "feeds": len(config.load_feeds(settings)),
        "topics": len((taxonomy := config.load_topics(settings)).topics),
        "entities": len(taxonomy.entities),
        "alert_rules": len(config.load_alerts(settings).rules),
    }
    if args.json:
        _print_json(summary)
    else:
        for key, value in summary.items():
            print(f"{key:>14}: {value}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
