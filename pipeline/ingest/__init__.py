"""Ingest: from feeds to indexed, tagged articles. Stages, in the order data flows:

- poll.py      feed -> FeedEntry records, by the feed's kind (rss.py: RSS/Atom)
- fetch.py     FeedEntry -> Page (robots.txt, politeness, guarded download)
- extract.py   Page -> Article (trafilatura, checked against readability)
- dedup.py     Article -> Article with fingerprint and story cluster
- tag.py       Article -> TaggedArticle (topics and entities with evidence)
- engine.py    runs the stages per feed, indexes (store.articles), alerts at once

Support: download.py (guarded HTTP GET), politeness.py (per-host slots and spacing),
robots.py, schedule.py (when each feed is polled next), websub.py (push
subscriptions), discovery.py (feeds advertised by a site), retag.py (re-tag in place).
"""
