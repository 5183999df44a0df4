"""Alerts end to end on loopback: ingest -> match -> one message per channel per story."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import spikes
from pipeline.alerts.cycle import run_alerts
from pipeline.alerts.delivery import deliver_pending
from pipeline.alerts.rules import sync_rules
from pipeline.config import load_alerts, load_settings
from pipeline.errors import ConfigError
from pipeline.ingest.engine import run_cycle_with_alerts
from pipeline.store import ensure_indices, make_es_client
from pipeline.store.alert_events import history
from tests.conftest import delete_indices, make_test_env
from tests.support.fixture_site import FixtureSite, write_config_dir
from tests.support.receivers import HttpReceiver, SmtpReceiver

FEEDS = {"fixture-world": "/feeds/world.rss", "fixture-korea": "/feeds/korea.atom"}
SECRET = "s3cret-for-tests"
RULE = '"cruise missile" OR "strategic missile"'


@pytest.fixture
def receivers() -> Iterator[tuple[HttpReceiver, HttpReceiver, SmtpReceiver]]:
    hook, slack, smtp = HttpReceiver(), HttpReceiver(), SmtpReceiver()
    yield hook, slack, smtp
    hook.stop()
    slack.stop()
    smtp.stop()


@pytest.fixture
def alert_env(
    tmp_path: Path,
    fixture_site: FixtureSite,
    es: Elasticsearch,
    receivers: tuple[HttpReceiver, HttpReceiver, SmtpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    hook, slack, smtp = receivers
    config_dir = write_config_dir(tmp_path / "config", fixture_site.base_url, FEEDS)
    (config_dir / "alerts.yaml").write_text(f"""
channels:
  hook: {{type: webhook, url: "{hook.url}", secret_env: NEWSMON_TEST_HOOK_SECRET, timeout: 5}}
  slack: {{type: slack, url_env: NEWSMON_TEST_SLACK_URL}}
  mail: {{type: email, smtp_host: 127.0.0.1, smtp_port: {smtp.port}, starttls: false,
          sender: newsmon@example.org, to: [analyst@example.org]}}
  file: {{type: log, path: "{tmp_path / "alerts.jsonl"}"}}
rules:
  - id: dprk-cruise-missiles
    query: '{RULE}'
    topics: [dprk-missile-tests]
    channels: [hook, slack, mail, file]
