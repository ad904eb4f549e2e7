/**
 * `Query.apiUsage`: an organisation's API usage read from the per-minute rollups the integrations
 * runtime keeps (runtime/usage/rollups.ts). OWNER and ADMIN only, always the caller's organisation:
 * the organisation id comes from the signed identity, never from an argument. Durations are
 * estimated from the summed fixed buckets, so p50/p95 hold over any range without raw samples.
 *
 * Why here: the integrations subgraph owns the rollups (its runtime writes them, next to the other
 * consumers of the platform's streams), and a subgraph reads only its own tables.
 */
import { Prisma } from "../../../generated/prisma/client.ts";
import { queryRaw } from "../../../platform/db.ts";
import { DURATION_BUCKETS_MS, quantileFromBuckets } from "../../../events/usage.ts";
import { requireAdmin } from "../../shared/authorization.ts";
import { badInput } from "../../shared/errors.ts";
import type { ApiUsage, QueryApiUsageArgs, UsageGranularity } from "./generated/resolvers.ts";
import type { IntegrationsContext } from "./context.ts";

const DAY_MS = 86_400_000;
/** The longest range asked at once: the rollups' default retention. */
export const MAX_USAGE_RANGE_MS = 90 * DAY_MS;
const TOP = 10;
const PERIOD_MS: Readonly<Record<UsageGranularity, number>> = { HOUR: 3_600_000, DAY: DAY_MS };

/** `ARRAY[sum(b[1]), …]`: the bucket counts of a group, summed position by position (fixed length, no input in it). */
const BUCKET_SUMS = Prisma.raw(
  `ARRAY[${Array.from({ length: DURATION_BUCKETS_MS.length + 1 }, (_, index) => `coalesce(sum(r."durationBuckets"[${index + 1}]), 0)::int`).join(", ")}]`,
);

interface Sums {
  c: number;
  e: number;
  b: number[];
}

const asNumber = (value: unknown): number => Number(value ?? 0);
const rounded = (ms: number): number => Math.round(ms * 10) / 10;

function toDate(value: Date | string, field: string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw badInput(`${field} is not a date-time`, field);
  return date;
}

export async function apiUsage(context: IntegrationsContext, args: QueryApiUsageArgs): Promise<ApiUsage> {
  const caller = requireAdmin(context.identity);
  const from = toDate(args.from, "from");
  const to = toDate(args.to, "to");
  const granularity: UsageGranularity = args.granularity ?? "DAY";
  if (to.getTime() <= from.getTime()) throw badInput("to must be after from", "to");
  if (to.getTime() - from.getTime() > MAX_USAGE_RANGE_MS) throw badInput("The range is at most 90 days", "to");

  const period = Prisma.raw(granularity === "HOUR" ? "'hour'" : "'day'");
  const scope = Prisma.sql`r."organizationId" = ${caller.organizationId}::uuid AND r."minute" >= ${from} AND r."minute" < ${to}`;
  const table = Prisma.raw(`"integrations"."ApiUsageRollup" r`);
  const [points, operations, principals] = await Promise.all([
    queryRaw<{ start: Date; surface: string; c: unknown; e: unknown; b: number[] }>(
      context.prisma,
      Prisma.sql`SELECT date_trunc(${period}, r."minute", 'UTC') AS start, r."surface", sum(r."count") AS c, sum(r."errorCount") AS e, ${BUCKET_SUMS} AS b
        FROM ${table} WHERE ${scope} GROUP BY 1, 2`,
    ),
    queryRaw<{ surface: string; operation: string; apiVersion: string; c: unknown; e: unknown; b: number[] }>(
      context.prisma,
      Prisma.sql`SELECT r."surface", r."operation", r."apiVersion", sum(r."count") AS c, sum(r."errorCount") AS e, ${BUCKET_SUMS} AS b
        FROM ${table} WHERE ${scope} GROUP BY 1, 2, 3 ORDER BY c DESC, 2 LIMIT ${TOP}`,
    ),
    queryRaw<{ principalKind: string; principalId: string; c: unknown; e: unknown }>(
      context.prisma,
      Prisma.sql`SELECT "principalKind", "principalId", c, e FROM (
          SELECT r."principalKind", r."principalId", sum(r."count") AS c, sum(r."errorCount") AS e,
            row_number() OVER (PARTITION BY r."principalKind" ORDER BY sum(r."count") DESC, r."principalId") AS rank
          FROM ${table} WHERE ${scope} GROUP BY 1, 2) ranked
        WHERE rank <= ${TOP} ORDER BY c DESC, "principalId"`,
    ),
  ]);

  const add = (into: Sums, c: number, e: number, b: readonly number[]) => {
    into.c += c;
    into.e += e;
    b.forEach((count, index) => {
      into.b[index] = (into.b[index] ?? 0) + count;
    });
  };
  const empty = (): Sums => ({ c: 0, e: 0, b: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0) });
  const total = empty();
  const bySurface = { graphql: 0, rest: 0 };
  const byPeriod = new Map<number, Sums>();
  for (const point of points) {
    const c = asNumber(point.c);
    const e = asNumber(point.e);
    add(total, c, e, point.b);
    if (point.surface === "graphql" || point.surface === "rest") bySurface[point.surface] += c;
    const key = new Date(point.start).getTime();
    const sums = byPeriod.get(key) ?? empty();
    add(sums, c, e, point.b);
    byPeriod.set(key, sums);
  }
  const trend: ApiUsage["trend"] = [];
  const step = PERIOD_MS[granularity];
  for (let start = Math.floor(from.getTime() / step) * step; start < to.getTime(); start += step) {
    const sums = byPeriod.get(start) ?? empty();
    trend.push({
      start: new Date(start),
      requests: sums.c,
      errors: sums.e,
      p50Ms: rounded(quantileFromBuckets(sums.b, 0.5)),
      p95Ms: rounded(quantileFromBuckets(sums.b, 0.95)),
    });
  }

  return {
    from,
    to,
    granularity,
    totals: { requests: total.c, errors: total.e, graphqlRequests: bySurface.graphql, restRequests: bySurface.rest },
    errorRate: total.c === 0 ? 0 : total.e / total.c,
    p50Ms: rounded(quantileFromBuckets(total.b, 0.5)),
    p95Ms: rounded(quantileFromBuckets(total.b, 0.95)),
    topOperations: operations.map((row) => ({
      surface: row.surface === "rest" ? "REST" : "GRAPHQL",
      operation: row.operation,
      apiVersion: row.apiVersion === "" ? null : row.apiVersion,
      requests: asNumber(row.c),
      errors: asNumber(row.e),
      p95Ms: rounded(quantileFromBuckets(row.b, 0.95)),
    })),
    topApiKeys: principals
      .filter((row) => row.principalKind === "apikey")
      .map((row) => ({ apiKeyId: row.principalId, apiKey: { id: row.principalId }, requests: asNumber(row.c), errors: asNumber(row.e) })),
    topUsers: principals
      .filter((row) => row.principalKind === "user")
      .map((row) => ({ userId: row.principalId, user: { id: row.principalId }, requests: asNumber(row.c), errors: asNumber(row.e) })),
    trend,
  };
}
