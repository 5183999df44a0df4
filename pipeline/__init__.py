"""newsmon: feeds -> pages -> articles -> tags -> Elasticsearch.

One module per stage (feeds, fetch, extract, dedup, tagging, index, search);
`models` holds the records passed between them, `config` loads and validates
the YAML files, `cli` is the `newsmon` command. Nothing here imports Airflow.
"""
