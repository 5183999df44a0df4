"""Operations: `newsmon es start|stop|status`, `setup` (indices), `config` (check files)."""

from __future__ import annotations

import argparse
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

    check = commands.add_parser("config", help="validate every config file and show a summary")
    check.set_defaults(handler=config_command)


def es_command(args: argparse.Namespace) -> int:
    from pipeline.devtools.local_es import LocalElasticsearch

    settings = load_settings()
    if not settings.uses_local_elasticsearch:
        message = f"NEWSMON_ES_URL is set ({settings.es_url}): newsmon uses that cluster"
        if args.action == "status":
            status = _remote_status(settings.elasticsearch_url)
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

    settings = load_settings()
    created = ensure_indices(elasticsearch(settings, setup=False), settings)
    if args.json:
        print_json({"created": created})
    else:
        print(f"indices ready ({'created ' + ', '.join(created) if created else 'all existed'})")
    return EXIT_OK


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
