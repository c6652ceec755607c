"""Health, Prometheus metrics, the summary figures and what is live now (the dashboard's feed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from aiohttp import web
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from api.endpoint import ApiCall, Endpoint, json_response
from campaigns.recording_uploads import RecordingUploads
from campaigns.supervision import LatencyHistogram, Snapshot
from media.loop_lag import BUCKETS_S, LoopLagMonitor


async def healthz(call: ApiCall) -> web.StreamResponse:
    """200 when the ARI events stream is up and PostgreSQL answers; 503 (and which one) otherwise."""
    checks = await call.services.health()
    return json_response({"status": "ok" if all(checks.values()) else "degraded", "checks": checks},
                         status=200 if all(checks.values()) else 503)


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hours: int = Field(24, ge=1, le=24 * 90)


async def metrics_summary(call: ApiCall) -> web.StreamResponse:
    now = datetime.now().astimezone()
    summary = await call.services.supervision.summary(now - timedelta(hours=call.query.hours), now)
    return json_response({**summary, "currency": call.services.currency})


async def live(call: ApiCall) -> web.StreamResponse:
    since = datetime.now().astimezone() - timedelta(hours=24)
    return json_response({"calls": await call.services.supervision.live(),
                          "waves": await call.services.supervision.waves(since)})


def _histogram(name: str, doc: str, bounds_s: tuple[float, ...], cumulative: tuple[int, ...], count: int,
               sum_s: float) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, sum_value=sum_s, buckets=[
        *((repr(b), n) for b, n in zip(bounds_s, cumulative, strict=True)), ("+Inf", count)])


class _SnapshotCollector(Collector):
    """Prometheus collector over one snapshot read from the database for this scrape.

    By convention: what only grows is a counter (`_total`), a state's current size is a gauge, a
    latency is a `_seconds` histogram (rate() and histogram_quantile() work on it; an average
    computed here could not be aggregated across processes or windows)."""

    def __init__(self, snapshot: Snapshot, ari_connected: bool) -> None:
        self._s = snapshot
        self._ari = ari_connected

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        yield GaugeMetricFamily("callcenter_ari_connected", "1 while the ARI events stream is up",
                                value=1.0 if self._ari else 0.0)
        calls = CounterMetricFamily("callcenter_calls", "Call attempts placed or answered, by direction and "
                                    "outcome (in_progress until the call ends)", labels=["direction", "outcome"])
        for (direction, outcome), value in self._s.calls.items():
            calls.add_metric([direction, outcome], value)
        yield calls
        states = [
            ("callcenter_calls_in_progress", "Calls not yet ended", ["direction"], self._s.live),
            ("callcenter_call_jobs", "Campaign jobs by state", ["state"], self._s.jobs),
            ("callcenter_webhook_deliveries", "Webhook deliveries by status", ["status"], self._s.webhooks),
            ("callcenter_analyses", "Post-call analyses by status", ["status"], self._s.analyses),
        ]
        for name, doc, labels, values in states:
            family = GaugeMetricFamily(name, doc, labels=labels)
            for key, value in values.items():
                family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
            yield family
        yield GaugeMetricFamily("callcenter_ready_for_human", "Conversations waiting for a person",
                                value=self._s.ready_for_human)
        v2v: LatencyHistogram = self._s.voice_to_voice
        yield _histogram("callcenter_voice_to_voice_seconds", "From the end of the caller's speech to the "
                         "agent's first audio on the line, per turn", v2v.bounds_s, v2v.cumulative, v2v.count,
                         v2v.sum_s)


class _LoopLagCollector(Collector):
    """The event loop's lateness (media/loop_lag.py): a stall there delays every call's audio."""

    def __init__(self, monitor: LoopLagMonitor) -> None:
        self._stats = monitor.stats()

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        s = self._stats
        yield _histogram("callcenter_event_loop_lag_seconds", "How late a 10 ms timer fired on the event loop",
                         tuple(BUCKETS_S), tuple(s.buckets), s.count, s.sum_s)
        yield GaugeMetricFamily("callcenter_event_loop_lag_max_1m_seconds",
                                "The event loop's largest lateness over the last minute", value=s.recent_max_s)


class _UploadsCollector(Collector):
    """Recordings waiting for their upload to the object store; a growing `failing` means the store is
    down or refuses them, and the local disk (their only copy meanwhile) is filling."""

    def __init__(self, waiting: int, failing: int) -> None:
        self._counts = {"waiting": waiting, "failing": failing}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("callcenter_recording_uploads_pending", "Recordings not yet in the object "
                                   "store: waiting for a first try, or failed and waiting for the next",
                                   labels=["state"])
        for state, value in self._counts.items():
            family.add_metric([state], value)
        yield family


async def prometheus(call: ApiCall) -> web.StreamResponse:
    snapshot = await call.services.supervision.snapshot()
    registry = CollectorRegistry(auto_describe=False)  # per scrape: no process-wide state
    ProcessCollector(registry=registry)  # process_* (CPU, memory, open files) of the process serving the API
    PlatformCollector(registry=registry)
    registry.register(_SnapshotCollector(snapshot, call.services.ari_connected()))
    if call.services.loop_lag is not None:
        registry.register(_LoopLagCollector(call.services.loop_lag))
    if call.services.recordings.uploads:  # RECORDINGS_STORE=s3|both: recordings not in the bucket yet
        registry.register(_UploadsCollector(*await RecordingUploads(call.services.pool).backlog()))
    return web.Response(body=generate_latest(registry),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


ENDPOINTS = [
    Endpoint("GET", "/healthz", healthz, "Health: ARI connected, database reachable", "monitoring",
             public=True, errors=(503,)),
    Endpoint("GET", "/metrics", prometheus, "Prometheus metrics (bearer token, as Prometheus supports)",
             "monitoring", produces="text/plain"),
    Endpoint("GET", "/api/v1/metrics/summary", metrics_summary, "Calls per hour, contact rate, promise rate, "
             "average latency and cost", "monitoring", query=SummaryQuery),
    Endpoint("GET", "/api/v1/live", live, "Calls up now and the recent waves' progress", "monitoring"),
]
