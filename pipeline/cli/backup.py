"""`newsmon backup create|list|restore|prune`: snapshots of every newsmon index."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from pipeline.cli.output import EXIT_OK, elasticsearch, print_json
from pipeline.config import load_settings


def register(commands: Any) -> None:
    backup = commands.add_parser(
        "backup", help="snapshots of every newsmon index (news_backup takes one daily)"
    )
    actions = backup.add_subparsers(dest="action", required=True)
    actions.add_parser("create", help="snapshot every index now")
    actions.add_parser("list", help="the snapshots, oldest first")
    restore = actions.add_parser("restore", help="bring a snapshot's indices and aliases back")
    restore.add_argument("name")
    restore.add_argument(
        "--replace", action="store_true", help="delete the indices that exist first"
    )
    prune = actions.add_parser("prune", help="delete all but the newest snapshots")
    prune.add_argument("--keep", type=int, help="how many to keep (default: backup_keep)")
    for sub in actions.choices.values():  # --json before or after the action
        sub.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
        )
    backup.set_defaults(handler=backup_command)


def backup_command(args: argparse.Namespace) -> int:
    from pipeline.store import backups

    settings = load_settings()
    es = elasticsearch(settings, setup=args.action == "create")
    if args.action == "list":
        snapshots = backups.list_snapshots(es, settings)
        if args.json:
            print_json([asdict(s) for s in snapshots])
        else:
            for snapshot in snapshots:
                print(f"{snapshot.name}  {snapshot.state}  {len(snapshot.indices)} indices")
        return EXIT_OK
    if args.action == "prune":
        deleted = backups.prune(es, settings, args.keep or settings.backup_keep)
        if args.json:
            print_json({"deleted": deleted})
        else:
            print(f"deleted {len(deleted)} snapshot(s): {', '.join(deleted) or '-'}")
        return EXIT_OK
    if args.action == "create":
        snapshot = backups.create(es, settings)
    else:
        snapshot = backups.restore(es, settings, args.name, replace=args.replace)
    if args.json:
        print_json(asdict(snapshot))
    else:
        done = "created" if args.action == "create" else "restored"
        print(f"{done} {snapshot.name}: {', '.join(snapshot.indices)}")
    return EXIT_OK