""")
    env = make_test_env(config_dir)
    env.update(NEWSMON_TEST_HOOK_SECRET=SECRET, NEWSMON_TEST_SLACK_URL=slack.url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    delete_indices(es, env["NEWSMON_INDEX_PREFIX"])


def test_one_message_per_channel_per_story_and_none_on_rerun(
    alert_env: dict[str, str],
    receivers: tuple[HttpReceiver, HttpReceiver, SmtpReceiver],
    tmp_path: Path,
) -> None:
    hook, slack, smtp = receivers
    settings = load_settings()
    summary, result = run_cycle_with_alerts(settings)
    totals = summary.totals()
    assert totals["near_duplicate"] == 1  # the syndicated copy is in the same story
    # Matched and delivered by the ingest itself, right after indexing: one story, one event.
    assert (totals["alerts"], totals["alerts_delivered"]) == (1, 1)
    # Ingest matched everything it indexed: `newsmon run` skips the catch-up match.
    assert result["match"]["matches"] == 0
    assert result["delivery"] == {"delivered": 0, "pending": 0, "failed": 0, "errors": []}
    # A catch-up sees both copies match, and that the story already alerted.
    catch_up = run_alerts(settings, since=datetime.now(UTC) - timedelta(days=1))["match"]
    assert catch_up["matches"] == 2 and catch_up["events_created"] == 0

    ((headers, body),) = hook.received
    payload = json.loads(body)
    assert payload["rule_id"] == "dprk-cruise-missiles"
    assert payload["url"].startswith("http://127.0.0.1")
    assert payload["matched_terms"] == ["cruise missile"]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-newsmon-signature"] == f"sha256={expected}"

    ((_, slack_body),) = slack.received
    text = json.loads(slack_body)["blocks"][0]["text"]["text"]
    assert payload["title"] in text and payload["url"] in text and "Matched: cruise missile" in text

    (mail,) = smtp.messages
    assert mail["Subject"] == f"[newsmon] dprk-cruise-missiles: {payload['title']}"
    parts = {part.get_content_type() for part in mail.walk()}
    assert {"text/plain", "text/html"} <= parts

    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["event_id"] == payload["event_id"]

    # Rerunning ingest and alerts sends nothing new.
    _, again = run_cycle_with_alerts(settings)
    assert again["match"]["events_created"] == 0
    assert (
        run_alerts(settings, since=datetime.now(UTC) - timedelta(days=1))["match"]["events_created"]
        == 0
    )
    assert (len(hook.received), len(slack.received), len(smtp.messages)) == (1, 1, 1)
    events = history(make_es_client(settings), settings, status="delivered")
    assert [e["rule_id"] for e in events] == ["dprk-cruise-missiles"]


def test_channel_down_then_up_gets_the_message_exactly_once(
    alert_env: dict[str, str],
    receivers: tuple[HttpReceiver, HttpReceiver, SmtpReceiver],
    es: Elasticsearch,
) -> None:
    hook, slack, smtp = receivers
    hook.fail_next = 1
    settings = load_settings()
    summary, _ = run_cycle_with_alerts(settings)
    assert summary.totals()["alerts_delivered"] == 0
    assert any("HTTP 503" in failure for failure in summary.failures)  # recorded in the run
    assert (len(hook.received), len(slack.received), len(smtp.messages)) == (0, 1, 1)
    (pending,) = history(es, settings, status="pending")
    assert pending["attempts"] == 1 and "503" in pending["last_error"]

    config = load_alerts(settings)
    # Not yet due: the backoff holds the retry back.
    assert deliver_pending(es, settings, config).delivered == 0
    later = datetime.now(UTC) + timedelta(minutes=5)
    retried = deliver_pending(es, settings, config, now=later)
    assert retried.delivered == 1
    assert (len(hook.received), len(slack.received), len(smtp.messages)) == (1, 1, 1)
    assert hook.attempts == 2
    assert deliver_pending(es, settings, config, now=later + timedelta(hours=1)).delivered == 0


def test_invalid_rule_is_rejected_with_a_clear_message(
    alert_env: dict[str, str], es: Elasticsearch
) -> None:
    settings = load_settings()
    path = settings.config_dir / "alerts.yaml"
    path.write_text(path.read_text().replace(RULE, '"cruise missile AND (Pyongyang'))
    with pytest.raises(ConfigError) as info:
        run_alerts(settings, since=datetime.now(UTC))
    assert info.value.key == "rules[0] (dprk-cruise-missiles).query"
    assert str(path) in str(info.value)


def test_throttle_holds_messages_until_the_next_period(
    alert_env: dict[str, str], es: Elasticsearch, tmp_path: Path
) -> None:
    settings = load_settings()
    log = tmp_path / "throttled.jsonl"
    (settings.config_dir / "alerts.yaml").write_text(f"""
channels:
  file: {{type: log, path: "{log}"}}
rules:
  - id: anything-north-korea
    query: '"North Korea"'
    channels: [file]
    throttle: {{max: 1, per: hour}}
""")
    summary, _ = run_cycle_with_alerts(settings)
    # three stories (the copy joins the first); one message this hour, two held back
    assert (summary.totals()["alerts"], summary.totals()["alerts_delivered"]) == (3, 1)
    assert len(history(es, settings, status="pending")) == 2
    assert len(log.read_text().splitlines()) == 1
    config = load_alerts(settings)
    soon = datetime.now(UTC) + timedelta(minutes=10)
    assert deliver_pending(es, settings, config, now=soon).delivered == 0
    next_hour = datetime.now(UTC) + timedelta(minutes=61)
    assert deliver_pending(es, settings, config, now=next_hour).delivered == 1
    assert len(log.read_text().splitlines()) == 2  # one per hour; the third waits its turn
    assert len(history(es, settings, status="pending")) == 1


def test_hourly_digest_sends_one_message_for_the_hours_stories(
    alert_env: dict[str, str],
    receivers: tuple[HttpReceiver, HttpReceiver, SmtpReceiver],
    es: Elasticsearch,
) -> None:
    hook, _, smtp = receivers
    settings = load_settings()
    (settings.config_dir / "alerts.yaml").write_text(f"""
channels:
  hook: {{type: webhook, url: "{hook.url}"}}
  mail: {{type: email, smtp_host: 127.0.0.1, smtp_port: {smtp.port}, starttls: false,
          sender: newsmon@example.org, to: [analyst@example.org]}}
rules:
  - id: korea-digest
    query: '"North Korea"'
    mode: hourly
    channels: [hook, mail]
