"""Ops endpoints and logs: /metrics, request ids in the access log, no secrets in any log."""

from __future__ import annotations

import json
import logging

import pytest

from server.logs import JsonFormatter
from tests.conftest import PASSWORD, Node, StartNode, api_token, create_staff


async def test_metrics_are_prometheus_text(node: Node) -> None:
    async with node.http.get("/healthz") as resp:
        assert resp.status == 200
    async with node.http.get("/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    assert 'onair_http_requests_total{method="GET",route="/healthz",status="200"}' in text


async def test_access_log_has_request_ids_and_no_secrets(
    start_node: StartNode, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    node = await start_node(database_url=db_url, access_log=True)
    token = await api_token(node.app, "shows:read")
    username, _ = await create_staff(node.app, "host")
    caplog.set_level(logging.INFO)
    async with node.http.get("/api/v1/me", params={"probe": token},
                             headers={"Authorization": f"Bearer {token}",
                                      "X-Request-Id": "req-12345678"}) as resp:
        assert resp.status == 200
        assert resp.headers["X-Request-Id"] == "req-12345678"
    async with node.http.get("/login") as resp:
        assert resp.status == 200
    async with node.http.post("/login", data={"username": username, "password": PASSWORD,
                                              "csrf_token": "wrong"}) as resp:
        assert resp.status == 403
    access = [r for r in caplog.records if r.name == "onair.access"]
    me = [r for r in access if getattr(r, "path", "") == "/api/v1/me"]
    assert me
    assert me[0].__dict__["request_id"] == "req-12345678"
    entry = json.loads(JsonFormatter().format(me[0]))
    assert entry["request_id"] == "req-12345678"
    assert entry["status"] == 200
    everything = caplog.text + "".join(JsonFormatter().format(r) for r in caplog.records)
    assert token not in everything
    assert PASSWORD not in everything


async def test_access_log_can_be_turned_off(
    start_node: StartNode, caplog: pytest.LogCaptureFixture
) -> None:
    node = await start_node(access_log=False)
    caplog.set_level(logging.INFO)
    async with node.http.get("/healthz") as resp:
        assert resp.status == 200
    assert not [r for r in caplog.records if r.name == "onair.access"]
