import type { PrismaClient, Tx } from "../../platform/db.ts";

/** Transactions of a write that bumps an aggregate's version without an expected one, at most. */
const ATTEMPTS = 5;

/**
 * Whether the database refused a transaction as a write conflict (SQLSTATE 40001). The event store
 * raises it when a transaction writes an aggregate's next version after a younger transaction wrote
 * the one before (eventstore.claim_version): writers queued on one row are let through in any order,
 * each holding the transaction id it took before waiting. Prisma reports it as P2034 from its own
 * queries and as P2010 with the driver's code from raw ones.
 */
export function isWriteConflict(error: unknown): boolean {
  const known = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } } } | null;
  if (known?.code === "P2034") return true;
  const cause = known?.meta?.driverAdapterError?.cause;
  return cause?.originalCode === "40001" || cause?.kind === "TransactionWriteConflict";
}

/**
 * `prisma.$transaction(work)`, run again in a new transaction (with a new id) when refused as a
 * write conflict: for writes that bump an aggregate's version unconditionally (sharing a board,
 * enabling an integration), which may wait for the row behind other writers.
 */
export async function transactionRetryingConflicts<T>(prisma: PrismaClient, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await prisma.$transaction(work);
    } catch (error) {
      if (!isWriteConflict(error) || attempt === ATTEMPTS) throw error;
    }
  }
}
