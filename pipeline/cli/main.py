"""The `newsmon` command. Every command takes --json for scripts.

Exit codes: 0 success, 1 runtime failure (e.g. Elasticsearch unreachable),
2 invalid config or usage.
"""

from __future__ import annotations

import argparse
import sys

from elasticsearch import ApiError, TransportError

from pipeline.cli import admin, alerts, articles, backup, feeds, run, search
from pipeline.cli.output import EXIT_CONFIG, EXIT_FAILURE, print_json
from pipeline.errors import ConfigError, NewsmonError

# Each module adds its commands; the order is the order of `newsmon --help`.
COMMAND_GROUPS = (run, search, articles, admin, backup, alerts, feeds)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        return _failed(args, f"config error: {exc}", EXIT_CONFIG)
    except NewsmonError as exc:
        return _failed(args, str(exc), EXIT_FAILURE)
    except (ApiError, TransportError) as exc:
        return _failed(args, f"Elasticsearch: {exc}", EXIT_FAILURE)
    except KeyboardInterrupt:
        return 130


def _failed(args: argparse.Namespace, error: str, code: int) -> int:
    """The error on stderr, and with --json also as JSON on stdout for scripts."""
    print(f"newsmon: {error}", file=sys.stderr)
    if getattr(args, "json", False):
        print_json({"ok": False, "error": error, "exit_code": code})
    return code


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="newsmon", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    for sub in commands.choices.values():
        sub.add_argument("--json", action="store_true", help="machine-readable output")
    return root


if __name__ == "__main__":
    sys.exit(main())
