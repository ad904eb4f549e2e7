import pg from "pg";
import type { Logger } from "../../platform/logger.ts";
import type { Health } from "../health.ts";
import { topicsOf, type DeadLetter } from "../kafka.ts";
import type { OutboxBacklog, RelayMetrics } from "../metrics.ts";
import type { EventPublisher, OutgoingMessage } from "../publisher.ts";
import { contextWith, injectHeaders, type Span, SpanKind, startChildSpan } from "../../platform/tracing.ts";
import { OUTBOX_KEEP_PUBLISHED_MS } from "../../platform/config.ts";
import { prunePublished } from "./outbox-pruning.ts";

/** How often published rows past their keeping are deleted. */
const PRUNE_INTERVAL_MS = 3_600_000;

/** What the relay asks of the event contracts: is this envelope publishable? */
export type EnvelopeCheck = (envelope: unknown) => { ok: true } | { ok: false; reason: string; errors: readonly string[] };

export interface OutboxRelayOptions {
  readonly databaseUrl: string;
  readonly publisher: EventPublisher;
  /** Namespace of the topics published to (see topicsOf). @default "" */
  readonly topicPrefix?: string;
  /** Refused envelopes go to the dead-letter topic instead of their own. */
  readonly check?: EnvelopeCheck;
  /** Rows claimed per transaction. @default 200 */
  readonly batchSize?: number;
  /** Safety net when a notification is missed (a dropped LISTEN connection). @default 1_000 */
  readonly pollIntervalMs?: number;
  /** A drain failing or pending (Postgres or Kafka away) for this long makes the relay not ready. @default 5_000 */
  readonly stalledAfterMs?: number;
  /** Counts what is published and what fails (events/metrics.ts). @default none */
  readonly metrics?: RelayMetrics;
  /** Published rows older than this are deleted (outbox-pruning.ts), at start and then hourly. @default OUTBOX_KEEP_PUBLISHED_MS (a day) */
  readonly keepPublishedMs?: number;
  readonly logger: Logger;
}

export interface OutboxRelay {
  /** Publishes everything unpublished now; resolves with how many rows were relayed. */
  drain(): Promise<number>;
  /**
   * The readiness an entry point serves. The relay recovers from any outage by itself (every
   * connection is retried for as long as it takes), so not ready means "waiting for Postgres or Kafka".
   */
  health(): Health;
  /** The unpublished rows now, read from the outbox (what the backlog gauges export). */
  backlog(): Promise<OutboxBacklog>;
  dispose(): Promise<void>;
}

interface OutboxRow {
  id: string;
  topic: string;
  eventType: string;
  schemaVersion: number;
  aggregateId: string;
  envelope: unknown;
  /** The row's place in publication order (a bigint, as text). */
  sequence: string;
  /** The trace of the change that wrote the row (OpenTelemetry on). */
  traceparent: string | null;
}

/**
 * Claims a batch in publication order. SKIP LOCKED lets several relays run; the advisory lock per
 * aggregate keeps one aggregate's events with one relay at a time, so a second relay can never
 * publish an aggregate's later event while the first still holds an earlier one.
 */
/**
 * BEGIN and the claim in one round trip (a simple-protocol query of two statements; the batch size
 * is an integer of ours, so no parameters are needed), the rows marked sent by the claim itself:
 * the publish and COMMIT follow, and a failed publish rolls the mark back. Two round trips per
 * batch instead of four.
 */
function claimSql(batchSize: number): string {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`relay batchSize must be a positive integer, got ${batchSize}`);
  return `BEGIN;
  WITH claimed AS (
    SELECT id FROM events."OutboxEvent"
    WHERE "publishedAt" IS NULL
      AND pg_try_advisory_xact_lock(hashtextextended("aggregateId"::text, 7071))
    ORDER BY sequence
    LIMIT ${batchSize}
    FOR UPDATE SKIP LOCKED)
  UPDATE events."OutboxEvent" o SET "publishedAt" = now(), attempts = o.attempts + 1
  FROM claimed WHERE o.id = claimed.id
  RETURNING o.id, o.topic, o."eventType", o."schemaVersion", o."aggregateId"::text AS "aggregateId", o.envelope, o.sequence::text AS sequence, o.traceparent`;
}

