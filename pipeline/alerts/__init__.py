"""Keyword alerts: rules matched against new articles, one event per (rule, story),
delivered to the rules' channels (pipeline/channels) and retried until taken.

- rules.py        rule admin: a rule as a search, validation, sync, `alerts add`
- rule_filter.py  which rules can match which articles, judged in Python first
- matching.py     new articles x rules -> AlertEvents (create-only)
- spikes.py       volume spikes of a topic or query -> AlertEvents
- digests.py      hourly/daily digests: when they are due, what they say
- delivery.py     claim due events, send them, record outcomes, retry
- cycle.py        one pass of all of the above (news_alerts, `newsmon alerts run`)
"""
