"""Prometheus over HTTP: the middleware that counts and times every request by its route
template, and `GET /metrics` (no key, as Prometheus scrapes, unless a metrics_token is set;
docs/decisions.md D18 and D52)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator

from fastapi import Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, InfoMetricFamily, Metric
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facegate import face_services, metrics
from facegate.api.middleware import API_PREFIX
from facegate.errors import NotAuthenticated
from facegate.events.health import sink_health

UNMATCHED = "unmatched"  # the route label of a path no route serves (a 404), never the path


def route_template(scope: Scope) -> str:
    """The template of the route that served `scope` (`/api/v1/recognition/faces/{image_id}`),
    which the router leaves in the scope: a bounded set of label values, whatever paths clients
    send. A request no route serves (404), or refused before routing (413, 431, 408): UNMATCHED."""
    template: str | None = getattr(scope.get("route"), "path_format", None)
    if template is None:
        return UNMATCHED
    # FastAPI 0.165 leaves the route as its router declared it, without the prefix that
    # app.py includes the face API's routers under.
    path: str = scope["path"]
    if path.startswith(API_PREFIX) and not template.startswith(API_PREFIX):
        return API_PREFIX + template
    return template


class RequestMetrics:
    """Counts each HTTP request by method, route template and status, and times it to the end
    of its answer. It sits outside the limits, so a 413 or 431 is counted too; the route is
    read from the scope after the router has put it there (so this layer must sit inside any
    that copies the scope, such as TrailingSlash)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        status = 500  # what the client sees if the layers below raise before answering

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = route_template(scope)
            metrics.REQUESTS.labels(method, route, str(status)).inc()
            metrics.REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
            metrics.record_memory()


class _Families:
    """Metric families computed for one scrape, in the shape a registry collects."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _scrape_time(
    sessions: sessionmaker[Session], model: str, calculator: str, mqtt: str | None
) -> bytes:
    """What this server's database and engine say now: the same from every worker, so read at
    scrape time instead of kept in the workers' files. `mqtt`: the answering worker's broker
    connection (facegate.events.health)."""
    info = InfoMetricFamily("facegate_model", "The model set in use and its calculator id.")
    info.add_metric([], {"model": model, "calculator": calculator})
    examples = GaugeMetricFamily(
        "facegate_stored_examples",
        "Face examples stored in each recognition service.",
        labels=["application", "service"],
    )
    waiting = GaugeMetricFamily(
        "facegate_event_deliveries_waiting",
        "Event deliveries waiting to be sent, by sink (webhook, mqtt).",
        labels=["sink"],
    )
    problems = GaugeMetricFamily(
        "facegate_event_sink_problems",
        "Problems of the switched-on event sinks (a broker missing or down, a failing webhook, "
        "deliveries given up in the last 24 hours); /healthz's `events` says which.",
    )
    with sessions() as s:
        for application, service, count in face_services.examples_per_service(s):
            examples.add_metric([application, service], count)
        sinks = sink_health(s, mqtt=mqtt)
    for sink, count in sinks.waiting.items():
        waiting.add_metric([sink], count)
    problems.add_metric([], len(sinks.problems))
    registry = CollectorRegistry()
    registry.register(_Families([info, examples, waiting, problems]))
    return generate_latest(registry)


def _recorded() -> bytes:
    """The recorded metrics: this process's, or under workers every worker's added up."""
    if metrics.MULTIPROCESS_DIR not in os.environ:
        return generate_latest(REGISTRY)
    metrics.record_memory()
    metrics.forget_dead_workers()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def endpoint(request: Request) -> Response:
    """`GET /metrics` in Prometheus's text format (files and database read off the loop);
    with a `metrics_token`, only for a scraper that sends it as a bearer token."""
    state = request.app.state
    token = state.settings.metrics_token
    given = request.headers.get("authorization", "")
    if token is not None and not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise NotAuthenticated(
            "GET /metrics needs the metrics_token: Authorization: Bearer <token>"
        )

    def body() -> bytes:
        if not state.ready:  # still loading: no database or engine to ask yet
            return _recorded()
        inference = state.inference
        return _recorded() + _scrape_time(
            state.sessions,
            inference.engine.model,
            inference.calculator_id,
            state.events.mqtt_status(),
        )

    return Response(await run_in_threadpool(body), media_type=CONTENT_TYPE_LATEST)
