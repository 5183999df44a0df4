"""Mounts newsmon's search UI and API into the Airflow 3 UI: the app is served by
Airflow's API server under /newsmon/ and linked from the navigation bar, so operators
and analysts reach search from the Airflow UI they already use.

Airflow does not guard the apps plugins mount: `AirflowLogin` puts Airflow's own login
in front of this one (a logged-out browser is sent to Airflow's login page, an API call
without a valid Airflow token gets 401). NEWSMON_API_TOKEN is for `newsmon serve` alone.
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI

from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.web.airflow_login import AirflowLogin
from pipeline.web.app import create_app

URL_PREFIX = "/newsmon"


def search_app() -> FastAPI:
    app = create_app(load_settings().model_copy(update={"api_token": None}))
    app.add_middleware(AirflowLogin)
    return app


try:
    APPS = [{"app": search_app(), "url_prefix": URL_PREFIX, "name": "newsmon search"}]
except ConfigError as exc:
    # A newsmon config error must not take the Airflow UI down with it.
    logging.getLogger(__name__).error("newsmon search is not mounted: %s", exc)
    APPS = []


class NewsmonPlugin(AirflowPlugin):
    name = "newsmon"
    fastapi_apps = APPS
    external_views = [  # noqa: RUF012 (the plugin manager reads these class attributes)
        {
            "name": "News search",
            "href": "newsmon/",  # relative: works behind a proxy or a base path
            "destination": "nav",
            "url_route": "newsmon",
        }
    ]
