"""Helpers shared by the tests: fixture sites and servers on loopback, article
factories, receivers for alert channels."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
