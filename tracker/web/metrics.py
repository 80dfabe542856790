"""/metrics: the fleet's figures in Prometheus's text format, read at scrape time.

A prometheus-client collector rather than counters kept in this process: the
database holds every instance's state, so whichever instance is scraped answers for
the whole fleet, and a restarted process reports the same counters as before.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage.fleet import fleet_figures
from tracker.model import Status

log = logging.getLogger("tracker")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class FleetCollector(Collector):
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("tracker_database_up", "1 when the database answered this scrape, 0 when it did not.")
        try:
            with Session(self.engine) as session:
                figures = fleet_figures(session)
        except DBAPIError as error:
            log.warning("/metrics: the database did not answer: %s", type(error.orig or error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        yield _labelled(GaugeMetricFamily, "tracker_feeds", "Configured feeds by state (ok, failing, disabled, never_polled); sums to the configured feeds.",
                        "state", figures.feeds_by_state)
        yield _labelled(CounterMetricFamily, "tracker_fetches", "Feed checks by outcome (ok: a document, not_modified: 304, failed), over every instance.",
                        "outcome", figures.fetches_by_outcome)
        yield GaugeMetricFamily("tracker_entries", "Entries stored.", value=figures.entries)
        yield GaugeMetricFamily("tracker_matches", "Evidence: entries matched to a commitment.", value=figures.matches)
        yield _labelled(GaugeMetricFamily, "tracker_commitments", "Commitments tracked, by status.",
                        "status", {status.value: 0 for status in Status} | figures.commitments_by_status)
        yield _labelled(GaugeMetricFamily, "tracker_deliveries", "Alerts in the outbox, by state.", "state", figures.deliveries_by_state)
        oldest = figures.oldest_waiting_delivery
        yield GaugeMetricFamily(
            "tracker_oldest_waiting_delivery_age_seconds",
            "Age of the oldest alert not yet sent (pending, sending or failed); 0 when none waits.",
            value=max(0.0, self.clock() - oldest.timestamp()) if oldest else 0.0,
        )
        # Not "instance": Prometheus gives every scraped series that label (the target).
        labels = ["instance_id", "host", "command"]
        started = GaugeMetricFamily("tracker_instance_start_time_seconds", "When each running instance started (Unix time).", labels=labels)
        heartbeat = GaugeMetricFamily("tracker_instance_heartbeat_time_seconds", "Each instance's last heartbeat (Unix time).", labels=labels)
        last_tick = GaugeMetricFamily("tracker_instance_last_tick_time_seconds", "When each instance's last tick ended (Unix time).", labels=labels)
        tick_took = GaugeMetricFamily("tracker_instance_last_tick_duration_seconds", "How long each instance's last tick took.", labels=labels)
        for row in figures.instances:
            values = [row.id, row.host, row.command]
            started.add_metric(values, row.started_at.timestamp())
            heartbeat.add_metric(values, row.heartbeat_at.timestamp())
            if row.last_tick_at is not None:
                last_tick.add_metric(values, row.last_tick_at.timestamp())
                tick_took.add_metric(values, row.last_tick_seconds or 0.0)
        yield from (started, heartbeat, last_tick, tick_took)


def _labelled(family, name: str, documentation: str, label: str, counts: dict[str, int]) -> Metric:
    """One family of a sample per label value, in a stable order."""
    metric = family(name, documentation, labels=[label])
    for value, count in sorted(counts.items()):
        metric.add_metric([value], count)
    return metric


def fleet_registry(engine: Engine) -> CollectorRegistry:
    """A registry of its own: the process's default one would add this process's Python figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(engine))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