""")
    summary, _ = run_cycle_with_alerts(settings)
    assert summary.totals()["alerts"] == 3 and summary.totals()["alerts_delivered"] == 0
    assert (hook.received, smtp.messages) == ([], [])  # waiting for the end of the hour
    config = load_alerts(settings)
    next_hour = datetime.now(UTC) + timedelta(minutes=61)
    assert deliver_pending(es, settings, config, now=next_hour).delivered == 3
    ((_, body),) = hook.received
    digest = json.loads(body)
    assert digest["digest"] == "hourly" and digest["rule_id"] == "korea-digest"
    assert len(digest["items"]) == 3
    (mail,) = smtp.messages
    assert mail["Subject"] == "[newsmon] korea-digest: hourly digest, 3 stories"
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    assert all(escape(item["url"], quote=True) in html for item in digest["items"])
    assert deliver_pending(es, settings, config, now=next_hour).delivered == 0
    assert (len(hook.received), len(smtp.messages)) == (1, 1)


def test_spike_rule_fires_once_per_window(
    alert_env: dict[str, str], es: Elasticsearch, tmp_path: Path
) -> None:
    settings = load_settings()
    log = tmp_path / "spikes.jsonl"
    (settings.config_dir / "alerts.yaml").write_text(f"""
channels:
  file: {{type: log, path: "{log}"}}
rules: []
spikes:
  - id: korea-surge
    query: '"North Korea"'
    window: 1d
    baseline: 7d
    threshold: 2
    min_count: 2
    channels: [file]
""")
    run_cycle_with_alerts(settings)
    config = load_alerts(settings)
    # The fixture stories were published on 18-21 November 2026.
    quiet = datetime(2026, 11, 19, 12, tzinfo=UTC)
    (check,) = spikes.check_spikes(es, settings, config, now=quiet)
    assert not check.fired and check.current < 2
    busy = datetime(2026, 11, 21, 3, tzinfo=UTC)
    (check,) = spikes.check_spikes(es, settings, config, now=busy)
    assert check.fired and check.current >= 2 * max(check.typical, 1)
    spikes.check_spikes(es, settings, config, now=busy + timedelta(minutes=10))  # same window
    assert deliver_pending(es, settings, config).delivered == 1
    (line,) = log.read_text().splitlines()
    assert json.loads(line)["title"].startswith('Spike in "North Korea": ')


def test_secrets_from_airflow_connections(
    alert_env: dict[str, str],
    receivers: tuple[HttpReceiver, HttpReceiver, SmtpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook, _, smtp = receivers
    settings = load_settings()
    host, port = hook.url.split("//")[1].split("/")[0].split(":")
    # Airflow's own connection format; Airflow resolves it (env, metadata DB or backend).
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEWSMON_TEST_HOOK",
        json.dumps(
            {
                "conn_type": "http",
                "schema": "http",
                "host": host,
                "port": int(port),
                "password": SECRET,
                "extra": {"path": "/from-connection"},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_NEWSMON_TEST_SMTP",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port}),
    )
    (settings.config_dir / "alerts.yaml").write_text("""
channels:
  hook: {type: webhook, connection: newsmon_test_hook}
  mail: {type: email, connection: newsmon_test_smtp, starttls: false,
         sender: newsmon@example.org, to: [analyst@example.org]}
rules:
  - id: cruise
    query: '"cruise missile"'
    channels: [hook, mail]
""")
    summary, _ = run_cycle_with_alerts(settings)
    assert summary.totals()["alerts_delivered"] == 1
    ((headers, body),) = hook.received
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-newsmon-signature"] == f"sha256={expected}"
    assert hook.paths == ["/from-connection"]
    assert len(smtp.messages) == 1


def test_sync_writes_and_validates_only_changed_rules(
    alert_env: dict[str, str], es: Elasticsearch
) -> None:
    settings = load_settings()
    ensure_indices(es, settings)
    config = load_alerts(settings)
    assert sync_rules(es, settings, config) == {"rules": 1, "updated": 1, "removed": 0}
    assert sync_rules(es, settings, config) == {"rules": 1, "updated": 0, "removed": 0}
    path = settings.config_dir / "alerts.yaml"
    path.write_text(path.read_text().replace(RULE, '"cruise missile"'))
    changed = load_alerts(settings)
    assert sync_rules(es, settings, changed) == {"rules": 1, "updated": 1, "removed": 0}
    emptied = replace(changed, rules=[])
    assert sync_rules(es, settings, emptied) == {"rules": 0, "updated": 0, "removed": 1}
