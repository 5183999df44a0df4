"""Search over indexed articles, for the CLI, the HTTP API and alerts:

- query.py   the analyst's query language and filters as Elasticsearch queries
- pages.py   a page of results: ranking, one hit per story, facets, timeline, paging
- export.py  every matching article as CSV or JSON lines
"""
