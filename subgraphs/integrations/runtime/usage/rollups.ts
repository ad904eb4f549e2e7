/**
 * The usage rollup writer: sums each batch of the gateway's usage records per organisation, minute
 * and key into `integrations.ApiUsageRollup` (INSERT … ON CONFLICT DO UPDATE adding counts and
 * bucket counts), and deletes rollups older than the retention. Fed by the `api-usage` consumer
 * (consumer.ts, full stack) or straight by the gateway's flush (`npm start`).
 *
 * Duplicates: a batch id is recorded in `ApiUsageBatch` in the same transaction as its sums, so a
 * batch consumed again (offsets not yet committed at a crash or rebalance) adds nothing. Batch ids
 * are kept `batchRetentionMs` (longer than the topic keeps messages: nothing older can come back).
 */
import type { PrismaClient } from "../../../../platform/db.ts";
import type { Logger } from "../../../../platform/logger.ts";
import { DURATION_BUCKETS_MS, durationBucket, statusClass, type UsageBatch } from "../../../../events/usage.ts";

const MINUTE_MS = 60_000;
const BUCKETS = DURATION_BUCKETS_MS.length + 1;

interface RollupRow {
  o: string;
  m: string;
  s: string;
  op: string;
  v: string;
  pk: string;
  pi: string;
  sc: string;
  c: number;
  e: number;
  d: number;
  b: number[];
}

/** The batch's records summed per rollup key. */
export function rollupRows(batch: UsageBatch): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const record of batch.records) {
    const minute = new Date(Math.floor(record.at / MINUTE_MS) * MINUTE_MS).toISOString();
    const sc = statusClass(record.status);
    const key = [record.organizationId, minute, record.surface, record.operation, record.apiVersion, record.principalKind, record.principalId, sc].join(
      "\u0000",
    );
    let row = rows.get(key);
    if (!row) {
      row = {
        o: record.organizationId,
        m: minute,
        s: record.surface,
        op: record.operation,
        v: record.apiVersion,
        pk: record.principalKind,
        pi: record.principalId,
        sc,
        c: 0,
        e: 0,
        d: 0,
        b: new Array<number>(BUCKETS).fill(0),
      };
      rows.set(key, row);
    }
    row.c += 1;
    if (record.status >= 400) row.e += 1;
    row.d += record.durationMs;
    const bucket = durationBucket(record.durationMs);
    row.b[bucket] = (row.b[bucket] ?? 0) + 1;
  }
  return [...rows.values()];
}

export interface UsageRollupWriter {
  /** Adds a batch to the rollups once; false when this batch id was added before. */
  write(batch: UsageBatch): Promise<boolean>;
  /** Deletes rollups older than the retention (and batch ids older than theirs); returns the rollups deleted. */
  sweep(now?: Date): Promise<number>;
}

export interface UsageRollupWriterOptions {
  readonly prisma: PrismaClient;
  /** How long rollups are kept (USAGE_RETENTION). @default 90 days */
  readonly retentionMs?: number;
  /** How long batch ids are remembered against replays. @default 8 days (past the topics' 7-day retention) */
  readonly batchRetentionMs?: number;
}

export function createUsageRollupWriter(options: UsageRollupWriterOptions): UsageRollupWriter {
  const { prisma } = options;
  const retentionMs = options.retentionMs ?? 90 * 86_400_000;
  const batchRetentionMs = options.batchRetentionMs ?? 8 * 86_400_000;
  return {
    async write(batch) {
      const rows = rollupRows(batch);
      return prisma.$transaction(async (tx) => {
        const claimed = await tx.$executeRaw`INSERT INTO "integrations"."ApiUsageBatch" ("id") VALUES (${batch.id}::uuid) ON CONFLICT DO NOTHING`;
        if (claimed === 0) return false;
        if (rows.length === 0) return true;
        // One statement for the whole batch; keys are unique within it (summed above).
        await tx.$executeRaw`
          INSERT INTO "integrations"."ApiUsageRollup" AS r
            ("organizationId", "minute", "surface", "operation", "apiVersion", "principalKind", "principalId", "statusClass",
             "count", "errorCount", "durationMsSum", "durationBuckets")
          SELECT x.o, x.m, x.s, x.op, x.v, x.pk, x.pi, x.sc, x.c, x.e, x.d, x.b
          FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
            AS x(o uuid, m timestamptz, s text, op text, v text, pk text, pi uuid, sc text, c int, e int, d float8, b int[])
          ON CONFLICT ("organizationId", "minute", "surface", "operation", "apiVersion", "principalKind", "principalId", "statusClass") DO UPDATE SET
            "count" = r."count" + excluded."count",
            "errorCount" = r."errorCount" + excluded."errorCount",
            "durationMsSum" = r."durationMsSum" + excluded."durationMsSum",
            "durationBuckets" = (
              SELECT array_agg(coalesce(old, 0) + coalesce(new, 0) ORDER BY i)
              FROM unnest(r."durationBuckets", excluded."durationBuckets") WITH ORDINALITY AS t(old, new, i)
            )`;
        return true;
      });
    },
    async sweep(now = new Date()) {
      const before = new Date(now.getTime() - retentionMs);
      const deleted = await prisma.$executeRaw`DELETE FROM "integrations"."ApiUsageRollup" WHERE "minute" < ${before}`;
      await prisma.$executeRaw`DELETE FROM "integrations"."ApiUsageBatch" WHERE "processedAt" < ${new Date(now.getTime() - batchRetentionMs)}`;
      return deleted;
    },
  };
}

/** Runs `writer.sweep()` now and every `intervalMs` (errors logged, retried next time); returns the stop function. */
export function startUsageRetention(writer: UsageRollupWriter, logger: Logger, intervalMs = 3_600_000): () => void {
  const sweep = () =>
    void writer.sweep().then(
      (deleted) => (deleted > 0 ? logger.info({ deleted }, "usage rollups past their retention deleted") : undefined),
      (error: unknown) => logger.warn({ err: error }, "usage retention sweep failed; retried at the next one"),
    );
  sweep();
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
