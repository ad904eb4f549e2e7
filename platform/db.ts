import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.ts";

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

export function createPrisma(options: DatabaseOptions): PrismaClient {
  const adapter = new PrismaPg({ connectionString: options.url, max: options.poolMax ?? 10 });
  if (!options.onQuery) return new PrismaClient({ adapter });
  const onQuery = options.onQuery;
  const client = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  client.$on("query", (event) => onQuery(event.query));
  return client;
}
