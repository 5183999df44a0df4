"""Operations: `newsmon es start|stop|status`, `setup` (indices), `reindex` (to a new index
version), `config` (check files)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

import httpx

from pipeline.cli.output import EXIT_FAILURE, EXIT_OK, elasticsearch, print_json
from pipeline.config import load_alerts, load_feeds, load_settings, load_topics


def register(commands: Any) -> None:
    local = commands.add_parser("es", help="the local Elasticsearch (not used with NEWSMON_ES_URL)")
    local.add_argument("action", choices=["start", "stop", "status"])
    local.set_defaults(handler=es_command)

    setup = commands.add_parser("setup", help="create the Elasticsearch indices and aliases")
    setup.set_defaults(handler=setup_command)

    reindex = commands.add_parser(
        "reindex",
        help="copy news-articles into the current index version (analysed fields), then"
        " move the alias; searches keep working, rerun it if interrupted",
    )
    reindex.set_defaults(handler=reindex_command)

    check = commands.add_parser("config", help="validate every config file and show a summary")
    check.set_defaults(handler=config_command)


def es_command(args: argparse.Namespace) -> int:
    from pipeline.devtools.local_es import LocalElasticsearch

    settings = load_settings()
    if not settings.uses_local_elasticsearch:
        message = f"NEWSMON_ES_URL is set ({settings.es_url}): newsmon uses that cluster"
        if args.action == "status":
            status = _remote_status(settings.elasticsearch_urls[0])
            if args.json:
                print_json(status)
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
            print_json(status)
        else:
            state = f"running ({status['status']})" if status["running"] else "not running"
            print(
                f"Elasticsearch {status['version']} at {status['url']}: {state}\n"
                f"  data: {status['data']}\n  log:  {status['log']}"
            )
            for node in status["nodes"][1:]:
                running = "running" if node["pid"] else "not running"
                print(f"  node {node['url']}: {running}; data {node['data']}")
        return EXIT_OK if status["running"] else EXIT_FAILURE
    return EXIT_OK


def _remote_status(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(f"{url.rstrip('/')}/_cluster/health", timeout=5)
        return {"url": url, "running": True, "status": response.json().get("status")}
    except (httpx.HTTPError, ValueError):
        return {"url": url, "running": False, "status": None}


def setup_command(args: argparse.Namespace) -> int:
    from pipeline.store import ensure_indices
    from pipeline.store.indices import outdated

    settings = load_settings()
    es = elasticsearch(settings, setup=False)
    created = ensure_indices(es, settings)
    stale = outdated(es, settings)
    if args.json:
        print_json({"created": created, "outdated": stale})
    else:
        print(f"indices ready ({'created ' + ', '.join(created) if created else 'all existed'})")
        for name in stale:
            print(
                f"{name} is an older index version: new articles are analysed for search,"
                " older ones only after `newsmon reindex` (searches keep working meanwhile)"
            )
    return EXIT_OK


def reindex_command(args: argparse.Namespace) -> int:
    from pipeline.store.reindex import reindex_articles

    settings = load_settings()
    es = elasticsearch(settings, setup=False)

    def progress(copied: int, total: int) -> None:
        share = f" ({copied / total:.0%})" if total else ""
        print(f"  copied {copied:,}/{total:,}{share}", file=sys.stderr)

    summary = reindex_articles(es, settings, progress=None if args.json else progress)
    if args.json:
        print_json(asdict(summary))
    elif not summary.swapped:
        print(f"{summary.alias} is up to date ({summary.target})")
    else:
        print(
            f"{summary.alias}: {summary.copied:,} articles copied from {summary.source} to"
            f" {summary.target} ({summary.caught_up:,} again after ingest paused), alias moved."
            f" {summary.source} is kept, blocked for writes: delete it when you no longer"
            " need it."
        )
    return EXIT_FAILURE if summary.errors else EXIT_OK


def config_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    summary = {
        "config_dir": str(settings.config_dir),
        "elasticsearch": settings.elasticsearch_url,
        "index_prefix": settings.index_prefix,
        "feeds": len(load_feeds(settings)),  # checked in this order: feeds, topics, alerts
        "topics": len((taxonomy := load_topics(settings)).topics),
        "entities": len(taxonomy.entities),
        "alert_rules": len(load_alerts(settings).rules),
    }
    if args.json:
        print_json(summary)
    else:
        for key, value in summary.items():
            print(f"{key:>14}: {value}")
    return EXIT_OK
