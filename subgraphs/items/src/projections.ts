// The read models the items subgraph builds from the event log and runs in its process
// (events/store/runner.ts), and the log's upkeep (partitions ahead, retention) done beside them;
// `npm run projections:rebuild -- <name>` rebuilds one of them.
import pg from "pg";
import type { Registry } from "prom-client";
import { createProjectionMetrics } from "../../../events/store/metrics.ts";
import type { Projection } from "../../../events/store/projection.ts";
import { dropExpired, maintainPartitions } from "../../../events/store/retention.ts";
import { startProjections, type ProjectionRunner } from "../../../events/store/runner.ts";
import type { AggregateFold } from "../../../events/store/snapshots.ts";
import { eventStoreConfig, type EventStoreConfig } from "../../../platform/config.ts";
import type { Logger } from "../../../platform/logger.ts";
import { ITEM_FOLD, itemSnapshots } from "./history/item-fold.ts";
import { searchProjection } from "./search/projection.ts";

/** The items subgraph's projections: search (search/projection.ts) and item snapshots (history/). */
export function itemsProjections(config: EventStoreConfig = eventStoreConfig()): readonly Projection[] {
  return [searchProjection, itemSnapshots(config.snapshotEvery)];
}

/** How often the log's partitions and retention are looked after (and once at start). */
const UPKEEP_INTERVAL_MS = 6 * 60 * 60 * 1_000;

/** Partitions for the coming months and, with EVENT_RETENTION_MONTHS, expired months dropped after compaction. */
async function upkeep(databaseUrl: string, config: EventStoreConfig, logger: Logger): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    // One process at a time across replicas; the others skip this round.
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtext('eventstore.upkeep')) AS locked`);
    if (!rows[0]?.locked) return;
    const now = new Date();
    const created = await maintainPartitions(client, now);
    const expired = await dropExpired(client, config.retentionMonths, now, [ITEM_FOLD as AggregateFold<unknown>]);
    if (created > 0 || expired.dropped.length > 0 || expired.deletedFromDefault > 0) logger.info({ created, ...expired }, "event log upkeep");
  } finally {
    await client.end();
  }
}

export interface ItemsProjectionsOptions {
  readonly databaseUrl: string;
  readonly logger: Logger;
  readonly config?: EventStoreConfig;
  /** Where the projections' metrics go (events/store/metrics.ts). @default none kept */
  readonly metrics?: Registry;
}

/** Runs the items subgraph's projections and the log's upkeep against `databaseUrl` (replicas take turns per batch). */
export async function startItemsProjections(options: ItemsProjectionsOptions): Promise<ProjectionRunner> {
  const config = options.config ?? eventStoreConfig();
  const projections = itemsProjections(config);
  const metrics = options.metrics
    ? createProjectionMetrics(
        options.metrics,
        projections.map((projection) => projection.name),
      )
    : undefined;
  const logger = options.logger.child({ part: "projections" });
  const runUpkeep = () =>
    upkeep(options.databaseUrl, config, logger).catch((error: unknown) => logger.warn({ err: error }, "event log upkeep failed; trying again later"));
  await runUpkeep();
  const timer = setInterval(() => void runUpkeep(), UPKEEP_INTERVAL_MS);
  timer.unref();
  const runner = await startProjections({ databaseUrl: options.databaseUrl, projections, logger, onApplied: metrics?.onApplied });
  metrics?.setLagSource(() => runner.lag());
  return {
    ...runner,
    async dispose() {
      clearInterval(timer);
      metrics?.close();
      await runner.dispose();
    },
  };
}
