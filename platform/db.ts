import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { traceQueries, tracingOn } from "./tracing.ts";
import { type Prisma, PrismaClient } from "../generated/prisma/client.ts";

export type { PrismaClient };
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

export interface DatabaseOptions {
  /** Postgres URL; every subgraph points at the same database, each owning its own schema. */
  readonly url: string;
  /** Pool size; the embedded PGlite server takes fewer connections than a real Postgres. */
  readonly poolMax?: number;
  /** Called for every SQL statement Prisma sends (the SQL-count tests use it). */
  readonly onQuery?: (sql: string) => void;
}

/** The pool under each client `createPrisma` made, for `queryRaw`. */
const direct = new WeakMap<object, { readonly pool: pg.Pool; readonly onQuery?: (sql: string) => void }>();

export function createPrisma(options: DatabaseOptions): PrismaClient {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolMax ?? 10 });
  // An idle connection that dies is dropped by the pool; the next query opens another. Without a
  // listener the pool's "error" would crash the process before Prisma attaches its own.
  pool.on("error", () => undefined);
  if (tracingOn()) pool.on("connect", (client) => traceQueries(client));
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const { onQuery } = options;
  let client: PrismaClient;
  if (onQuery) {
    const logged = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
    logged.$on("query", (event) => onQuery(event.query));
    client = logged;
  } else {
    client = new PrismaClient({ adapter });
  }
  direct.set(client, { pool, onQuery });
  return client;
}

/** Postgres' `timestamp` (without time zone) holds UTC here, as Prisma reads and writes it; `int8` as Prisma's bigint. */
const RAW_TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === pg.types.builtins.TIMESTAMP) return (value: string) => new Date(`${value.replace(" ", "T")}Z`);
    if (oid === pg.types.builtins.INT8) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/**
 * `db.$queryRaw(sql)`, sent over the client's `pg` pool when `db` is a client `createPrisma` made
 * (inside a transaction, through it). For the hottest statements: Prisma's raw query path costs
 * ~0.25 ms more client time per statement than `pg` on this machine, and these rows need no
 * mapping but Prisma's own reading of timestamps and bigints, which `RAW_TYPES` repeats.
 */
export async function queryRaw<T>(db: Pick<PrismaClient, "$queryRaw">, sql: Prisma.Sql): Promise<T[]> {
  const own = direct.get(db);
  if (!own) return db.$queryRaw<T[]>(sql);
  own.onQuery?.(sql.text);
  const result = await own.pool.query({ text: sql.text, values: sql.values, types: RAW_TYPES });
  return result.rows as T[];
}
