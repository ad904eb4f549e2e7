/**
 * API usage records: what the gateway reports of each answered GraphQL operation and REST call, and
 * the batches it hands on (to the `api-usage` topic in the full stack, to the rollup writer in
 * process in the embedded default). Not domain events: no envelope, no aggregate, no outbox; they
 * travel on a topic of their own, read by one consumer group that sums them per minute.
 */
import { Ajv2020, type SchemaObject } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { enumOf, object, uuid, type Schema } from "./contracts/schema-kit.ts";

/** The topic usage batches go to (topicsOf(prefix).of(API_USAGE_TOPIC) on a namespaced broker). */
export { API_USAGE_TOPIC } from "./kafka.ts";

/**
 * Upper bounds (ms) of the duration buckets every rollup keeps; a last bucket holds the rest. Fixed
 * for ever: rollups of any age are summed bucket by bucket, so changing them needs a new column.
 */
export const DURATION_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export type UsageSurface = "graphql" | "rest";
export type PrincipalKind = "user" | "apikey";

export interface UsageRecord {
  /** When the answer was sent, ms since the epoch. */
  readonly at: number;
  readonly organizationId: string;
  /** A user (bearer token) or a partner API key; never the credential itself. */
  readonly principalKind: PrincipalKind;
  readonly principalId: string;
  readonly surface: UsageSurface;
  /** The GraphQL operation name (bounded like the metrics' label) or the REST route template (`GET /boards/{id}`). */
  readonly operation: string;
  /** REST: `v1`; GraphQL: "" (one evolving schema). */
  readonly apiVersion: string;
  /** The HTTP status; for GraphQL the one its worst error code maps to (REST's mapping), 200 without errors. */
  readonly status: number;
  readonly durationMs: number;
  /** The User-Agent header, truncated; kept on the record, not in the rollups (unbounded). */
  readonly userAgent: string;
}

/** One flush of a gateway's buffer: its id makes a batch consumed twice count once. */
export interface UsageBatch {
  readonly id: string;
  readonly records: readonly UsageRecord[];
}

/** Where a gateway's flushed batches go. A rejection is logged and the batch dropped (counted). */
export type UsageSink = (batch: UsageBatch) => Promise<void>;

const record: Schema = object({
  at: { type: "integer", minimum: 0 },
  organizationId: uuid,
  principalKind: enumOf("user", "apikey"),
  principalId: uuid,
  surface: enumOf("graphql", "rest"),
  operation: { type: "string", minLength: 1, maxLength: 200 },
  apiVersion: { type: "string", maxLength: 20 },
  status: { type: "integer", minimum: 100, maximum: 599 },
  durationMs: { type: "number", minimum: 0 },
  userAgent: { type: "string", maxLength: 300 },
});
const batchSchema: Schema = object({ id: uuid, records: { type: "array", items: record, maxItems: 100_000 } });

const ajv = new Ajv2020({ allErrors: false, strict: true });
// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
addFormatsModule.default(ajv, ["uuid"]);
const validBatch = ajv.compile<UsageBatch>(batchSchema as SchemaObject);

/** A batch read off the topic, or null when it is not one (logged and skipped by the consumer). */
export function parseUsageBatch(bytes: string): UsageBatch | null {
  try {
    const value: unknown = JSON.parse(bytes);
    return validBatch(value) ? value : null;
  } catch {
    return null;
  }
}

/** The bucket a duration falls in (index into DURATION_BUCKETS_MS, or its length for the rest). */
export function durationBucket(durationMs: number): number {
  for (let index = 0; index < DURATION_BUCKETS_MS.length; index += 1) {
    if (durationMs <= (DURATION_BUCKETS_MS[index] ?? 0)) return index;
  }
  return DURATION_BUCKETS_MS.length;
}

/** `2xx`…`5xx`. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/**
 * The q-quantile (0–1) estimated from summed bucket counts: linear inside the bucket it falls in
 * (as Prometheus' histogram_quantile); the open last bucket answers its lower bound. 0 for no data.
 */
export function quantileFromBuckets(buckets: readonly number[], q: number): number {
  const total = buckets.reduce((sum, count) => sum + count, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let index = 0; index < buckets.length; index += 1) {
    const count = buckets[index] ?? 0;
    if (count > 0 && seen + count >= rank) {
      const lower = index === 0 ? 0 : (DURATION_BUCKETS_MS[index - 1] ?? 0);
      const upper = DURATION_BUCKETS_MS[index];
      if (upper === undefined) return lower;
      return lower + (upper - lower) * ((rank - seen) / count);
    }
    seen += count;
  }
  return DURATION_BUCKETS_MS[DURATION_BUCKETS_MS.length - 1] ?? 0;
}
