"""newsmon: feeds -> pages -> articles -> tags -> Elasticsearch -> alerts.

Subpackages by concern (see "Where things live" in the README):

- models.py, errors.py, urls.py   plain records, the error hierarchy, URL identity
- config/     settings and config files, validated on load
- store/      the only code that talks to Elasticsearch, one module per index
- ingest/     poll, fetch, extract, dedup, tag (stage modules) and the engine
- alerts/     rules, matching, spikes, digests, delivery
- channels/   where alerts go: one module per channel type
- search/     the query language, result pages, exports
- web/        HTTP API and UI; cli/ the `newsmon` command
- tasks.py    Airflow task entry points (DAGs import only this)
- devtools/   the local Elasticsearch, evaluation harnesses

Airflow is imported only by tasks.py and channels/connections.py, inside functions.
"""
