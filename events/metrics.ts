/**
 * Prometheus metrics of the event pipeline (relay, bridge and the other Kafka consumers), in a
 * registry the caller passes in: events/main.ts serves it on the part's /metrics, the integrations
 * runtime with its own. Created once per pipeline, so a relay or bridge restarted in the same
 * process keeps counting in the same series.
 *
 * The outbox backlog lives in PostgreSQL and is read when Prometheus scrapes (the gauges' collect),
 * through the running relay (`backlog`): an idle relay does no work for its metrics, and a process
 * without a relay exports no backlog. Consumer lag is what the consumer knows already: each batch
 * Kafka hands it carries its partition's high watermark, so the lag is the high watermark minus the
 * next offset to handle, set per message at no cost.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** What handing one message of a domain topic came to. */
export type BridgeOutcome = "delivered" | "duplicate" | "dead_lettered" | "skipped";

/** The unpublished outbox rows: how many, and how long the oldest has waited (seconds, 0 if none). */
export interface OutboxBacklog {
  readonly rows: number;
  readonly oldestAgeSeconds: number;
}

/** What the relay reports (see outbox-relay.ts). */
export interface RelayMetrics {
  /** A batch was published: `published` to their topics, `deadLettered` refused by the contract check. */
  onPublished(published: number, deadLettered: number): void;
  /** A drain failed (it is retried). */
  onFailure(): void;
}

/** What a Kafka consumer of the domain topics reports (see bridge/bridge.ts); `group` is its consumer group. */
export interface ConsumerMetrics {
  onMessage(group: string, outcome: BridgeOutcome, occurredAt?: string): void;
  /** Messages of the partition not handled yet, as of the last batch Kafka handed over. */
  onLag(group: string, topic: string, partition: number, lag: number): void;
  /** The group was (re)joined: partitions it no longer owns must not keep their last lag. */
  onRebalance(group: string): void;
}

export interface PipelineMetrics {
  readonly relay: RelayMetrics;
  readonly consumer: ConsumerMetrics;
  /** Where the backlog gauges read from at scrape time; null while no relay runs. */
  setBacklogSource(source: (() => Promise<OutboxBacklog>) | null): void;
  /** Removes these metrics from the registry. */
  close(): void;
}

export const PIPELINE_METRIC_NAMES = [
  "sunday_relay_events_total",
  "sunday_relay_failures_total",
  "sunday_relay_outbox_backlog",
  "sunday_relay_outbox_oldest_age_seconds",
  "sunday_bridge_messages_total",
  "sunday_bridge_consumer_lag",
  "sunday_bridge_event_age_seconds",
] as const;
const [RELAY_EVENTS, RELAY_FAILURES, BACKLOG, BACKLOG_AGE, MESSAGES, LAG, EVENT_AGE] = PIPELINE_METRIC_NAMES;

export interface PipelineMetricsOptions {
  /** Register the relay's metrics (a process that runs no relay exports none). @default true */
  readonly relay?: boolean;
}

/** Seconds from an event's occurrence to its arrival somewhere (a sink, a read model): 5 ms to a minute. */
export const EVENT_DELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * A value several gauges read at scrape time from one source that can be set and unset (null while
 * the process runs nothing to read it from). The gauges of one scrape share one read; a failed read
 * gives null, leaving them at their last values rather than failing the scrape (whatever the
 * source reads through logs its own failures).
 */
export interface ScrapeSource<T> {
  read(): Promise<T | null>;
  set(source: (() => Promise<T>) | null): void;
}

export function scrapeSource<T>(): ScrapeSource<T> {
  let source: (() => Promise<T>) | null = null;
  let reading: Promise<T | null> | null = null;
  return {
    read() {
      const current = source;
      if (!current) return Promise.resolve(null);
      reading ??= current()
        .catch(() => null)
        .finally(() => {
          reading = null;
        });
      return reading;
    },
    set(next) {
      source = next;
    },
  };
}

