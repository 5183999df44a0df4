"""`newsmon alerts add|list|show|test|enable|disable|history|sync|run|deliver`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.cli.output import (
    EXIT_OK,
    FILTER_OPTIONS,
    add_filter_options,
    elasticsearch,
    print_json,
)
from pipeline.config import AlertsConfig, Settings, load_alerts, load_settings
from pipeline.errors import NewsmonError

# Actions that print JSON even without --json (their output is a record, not a table).
JSON_ACTIONS = ("show", "sync", "run", "deliver", "enable", "disable")


def register(commands: Any) -> None:
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
    add_filter_options(add)
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
    alerts.set_defaults(handler=alerts_command)


def alerts_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    config = load_alerts(settings)
    if args.action == "add":
        return _add_rule(args, settings)
    rules = {rule.id: rule for rule in config.rules}
    if args.action in ("show", "test", "enable", "disable") and args.rule not in rules:
        raise NewsmonError(f"no alert rule {args.rule!r} (known: {', '.join(rules) or 'none'})")
    if args.action == "list":
        data: Any = [rule.model_dump() for rule in config.rules]
    elif args.action == "show":
        data = rules[args.rule].model_dump()
    elif args.action in ("enable", "disable"):
        data = _set_enabled(settings, args.rule, args.action == "enable")
    else:
        data = _with_elasticsearch(args, settings, config)
    if args.json or args.action in JSON_ACTIONS:
        print_json(data)
    elif args.action == "list":
        for rule in config.rules:
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


def _set_enabled(settings: Settings, rule_id: str, enabled: bool) -> dict[str, Any]:
    from pipeline.config.yaml_edit import set_field

    path = settings.config_dir / "alerts.yaml"
    set_field(path, "rules", rule_id, "enabled", enabled, check=lambda: load_alerts(settings))
    return {"rule": rule_id, "enabled": enabled}


def _with_elasticsearch(args: argparse.Namespace, settings: Settings, config: AlertsConfig) -> Any:
    from pipeline.alerts.cycle import run_alerts
    from pipeline.alerts.delivery import deliver_pending
    from pipeline.alerts.rules import preview_rule, sync_rules
    from pipeline.store import alert_events

    es = elasticsearch(settings)
    if args.action == "test":
        rule = next(rule for rule in config.rules if rule.id == args.rule)
        return preview_rule(es, settings, rule, days=args.days)
    if args.action == "sync":
        return sync_rules(es, settings, config)
    if args.action == "run":
        return run_alerts(settings, datetime.now(UTC) - timedelta(minutes=args.since_minutes))
    if args.action == "deliver":
        return vars(deliver_pending(es, settings, config))
    return alert_events.history(es, settings, status=args.status, rule_id=args.rule)


def _add_rule(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the rule like alerts.yaml itself would be, check its query with
    Elasticsearch when it is up, then append it to alerts.yaml."""
    from pipeline.alerts.rules import add_rule

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
    try:
        es = elasticsearch(settings)
    except NewsmonError:
        print("warning: Elasticsearch is not reachable; the query was not checked", file=sys.stderr)
        es = None
    add_rule(settings, rule, es)
    if args.json:
        print_json(rule)
    else:
        print(f"added rule {args.rule} to {settings.config_dir / 'alerts.yaml'}")
    return EXIT_OK
