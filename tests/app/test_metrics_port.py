"""Metrics on a port of their own when DACA_METRICS_PORT is set (the public port then has none)."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.app.conftest import running_app

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_metrics_port_takes_metrics_off_the_main_port() -> None:
    port = free_port()
    async with running_app(metrics_port=port) as (_, client):
        assert (await client.post("/v1/sessions/m/messages", json={"content": "hi"})).is_success
        on_main = await client.get("/metrics")
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    assert on_main.status_code == 404
    assert on_main.json()["error"]["code"] == "not_found"
    assert scraped.status_code == 200
    assert (
        'daca_http_requests_total{method="POST",route="/v1/sessions/{session_id}/messages",'
        'status="200"} 1.0' in scraped.text
    )
    # the listener goes away with the app
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


async def test_without_a_metrics_port_metrics_stay_on_the_main_port() -> None:
    async with running_app() as (_, client):
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "daca_http_requests_total" in response.text
