"""`newsmon search` (full text, in the terminal) and `newsmon serve` (UI and API)."""

from __future__ import annotations

import argparse
import html
import sys
from dataclasses import asdict
from typing import Any

from pipeline.cli.output import EXIT_OK, add_filter_options, elasticsearch, print_json
from pipeline.config import load_settings
from pipeline.errors import NewsmonError
from pipeline.search.pages import Hit, SearchPage


def register(commands: Any) -> None:
    search = commands.add_parser("search", help="full-text search of indexed articles")
    search.add_argument("query", help='analyst syntax: AND/OR/NOT, "phrases", title:word')
    search.add_argument("--size", type=int, default=10)
    search.add_argument("--offset", type=int, default=0, help="skip this many stories")
    search.add_argument(
        "--all-copies",
        action="store_true",
        help="list every copy instead of one hit per story cluster",
    )
    add_filter_options(search)
    search.add_argument("--since", help="published on or after (YYYY-MM-DD)")
    search.add_argument("--until", help="published on or before (YYYY-MM-DD)")
    search.add_argument("--sort", choices=["relevance", "newest", "oldest"], default="relevance")
    search.add_argument("--facets", action="store_true", help="counts per topic, source, ...")
    search.set_defaults(handler=search_command)

    serve = commands.add_parser("serve", help="the web UI and HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=serve_command)


def search_command(args: argparse.Namespace) -> int:
    from pipeline.search.pages import SearchRequest, search_page
    from pipeline.search.query import Filters

    settings = load_settings()
    es = elasticsearch(settings, setup=False)
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
        print_json({"query": args.query, **asdict(page)})
    else:
        _print_page(page, args.offset)
    return EXIT_OK


def _print_page(page: SearchPage, offset: int) -> None:
    noun = "article" if page.total == 1 else "articles"
    print(f"{page.total}{'' if page.total_is_exact else '+'} {noun} ({page.took_ms} ms)")
    for name, buckets in page.facets.items():
        print(f"  {name}: " + ", ".join(f"{_labelled(b)} {b['count']}" for b in buckets[:10]))
    if not page.hits:
        print("no matches")
    for rank, hit in enumerate(page.hits, offset + 1):
        _print_hit(rank, hit)


def _labelled(bucket: dict[str, Any]) -> str:
    """A facet value as analysts read it, with the id to filter on when they differ."""
    label, value = bucket.get("label") or bucket["value"], bucket["value"]
    return label if label == value else f"{label} ({value})"


def _print_hit(rank: int, hit: Hit) -> None:
    when = (hit.published_at or "")[:16].replace("T", " ")
    print(f"{rank:>2}. {hit.title}  [{hit.source} {when}] score {hit.score:.2f}")
    print(f"    {hit.url}")
    for topic, name in zip(hit.topics, hit.topic_names, strict=True):
        terms = hit.evidence.get(topic)
        print(f"    topic {name} ({topic})" + (f": {', '.join(terms[:8])}" if terms else ""))
    if hit.copies > 1:
        print(f"    {hit.copies} copies of this story: {' '.join(hit.copy_urls)}")
    for fragment in hit.highlights[:3]:
        print(f"    … {_terminal_highlight(fragment)} …")


def _terminal_highlight(fragment: str) -> str:
    """Fragments are HTML (escaped text, <em> around matches)."""
    on, off = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("[", "]")
    return html.unescape(fragment.replace("<em>", on).replace("</em>", off))


def serve_command(args: argparse.Namespace) -> int:
    import ipaddress

    import uvicorn

    from pipeline.web.app import create_app

    settings = load_settings()
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
