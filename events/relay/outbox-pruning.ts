// Published outbox rows are dead weight: the event store keeps every event (eventstore."Event",
// appended in the same transaction as the row), Kafka keeps what was published, and nothing else
// reads a row once the relay has sent it. They are kept a while (OUTBOX_KEEP_PUBLISHED, a day by
// default) to look into what was sent, then deleted in small batches so that no delete holds many
// row locks or a long transaction.
import type pg from "pg";

/** Rows per delete statement. */
const PRUNE_BATCH = 5_000;

/** Deletes the outbox rows published more than `keepMs` ago; how many. */
export async function prunePublished(pool: pg.Pool, keepMs: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    // The ("publishedAt", sequence) index finds them, oldest first.
    const { rowCount } = await pool.query(
      `DELETE FROM events."OutboxEvent" WHERE "id" IN (
         SELECT "id" FROM events."OutboxEvent" WHERE "publishedAt" < now() - make_interval(secs => $1::float8 / 1000) ORDER BY "publishedAt" LIMIT ${PRUNE_BATCH})`,
      [keepMs],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < PRUNE_BATCH) return deleted;
  }
}
