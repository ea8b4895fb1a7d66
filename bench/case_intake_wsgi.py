"""Benchmark-only WSGI entry point: CivicGrid's WSGI application plus two baseline endpoints.

(Deliberately not named bench_*.py: bench/run.py runs every bench_*.py as a benchmark.)

Served by the benchmarks' gunicorn (bench/gunicorn_server.py: the intake and track-upload
benchmarks), never by ``civicgrid serve``, so the product's URLs and code stay unchanged.
Everything except the paths below goes to the real application
(``civicgrid.config.wsgi.application``):

- ``/bench/empty``: answers ``{}`` at once (no Django, no database): the HTTP floor of the
  same server, the same workers and the same client.
- ``/bench/insert-one`` (POST): inserts one 200-byte row into ``bench_insert_one`` in its own
  transaction through ``django.db.connection`` (raw DB-API ``INSERT``; ``BEGIN IMMEDIATE`` on
  SQLite, as the product configures it) and commits: the database's commit limit. It handles
  the connection as a Django request does (``close_old_connections`` before and after, so
  SQLite opens one per request with CONN_MAX_AGE=0 and PostgreSQL keeps it).

The same two endpoints are also served THROUGH Django (``/bench/django/empty`` and
``/bench/django/insert-one``): plain Django views behind the product's whole middleware stack
and URL resolver, as the intake API is. They are the same-stack baselines: the issue asks for
"an endpoint of the same server that inserts one row", and the difference between the two
insert-one endpoints is what Django itself costs per request on this machine (docs/
cases-benchmarks.md; decision "Intake benchmark: a same-stack baseline beside the bare one").

All read and discard the request body, so the client can send them the same JSON it posts to
the intake API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from civicgrid.config import urls as product_urls
from civicgrid.config.wsgi import application as civicgrid_application

BENCH_TABLE = "bench_insert_one"
ROW_PAYLOAD = "x" * 200  # the 200-byte row
EMPTY_PATH = "/bench/empty"
INSERT_PATH = "/bench/insert-one"

StartResponse = Callable[..., Any]


def create_bench_table() -> None:
    """Create the baseline's table (idempotent); call it once before the server starts."""
    if connection.vendor == "postgresql":
        ddl = f"CREATE TABLE IF NOT EXISTS {BENCH_TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL)"
    else:
        ddl = f"CREATE TABLE IF NOT EXISTS {BENCH_TABLE} (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"
    with connection.cursor() as cur:
        cur.execute(ddl)


def bench_row_count() -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {BENCH_TABLE}")
        return int(cur.fetchone()[0])


def _drain(environ: dict[str, Any]) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        environ["wsgi.input"].read(length)


def _reply(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _insert_one() -> None:
    close_old_connections()
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"INSERT INTO {BENCH_TABLE} (payload) VALUES (%s)", [ROW_PAYLOAD])
    finally:
        close_old_connections()


@csrf_exempt
def django_empty(request: HttpRequest) -> HttpResponse:
    request.body  # noqa: B018 - read it, as the intake does
    return JsonResponse({})


@csrf_exempt
def django_insert_one(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    request.body  # noqa: B018
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"INSERT INTO {BENCH_TABLE} (payload) VALUES (%s)", [ROW_PAYLOAD])
    return JsonResponse({}, status=201)


# The product's URLs with the two same-stack endpoints in front (this module is the URLconf).
urlpatterns = [
    path("bench/django/empty", django_empty),
    path("bench/django/insert-one", django_insert_one),
    *product_urls.urlpatterns,
]
settings.ROOT_URLCONF = __name__


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == EMPTY_PATH:
        _drain(environ)
        return _reply(start_response, "200 OK", b"{}")
    if path == INSERT_PATH:
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, "405 Method Not Allowed", b'{"error": "POST only"}')
        _drain(environ)
        _insert_one()
        return _reply(start_response, "201 Created", b"{}")
    return civicgrid_application(environ, start_response)
