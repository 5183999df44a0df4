"""Airflow's own login in front of newsmon's app when Airflow's API server serves it
(plugins/newsmon_plugin.py mounts the app under /newsmon/).

Airflow does not guard the apps that plugins mount, so this middleware does what
Airflow's routes do: the caller is the user of the JWT in the `Authorization: Bearer`
header or, from a browser, in Airflow's `_token` cookie, as Airflow's auth manager
reads it (a token revoked by logging out no longer counts). Without a valid one, a
browser asking for a page is sent to Airflow's login page and comes back after it;
every other request (the JSON API, scripts) gets 401. A user who may not use the
Airflow UI (`is_authorized_view(WEBSITE)`) gets 403.

Imports Airflow: only the plugin uses it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


class AirflowLogin:
    """ASGI middleware: only users logged in to Airflow reach the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = await refusal_for(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def refusal_for(request: Request) -> Response | None:
    """None when the request carries a valid Airflow token of a user allowed to use the
    UI; otherwise the answer to send instead."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView

    auth_manager = get_auth_manager()
    user = await _user(auth_manager, _token(request))
    if user is None:
        if _wants_page(request):
            return RedirectResponse(auth_manager.get_url_login(next_url=str(request.url)))
        return _problem(401, "log in to Airflow first (its JWT as a bearer token or cookie)")
    if not auth_manager.is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        return _problem(403, f"Airflow user {user.get_name()!r} may not use the Airflow UI")
    return None


def _token(request: Request) -> str | None:
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    # An explicit bearer token wins over the browser's cookie, as in Airflow's own routes.
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


async def _user(auth_manager: Any, token: str | None) -> Any:
    from jwt import InvalidTokenError  # ExpiredSignatureError is one too

    if not token:
        return None
    try:
        return await auth_manager.get_user_from_token(token)
    except InvalidTokenError:
        return None


def _wants_page(request: Request) -> bool:
    """A browser navigating to a page (not the API, not a script's fetch)."""
    path = request.url.path
    api = "/api/" in path or path.endswith(("/openapi.json", "/docs", "/redoc"))
    return request.method == "GET" and not api and "text/html" in request.headers.get("accept", "")


def _problem(status: int, detail: str) -> JSONResponse:
    """The app's own error shape ({"detail": ...}). `X-Newsmon-Login` tells the UI to
    reload the page (and so go through Airflow's login) instead of asking for a token."""
    headers = {"X-Newsmon-Login": "airflow"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)
