"""newsmon's errors as HTTP answers: the analyst's mistakes are 400/404, a cluster that
is down is 503, one that refuses a request is 502."""

from __future__ import annotations

from collections.abc import Callable

from elasticsearch import ApiError
from elasticsearch import ConnectionError as EsConnectionError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from pipeline.errors import NewsmonError, NotFound


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
