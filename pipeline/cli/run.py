"""`newsmon run`: one ingest cycle over the configured feeds, then alerts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipeline.cli.output import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, print_json
from pipeline.config import load_settings
from pipeline.models import FeedResult


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="one ingest cycle over the configured feeds")
    run.add_argument(
        "--feed", action="append", dest="feeds", metavar="ID", help="only this feed (repeatable)"
    )
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    from pipeline.ingest.engine import run_cycle_with_alerts

    settings = load_settings()
    summary, alerts = run_cycle_with_alerts(
        settings, args.feeds, progress=None if args.json else print_progress
    )
    totals = summary.totals()
    if args.json:
        print_json({**summary.to_json(), "alerts": alerts})
    else:
        print(
            "feeds ok {feeds_ok}, failed {feeds_failed} | entries {entries}, new {new}, "
            "duplicate {duplicate}, extracted {extracted}, failed {failed}, "
            "indexed {indexed} (near-duplicate {near_duplicate})".format(**totals)
        )
    if "error" in alerts:
        print(f"newsmon: alerts not run: {alerts['error']}", file=sys.stderr)
        return EXIT_CONFIG
    if not args.json:
        match, delivery = alerts["match"], alerts["delivery"]
        print(
            f"alerts: {totals['alerts'] + match['events_created']} new "
            f"({totals['alerts_delivered'] + delivery['delivered']} delivered), "
            f"{delivery['pending']} pending, {delivery['failed']} failed"
        )
    all_failed = summary.feeds and totals["feeds_ok"] == 0
    return EXIT_FAILURE if all_failed else EXIT_OK


def print_progress(result: FeedResult) -> None:
    status = "ok" if result.ok else f"FAILED: {result.error}"
    print(
        f"  {result.feed_id}: {status} (entries {result.entries}, new {result.new}, "
        f"indexed {result.indexed}, failed {result.failed})",
        file=sys.stderr,
    )
