"""The `newsmon` command: main.py parses and dispatches; one module per command group
(run, search + serve, articles: extract/tag/retag/eval-tags, admin: es/setup/config,
alerts, feeds); output.py holds what they share."""
