"""The analysts' HTTP API and web UI (`newsmon serve`; also mounted in Airflow's UI by
plugins/newsmon_plugin.py).

Everything shown comes from feeds and pages, so it is untrusted: the UI builds the
page with textContent, and the only HTML it inserts are highlight fragments, which
Elasticsearch escapes before adding <em> tags (search/pages.py). All paths in the UI
are relative, so the app works at / and under Airflow's /newsmon/ prefix alike.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pipeline.config import Settings, load_settings
from pipeline.store import make_es_client
from pipeline.web.errors import add_handlers
from pipeline.web.routes import alerts, feeds, meta, saved_searches, search, taxonomy, websub

ROUTERS = (meta, search, taxonomy, feeds, alerts, saved_searches, websub)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        title="newsmon",
        description="Search the monitored news: articles, topics, entities, feeds, alerts.",
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.es = make_es_client(settings)  # connects on first use, not here
    add_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=meta.STATIC), name="static")
    return app
