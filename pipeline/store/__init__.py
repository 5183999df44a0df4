"""The only code that talks to Elasticsearch. One module per index, each owning its
documents' shape and every read and write of them:

- articles.py        news-articles: indexed articles (id = hash of the canonical URL)
- feeds.py           news-feeds: per-feed polling state and health (id = feed id)
- alert_rules.py     news-alert-rules: the rules as last synced (id = rule id)
- alert_events.py    news-alert-events: one per (rule, story), created once
- saved_searches.py  news-saved-searches: analysts' named searches (id = slug of name)
- locks.py           news-locks: short leases serialising a step across workers

indices.py names the indices (`Index`) and creates them from config/elasticsearch/;
client.py makes and checks the client. Other packages build queries (search/, alerts/)
and hand them to these modules.
"""

from pipeline.store.client import (
    check_reachable,
    connect,
    error_reason,
    make_es_client,
    session,
)
from pipeline.store.indices import Index, ensure_indices

__all__ = [
    "Index",
    "check_reachable",
    "connect",
    "ensure_indices",
    "error_reason",
    "make_es_client",
    "session",
]
