"""newsmon's errors as HTTP answers: the analyst's mistakes are 400/404, a cluster that
is down is 503, one that refuses a request is 502."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elasticsearch import ApiError
from elasticsearch import ConnectionError as EsConnectionError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from pipeline.errors import NewsmonError, NotFound


class Problem(BaseModel):
    detail: str


_MEANINGS = {
    400: "the query or a parameter is not valid",
    401: "missing or wrong API token",
    404: "no such item",
    502: "Elasticsearch refused the request",
    503: "Elasticsearch is not reachable",
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an operation, for its OpenAPI `responses`."""
    return {code: {"model": Problem, "description": _MEANINGS[code]} for code in codes}


def add_handlers(app: FastAPI) -> None:
    # The most specific class wins, so NotFound answers 404 though it is a NewsmonError
    # (ConfigError and SearchSyntaxError are NewsmonErrors too: 400).
    app.add_exception_handler(NotFound, _status(404))
    app.add_exception_handler(NewsmonError, _status(400))
    app.add_exception_handler(ValidationError, _invalid)
    app.add_exception_handler(EsConnectionError, _es_down)
    app.add_exception_handler(ApiError, _es_error)


def _status(code: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=code)

    return handler


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return JSONResponse({"detail": f"{where}: {error['msg']}"}, status_code=400)


def _es_down(request: Request, exc: Exception) -> JSONResponse:
    url = request.app.state.settings.elasticsearch_url
    return JSONResponse({"detail": f"Elasticsearch is not reachable at {url}"}, status_code=503)


def _es_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": f"Elasticsearch: {exc.message}"}, status_code=502)