export function createPipelineMetrics(registry: Registry, options: PipelineMetricsOptions = {}): PipelineMetrics {
  const relayRegisters = (options.relay ?? true) ? [registry] : [];
  const backlogSource = scrapeSource<OutboxBacklog>();

  const relayEvents = new Counter({
    name: RELAY_EVENTS,
    help: "Outbox events the relay published, by outcome (published to their topic, dead_lettered)",
    labelNames: ["outcome"] as const,
    registers: relayRegisters,
  });
  const relayFailures = new Counter({
    name: RELAY_FAILURES,
    help: "Relay drains that failed (Postgres or Kafka away) and will be retried",
    registers: relayRegisters,
  });
  const backlog = new Gauge({
    name: BACKLOG,
    help: "Outbox events not yet published (read at scrape time)",
    registers: relayRegisters,
    async collect() {
      const read = await backlogSource.read();
      if (read) this.set(read.rows);
    },
  });
  const backlogAge = new Gauge({
    name: BACKLOG_AGE,
    help: "Seconds since the oldest unpublished outbox event was written (0 if none)",
    registers: relayRegisters,
    async collect() {
      const read = await backlogSource.read();
      if (read) this.set(read.oldestAgeSeconds);
    },
  });
  const messages = new Counter({
    name: MESSAGES,
    help: "Domain-topic messages a consumer handled, by group and outcome (delivered, duplicate, dead_lettered, skipped)",
    labelNames: ["group", "outcome"] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: LAG,
    help: "Messages of a partition not handled yet by the consumer group (high watermark minus next offset, as of its last batch)",
    labelNames: ["group", "topic", "partition"] as const,
    registers: [registry],
  });
  const eventAge = new Histogram({
    name: EVENT_AGE,
    help: "From the domain event (metadata.timestamp) to the consumer's sink accepting it (the Redis streams, for the bridge)",
    labelNames: ["group"] as const,
    buckets: EVENT_DELAY_BUCKETS,
    registers: [registry],
  });
  for (const outcome of ["published", "dead_lettered"]) relayEvents.inc({ outcome }, 0);
  /** The partitions each group reported a lag for, to drop them when the group rebalances. */
  const lagSeries = new Map<string, Set<string>>();

  return {
    relay: {
      onPublished(published, deadLettered) {
        if (published > 0) relayEvents.inc({ outcome: "published" }, published);
        if (deadLettered > 0) relayEvents.inc({ outcome: "dead_lettered" }, deadLettered);
      },
      onFailure() {
        relayFailures.inc();
      },
    },
    consumer: {
      onMessage(group, outcome, occurredAt) {
        messages.inc({ group, outcome });
        if (outcome !== "delivered" || occurredAt === undefined) return;
        const age = Date.now() - Date.parse(occurredAt);
        if (Number.isFinite(age)) eventAge.observe({ group }, Math.max(0, age) / 1000);
      },
      onLag(group, topic, partition, value) {
        lag.set({ group, topic, partition: String(partition) }, Math.max(0, value));
        const series = lagSeries.get(group) ?? new Set<string>();
        series.add(JSON.stringify([topic, partition]));
        lagSeries.set(group, series);
      },
      onRebalance(group) {
        for (const key of lagSeries.get(group) ?? []) {
          const [topic, partition] = JSON.parse(key) as [string, number];
          lag.remove({ group, topic, partition: String(partition) });
        }
        lagSeries.delete(group);
      },
    },
    setBacklogSource(source) {
      backlogSource.set(source);
      if (!source) {
        backlog.reset();
        backlogAge.reset();
      }
    },
    close() {
      backlogSource.set(null);
      // Removing a name this registry does not hold (the relay's, without a relay) does nothing.
      for (const name of PIPELINE_METRIC_NAMES) registry.removeSingleMetric(name);
    },
  };
}
