"""Prometheus metrics, one registry per app so tests and nodes never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "onair_http_requests", "HTTP requests by route and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.http_seconds = Histogram(
            "onair_http_request_seconds", "HTTP request latency", ["route"],
            registry=self.registry,
        )
        self.sockets = Gauge(
            "onair_socket_connections", "Connected Socket.IO clients", ["namespace"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "onair_realtime_deliveries", "Events delivered to sockets", registry=self.registry,
        )
        self.frames = Counter(
            "onair_realtime_frames", "Frames written to sockets", registry=self.registry,
        )

    def render(self) -> bytes:
        data: bytes = generate_latest(self.registry)
        return data
