"""Mounts newsmon's search UI and API into the Airflow 3 UI: the app is served by
Airflow's API server under /newsmon/ and linked from the navigation bar, so operators
and analysts reach search from the Airflow UI they already use.

Airflow's own login does not cover plugin apps: set NEWSMON_API_TOKEN to protect the
API (the UI asks for the token once and keeps it in the browser).
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin

from pipeline.errors import ConfigError
from pipeline.web.app import create_app

URL_PREFIX = "/newsmon"

try:
    APPS = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "newsmon search"}]
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