/**
 * Publishes unsent outbox rows to Kafka and marks them sent, in one transaction per batch: a crash
 * between the two republishes the batch (consumers drop duplicates by event id), never loses it.
 * Wakes on LISTEN "outbox_event" (a trigger notifies on insert) rather than polling tightly.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const { logger } = options;
  const batchSize = options.batchSize ?? 200;
  const claim = claimSql(batchSize);
  const topics = topicsOf(options.topicPrefix);
  // A connection attempt to an unreachable Postgres fails after 5 s instead of hanging the drain.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2, connectionTimeoutMillis: 5_000, keepAlive: true });
  pool.on("error", (error) => logger.warn({ err: error }, "outbox relay pool error"));
  let stopped = false;
  let running: Promise<number> | null = null;
  let again = false;
  let failures = 0;
  let listener: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let listenTimer: NodeJS.Timeout | null = null;
  let listenFailures = 0;
  /** Since when the LISTEN connection has been down (null: listening). */
  let deafSince: number | null = null;
  /** When the drain in progress started, and when drains began failing (null: the last one succeeded). */
  let drainingSince: number | null = null;
  let failingSince: number | null = null;
  let lastError = "";
  /** The service the batch in progress is waiting on: a failure's reason names it (what to look at). */
  let waitingOn: "Postgres" | "Kafka" = "Postgres";
  const stalledAfterMs = options.stalledAfterMs ?? 5_000;

  function toMessage(row: OutboxRow, span: Span | undefined): OutgoingMessage {
    // The publish span's context travels in the record's headers: the bridge's append continues it.
    const headers = injectHeaders(
      { eventId: row.id, eventType: row.eventType, schemaVersion: String(row.schemaVersion) },
      span ? contextWith(span) : undefined,
    );
    const verdict = options.check?.(row.envelope) ?? { ok: true as const };
    if (verdict.ok) return { topic: topics.of(row.topic), key: row.aggregateId, value: JSON.stringify(row.envelope), headers };
    const deadLetter: DeadLetter = {
      reason: verdict.reason,
      errors: verdict.errors,
      source: `outbox:${row.topic}`,
      original: JSON.stringify(row.envelope),
      refusedAt: new Date().toISOString(),
    };
    logger.warn({ eventId: row.id, eventType: row.eventType, reason: verdict.reason }, "outbox event refused; sent to the dead-letter topic");
    return { topic: topics.deadLetter, key: row.aggregateId, value: JSON.stringify(deadLetter), headers: { ...headers, reason: verdict.reason } };
  }

  async function relayBatch(): Promise<number> {
    waitingOn = "Postgres";
    const client = await pool.connect();
    // pg emits "error" on a checked-out client whose connection dies (the pool listens only while it
    // is idle); unheard, that is an uncaught exception (seen once in CI as ECONNRESET). The query in
    // flight rejects anyway, and the drain retries.
    const heard = () => undefined;
    client.on("error", heard);
    let failed: Error | undefined;
    try {
      const results = (await client.query(claim)) as unknown as pg.QueryResult<OutboxRow>[];
      // UPDATE … RETURNING has no order: publication order is the sequence.
      const rows = (results[1]?.rows ?? []).sort((a, b) => compareSequences(a.sequence, b.sequence));
      // One producer span per traced row, a child of the change that wrote it.
      const spans = rows.map((row) =>
        row.traceparent
          ? startChildSpan("relay", "outbox publish", SpanKind.PRODUCER, row.traceparent, {
              "messaging.destination.name": row.topic,
              "sunday.event_id": row.id,
            })
          : undefined,
      );
      const messages = rows.map((row, index) => toMessage(row, spans[index]));
      try {
        waitingOn = "Kafka";
        if (messages.length > 0) await options.publisher.publish(messages);
      } finally {
        for (const span of spans) span?.end();
      }
      waitingOn = "Postgres";
      await client.query("COMMIT");
      const deadLettered = messages.filter((message) => message.topic === topics.deadLetter).length;
      options.metrics?.onPublished(messages.length - deadLettered, deadLettered);
      return rows.length;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      failed = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.off("error", heard);
      // A client that failed is dropped, not handed to the next batch (its connection may be gone).
      client.release(failed);
    }
  }

  async function drainAll(): Promise<number> {
    let total = 0;
    do {
      again = false;
      for (;;) {
        const relayed = await relayBatch();
        total += relayed;
        if (relayed < batchSize) break;
      }
    } while (again && !stopped);
    return total;
  }

  function drain(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    drainingSince = Date.now();
    running = drainAll()
      .then((count) => {
        failures = 0;
        failingSince = null;
        return count;
      })
      .catch((error: unknown) => {
        failures += 1;
        failingSince ??= Date.now();
        options.metrics?.onFailure();
        lastError = `${waitingOn}: ${error instanceof Error ? error.message : String(error)}`;
        logger.error({ err: error, failures }, "outbox relay could not publish; will retry");
        scheduleRetry();
        return 0;
      })
      .finally(() => {
        running = null;
        drainingSince = null;
      });
    return running;
  }

  function scheduleRetry() {
    if (stopped || retryTimer) return;
    const delay = Math.min(200 * 2 ** Math.min(failures, 5), 5_000);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void drain();
    }, delay);
  }

  /**
   * LISTENs on its own connection. When that connection is lost, it is made again with backoff for
   * as long as it takes (Postgres away); the poll keeps relaying meanwhile.
   */
  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 5_000, keepAlive: true });
    let lost = false;
    const onLost = (error: Error) => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = null;
      deafSince ??= Date.now();
      client.end().catch(() => undefined);
      if (stopped) return;
      logger.warn({ err: error }, "outbox LISTEN connection lost; reconnecting");
      relisten();
    };
    client.on("error", onLost);
    client.on("notification", () => void drain());
    try {
      await client.connect();
      await client.query("LISTEN outbox_event");
    } catch (error) {
      lost = true;
      await client.end().catch(() => undefined);
      throw error;
    }
    if (stopped) return void (await client.end().catch(() => undefined));
    listener = client;
    listenFailures = 0;
    deafSince = null;
    // Server-side ends (a terminated backend, a restart) come as "end", sometimes without "error".
    client.once("end", () => onLost(new Error("LISTEN connection ended")));
    void drain();
  }

  function relisten(): void {
    if (stopped || listenTimer) return;
    listenFailures += 1;
    listenTimer = setTimeout(
      () => {
        listenTimer = null;
        listen().catch((error: unknown) => {
          logger.warn({ err: error, attempts: listenFailures }, "outbox LISTEN could not reconnect; retrying");
          relisten();
        });
      },
      Math.min(500 * 2 ** Math.min(listenFailures - 1, 4), 5_000),
    );
  }

  // Postgres unreachable at start fails the start: the process exits and its supervisor retries.
  await listen();
  const poll = setInterval(() => void drain(), options.pollIntervalMs ?? 1_000);
  let pruning: Promise<void> | null = null;
  const prune = () => {
    pruning ??= prunePublished(pool, options.keepPublishedMs ?? OUTBOX_KEEP_PUBLISHED_MS)
      .then(
        (deleted) => (deleted > 0 ? logger.info({ deleted }, "published outbox rows past their keeping deleted") : undefined),
        (error: unknown) => logger.warn({ err: error }, "pruning the published outbox rows failed; retried at the next round"),
      )
      .finally(() => {
        pruning = null;
      });
  };
  prune();
  const pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  return {
    drain,
    health() {
      const now = Date.now();
      const details = { listening: listener !== null, failures, drainingForMs: drainingSince === null ? 0 : now - drainingSince };
      if (failingSince !== null && now - failingSince >= stalledAfterMs) {
        return { ready: false, reason: `relaying has failed for ${now - failingSince} ms: ${lastError}`, details };
      }
      if (deafSince !== null && now - deafSince >= stalledAfterMs) {
        return { ready: false, reason: `the LISTEN connection to Postgres has been down for ${now - deafSince} ms`, details };
      }
      if (drainingSince !== null && now - drainingSince >= stalledAfterMs) {
        return { ready: false, reason: `a relay batch has been pending for ${now - drainingSince} ms (Kafka or Postgres away?)`, details };
      }
      return { ready: true, details };
    },
    async backlog() {
      // The ("publishedAt", sequence) index finds the unpublished rows; there are few unless the relay is behind.
      const { rows } = await pool.query<{ rows: number; oldestAgeSeconds: number }>(
        `SELECT count(*)::int AS rows, COALESCE(EXTRACT(EPOCH FROM now() - min("createdAt")), 0)::float8 AS "oldestAgeSeconds"
         FROM events."OutboxEvent" WHERE "publishedAt" IS NULL`,
      );
      const [row] = rows;
      return { rows: Number(row?.rows ?? 0), oldestAgeSeconds: Math.max(0, Number(row?.oldestAgeSeconds ?? 0)) };
    },
    async dispose() {
      stopped = true;
      clearInterval(poll);
      clearInterval(pruneTimer);
      if (retryTimer) clearTimeout(retryTimer);
      if (listenTimer) clearTimeout(listenTimer);
      await running;
      await pruning;
      await listener?.end().catch(() => undefined);
      await pool.end();
    },
  };
}

/** Orders bigint sequences given as decimal text (no sign, no leading zeros). */
function compareSequences(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
