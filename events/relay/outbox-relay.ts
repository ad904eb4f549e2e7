import pg from "pg";
import type { Logger } from "../../subgraphs/shared/logger.ts";
import { topicsOf, type DeadLetter } from "../kafka.ts";
import type { EventPublisher, OutgoingMessage } from "../publisher.ts";

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
  readonly logger: Logger;
}

export interface OutboxRelay {
  /** Publishes everything unpublished now; resolves with how many rows were relayed. */
  drain(): Promise<number>;
  dispose(): Promise<void>;
}

interface OutboxRow {
  id: string;
  topic: string;
  eventType: string;
  schemaVersion: number;
  aggregateId: string;
  envelope: unknown;
}

/**
 * Claims a batch in publication order. SKIP LOCKED lets several relays run; the advisory lock per
 * aggregate keeps one aggregate's events with one relay at a time, so a second relay can never
 * publish an aggregate's later event while the first still holds an earlier one.
 */
const CLAIM = `
  SELECT id, topic, "eventType", "schemaVersion", "aggregateId"::text AS "aggregateId", envelope
  FROM events."OutboxEvent"
  WHERE "publishedAt" IS NULL
    AND pg_try_advisory_xact_lock(hashtextextended("aggregateId"::text, 7071))
  ORDER BY sequence
  LIMIT $1
  FOR UPDATE SKIP LOCKED`;

/**
 * Publishes unsent outbox rows to Kafka and marks them sent, in one transaction per batch: a crash
 * between the two republishes the batch (consumers drop duplicates by event id), never loses it.
 * Wakes on LISTEN "outbox_event" (a trigger notifies on insert) rather than polling tightly.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const { logger } = options;
  const batchSize = options.batchSize ?? 200;
  const topics = topicsOf(options.topicPrefix);
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  pool.on("error", (error) => logger.warn({ err: error }, "outbox relay pool error"));
  let stopped = false;
  let running: Promise<number> | null = null;
  let again = false;
  let failures = 0;
  let listener: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | null = null;

  function toMessage(row: OutboxRow): OutgoingMessage {
    const headers = { eventId: row.id, eventType: row.eventType, schemaVersion: String(row.schemaVersion) };
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
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<OutboxRow>(CLAIM, [batchSize]);
      if (rows.length === 0) {
        await client.query("COMMIT");
        return 0;
      }
      await options.publisher.publish(rows.map(toMessage));
      await client.query(`UPDATE events."OutboxEvent" SET "publishedAt" = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`, [
        rows.map((row) => row.id),
      ]);
      await client.query("COMMIT");
      return rows.length;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
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
    running = drainAll()
      .then((count) => {
        failures = 0;
        return count;
      })
      .catch((error: unknown) => {
        failures += 1;
        logger.error({ err: error, failures }, "outbox relay could not publish; will retry");
        scheduleRetry();
        return 0;
      })
      .finally(() => {
        running = null;
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

  async function listen(): Promise<void> {
    if (stopped) return;
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on("notification", () => void drain());
    client.on("error", (error) => {
      logger.warn({ err: error }, "outbox LISTEN connection lost; reconnecting");
      listener = null;
      client.end().catch(() => undefined);
      if (!stopped) setTimeout(() => void listen().catch(() => undefined), 1_000);
    });
    await client.connect();
    await client.query("LISTEN outbox_event");
    listener = client;
    void drain();
  }

  await listen();
  const poll = setInterval(() => void drain(), options.pollIntervalMs ?? 1_000);

  return {
    drain,
    async dispose() {
      stopped = true;
      clearInterval(poll);
      if (retryTimer) clearTimeout(retryTimer);
      await running;
      await listener?.end().catch(() => undefined);
      await pool.end();
    },
  };
}
