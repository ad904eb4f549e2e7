// A read model built from the event store: a named consumer of the log with its own tables per
// generation. The live generation serves readers and follows the log; a rebuild fills a new
// generation from the start beside it and is swapped in once caught up (events/store/runner.ts).
import type pg from "pg";
import type { LoggedEvent } from "./log.ts";

export interface Projection {
  /** Unique; the name given to `npm run projections:rebuild -- <name>`. */
  readonly name: string;
  /**
   * Whether a rebuild from a log that retention has cut (EVENT_RETENTION_MONTHS) still gives the
   * whole read model, e.g. because it keeps what it already has. Unless set, such a rebuild is
   * refused: it would lose everything whose events were dropped (what was made before the cut).
   */
  readonly rebuildsFromCutLog?: boolean;
  /** Creates the empty tables of `generation`. Runs once per generation, before any `apply`. */
  create(db: pg.ClientBase, generation: number): Promise<void>;
  /**
   * Applies `events` (log order) to `generation`'s tables, inside the transaction that also moves
   * the generation's position past them. Must be idempotent per event (an event already reflected
   * changes nothing), so that replaying a stretch of the log is always safe.
   */
  apply(db: pg.ClientBase, generation: number, events: readonly LoggedEvent[]): Promise<void>;
  /**
   * Readies a rebuilt generation for readers before it is swapped in, outside any transaction:
   * e.g. ANALYZE its tables (a fresh table has no statistics until autovacuum comes by, and a plan
   * made without them can be thousands of times slower).
   */
  settle?(db: pg.ClientBase, generation: number): Promise<void>;
  /** Points readers at `generation` (inside the swap transaction; e.g. a view over its tables). */
  activate(db: pg.ClientBase, generation: number): Promise<void>;
  /** Drops a retired generation's tables. */
  drop(db: pg.ClientBase, generation: number): Promise<void>;
}
