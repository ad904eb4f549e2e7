import { queryRaw, type PrismaClient, type Tx } from "../../platform/db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { conflict, notFound } from "./errors.ts";
import { envelopeOf, outboxInsertSql, recordEvent, type EventInput, type EventSource } from "./outbox.ts";

/**
 * The two calls of a Prisma model delegate (`tx.board`, `tx.item`, …) a versioned write makes.
 * `TWhere`/`TData` are the model's `WhereInput`/`UpdateManyMutationInput`, `TRow` its row.
 */
export interface VersionedDelegate<TWhere, TData, TRow extends { version: number }> {
  updateManyAndReturn(args: { where: TWhere; data: TData }): PromiseLike<TRow[]>;
  findFirst(args: { where: TWhere; select: { version: true } }): PromiseLike<{ version: number } | null>;
}

export interface VersionedUpdate<TWhere, TData> {
  /** The type named in NOT_FOUND and CONFLICT errors. */
  readonly type: string;
  readonly id: string;
  /** The version the caller read; the row is changed only if it is still at it. */
  readonly expectedVersion: number;
  /** What else the row must match besides id and version (organisation, not archived, …). */
  readonly where: TWhere;
  /** The change; the version is incremented on top of it. */
  readonly data: TData;
  /**
   * Where to look for the row when nothing was updated: found means CONFLICT (with its version),
   * not found means NOT_FOUND. Narrower than `where` (e.g. `{ id }` only) to report a row in the
   * wrong state (already archived) as a CONFLICT rather than as missing.
   */
  readonly current: TWhere;
}

/** Why a guarded update changed no row: it moved on (CONFLICT, with both versions) or is not the caller's (NOT_FOUND). */
function unchanged(type: string, id: string, expectedVersion: number, current: { version: number } | null) {
  return current ? conflict(type, id, expectedVersion, current.version) : notFound(type, id);
}

/**
 * Optimistic concurrency in one statement: `UPDATE … WHERE id AND version = expected … RETURNING`,
 * bumping the version, so the changed row needs no second read. When no row matched, one more
 * look tells a row that moved on (CONFLICT, with both versions) from one that is not the caller's
 * (NOT_FOUND). Call it inside the transaction that makes the change.
 */
export async function versionedUpdate<TWhere, TData, TRow extends { version: number }>(
  delegate: VersionedDelegate<TWhere, TData, TRow>,
  update: VersionedUpdate<TWhere, TData>,
): Promise<TRow> {
  const { type, id, expectedVersion } = update;
  const [row] = await delegate.updateManyAndReturn({
    where: { ...update.where, id, version: expectedVersion },
    data: { ...update.data, version: { increment: 1 } },
  });
  if (row) return row;
  throw unchanged(type, id, expectedVersion, await delegate.findFirst({ where: update.current, select: { version: true } }));
}

/** The event of a versioned write; the aggregate (type, id) and version are the row's. */
export type VersionedEvent<TEventData extends Prisma.InputJsonObject> = Omit<EventInput<TEventData>, "aggregateType" | "aggregateId" | "version">;

/**
 * `versionedUpdate`, then the outbox row for the change (aggregate `type`/`id` at the row's new
 * version), in the caller's transaction.
 */
export async function versionedWrite<TWhere, TData, TRow extends { version: number }, TEventData extends Prisma.InputJsonObject>(
  tx: Tx,
  origin: EventSource,
  delegate: VersionedDelegate<TWhere, TData, TRow>,
  update: VersionedUpdate<TWhere, TData> & { readonly event: (row: TRow) => VersionedEvent<TEventData> },
): Promise<TRow> {
  const row = await versionedUpdate(delegate, update);
  await recordEvent(tx, origin, { ...update.event(row), aggregateType: update.type, aggregateId: update.id, version: row.version });
  return row;
}

/** A versioned write of one row with its outbox row, made by `versionedStatement`. */
export interface VersionedStatement<TEventData extends Prisma.InputJsonObject> {
  /** The type named in NOT_FOUND and CONFLICT errors, and the event's aggregate type. */
  readonly type: string;
  readonly id: string;
  readonly expectedVersion: number;
  /** The row's table, schema-qualified and quoted (`items."Item"`); it has `id`, `version` and `updatedAt`. */
  readonly table: string;
  /** The `SET` list of the change; `version` and `updatedAt` are set on top of it. */
  readonly set: Prisma.Sql;
  /** What else the row must match besides id and version (organisation, not deleted, …). */
  readonly where: Prisma.Sql;
  /** Rows written with the change, each an `INSERT … SELECT … FROM changed` (the updated row). */
  readonly alongside?: readonly Prisma.Sql[];
  readonly event: VersionedEvent<TEventData>;
  /** The row's version when nothing was updated: found means CONFLICT, not found NOT_FOUND. */
  readonly current: () => PromiseLike<{ version: number } | null>;
}

/**
 * `versionedWrite` in one SQL statement: the guarded UPDATE, the rows written with it and the
 * outbox row as one data-modifying CTE, atomic without a transaction. The inserts read the updated
 * row, so they happen exactly when the update did; the event's version is known before (expected
 * + 1). Against the interactive transaction this saves BEGIN, COMMIT and a round trip per row, and
 * most of the client's work per statement: the hot writes (an item renamed) use it.
 */
export async function versionedStatement<TRow extends { version: number }, TEventData extends Prisma.InputJsonObject>(
  db: Pick<PrismaClient, "$queryRaw">,
  origin: EventSource,
  write: VersionedStatement<TEventData>,
): Promise<TRow> {
  const { type, id, expectedVersion } = write;
  const event = envelopeOf(origin, { ...write.event, aggregateType: type, aggregateId: id, version: expectedVersion + 1 });
  const writes = [...(write.alongside ?? []), outboxInsertSql(event, "changed")].map((sql, index) => Prisma.sql`, ${Prisma.raw(`w${index}`)} AS (${sql})`);
  const [row] = await queryRaw<TRow>(
    db,
    Prisma.sql`WITH changed AS (
      UPDATE ${Prisma.raw(write.table)} SET ${write.set}, "version" = "version" + 1, "updatedAt" = now()
      WHERE "id" = CAST(${id} AS uuid) AND "version" = ${expectedVersion} AND ${write.where}
      RETURNING *
    )${Prisma.join(writes, "")}
    SELECT * FROM changed`,
  );
  if (row) return row;
  throw unchanged(type, id, expectedVersion, await write.current());
}
