/**
 * Prometheus metrics of the projections (events/store/runner.ts), in a registry the caller passes in:
 * the items process serves it on its /metrics (scripts/serve.ts), `npm start` and the tests with the
 * gateway's. What was applied is counted as batches commit; how far each live generation is behind
 * is read from PostgreSQL when Prometheus scrapes (through the runner, as the relay's backlog is),
 * so the figure is the log's, whichever replica applied the events.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { EVENT_DELAY_BUCKETS, scrapeSource } from "../metrics.ts";
import type { ProjectionLag } from "./runner.ts";

export const PROJECTION_METRIC_NAMES = [
  "sunday_projection_events_total",
  "sunday_projection_apply_delay_seconds",
  "sunday_projection_lag_events",
  "sunday_projection_oldest_unapplied_age_seconds",
] as const;
const [EVENTS, DELAY, LAG_EVENTS, LAG_AGE] = PROJECTION_METRIC_NAMES;

export interface ProjectionMetrics {
  /** The runner's `onApplied`: a live batch of `events` applied, its newest `delayMs` after it occurred. */
  onApplied(projection: string, events: number, delayMs: number): void;
  /** Where the lag gauges read from at scrape time; null while no runner runs. */
  setLagSource(source: (() => Promise<ProjectionLag[]>) | null): void;
  /** Removes these metrics from the registry. */
  close(): void;
}

export function createProjectionMetrics(registry: Registry, projections: readonly string[]): ProjectionMetrics {
  // Both lag gauges are asked at once on a scrape: one read of the log serves them.
  const behind = scrapeSource<ProjectionLag[]>();

  const applied = new Counter({
    name: EVENTS,
    help: "Events the live generation of a projection applied (search, snapshots)",
    labelNames: ["projection"] as const,
    registers: [registry],
  });
  const delay = new Histogram({
    name: DELAY,
    help: "From a live batch's newest event (its occurrence) to the batch's commit: how long a change takes to reach the read model",
    labelNames: ["projection"] as const,
    buckets: EVENT_DELAY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: LAG_EVENTS,
    help: "Committed events of the log the live generation of a projection has not applied (read at scrape time, counted up to 1,000,000)",
    labelNames: ["projection"] as const,
    registers: [registry],
    async collect() {
      for (const lag of (await behind.read()) ?? []) this.set({ projection: lag.projection }, lag.events);
    },
  });
  new Gauge({
    name: LAG_AGE,
    help: "Seconds since the oldest committed event the live generation of a projection has not applied occurred (0 if none)",
    labelNames: ["projection"] as const,
    registers: [registry],
    async collect() {
      const now = Date.now();
      for (const lag of (await behind.read()) ?? []) {
        this.set({ projection: lag.projection }, lag.oldestOccurredAt ? Math.max(0, now - lag.oldestOccurredAt.getTime()) / 1000 : 0);
      }
    },
  });
  for (const projection of projections) applied.inc({ projection }, 0);

  return {
    onApplied(projection, events, delayMs) {
      applied.inc({ projection }, events);
      delay.observe({ projection }, Math.max(0, delayMs) / 1000);
    },
    setLagSource(source) {
      behind.set(source);
    },
    close() {
      behind.set(null);
      for (const name of PROJECTION_METRIC_NAMES) registry.removeSingleMetric(name);
    },
  };
}
